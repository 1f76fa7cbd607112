"""sweep.search.tuning without a search: `--mixed-precision` reaches Keras (and the model keeps
float32 logits under it), and peak memory."""

from __future__ import annotations

import gc

import keras
import keras_tuner as kt
import numpy as np
import pytest

from sweep import cli
from sweep.model.hypermodel import RNNHyperModel
from sweep.search import tuning
from sweep.space.hyperparameters import HYPERPARAMETERS, Fixed


class _Stop(Exception):
    pass


@pytest.mark.parametrize("flag", [True, False])
def test_cli_passes_mixed_precision_to_configure_runtime(flag, space_file, tmp_path, monkeypatch):
    seen = {}

    def fake(seed, mixed_precision):
        seen.update(seed=seed, mixed_precision=mixed_precision)
        raise _Stop  # nothing after it needs to run

    monkeypatch.setattr(tuning, "configure_runtime", fake)
    argv = ["run", str(space_file), "--results-dir", str(tmp_path), "--seed", "7"]
    with pytest.raises(_Stop):
        cli.main(argv + (["--mixed-precision"] if flag else []))
    assert seen == {"seed": 7, "mixed_precision": flag}


@pytest.fixture
def restore_policy():
    policy = keras.mixed_precision.global_policy()
    yield
    keras.mixed_precision.set_global_policy(policy)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_mixed_precision_runs_cells_in_float16_with_float32_logits(cell, restore_policy):
    tuning.configure_runtime(1, mixed_precision=True)
    assert keras.mixed_precision.global_policy().name == "mixed_float16"
    space = {n: Fixed(r.default) for n, r in HYPERPARAMETERS.items()}
    space.update(cell=Fixed(cell), bidirectional=Fixed(True), vocab_size=Fixed(50),
                 embedding_dim=Fixed(8), hidden_units=Fixed(4), pooling=Fixed("max"))
    model = RNNHyperModel(space).build(kt.HyperParameters())
    recurrent = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    assert recurrent and recurrent[0].compute_dtype == "float16"
    assert recurrent[0].variable_dtype == "float32"
    assert model.output.dtype == "float32"


def test_peak_rss_reset_lowers_the_high_water_mark():
    if tuning.peak_rss_mb() is None:
        pytest.skip("no /proc/self/status here")
    before = tuning.peak_rss_mb()
    block = np.ones(256 * 2**20 // 8)  # 256 MiB, touched
    assert tuning.peak_rss_mb() >= before + 200
    del block
    gc.collect()
    tuning.peak_rss_reset()
    after = tuning.peak_rss_mb()
    if after >= before + 200:
        pytest.skip("this kernel does not reset VmHWM via /proc/self/clear_refs")
    assert after < before + 100


# --- The oracle: known starting points, the time budget --------------------------------


def oracle(tmp_path, base=kt.oracles.RandomSearchOracle, **kwargs):
    made = tuning._oracle_class(base)(objective=kt.Objective("val_accuracy", "max"), seed=3, **kwargs)
    made.max_trials = 10  # as make_tuner sets it (Hyperband's oracle takes no max_trials)
    hp = kt.HyperParameters()
    hp.Choice("cell", ["lstm", "gru"])
    hp.Int("units", 16, 64, step=16)
    hp.Float("rate", 1e-4, 1e-2, sampling="log")
    hp.Fixed("vocab", 100)
    made.update_space(hp)
    made._set_project_dir(str(tmp_path), "tuner")
    return made


def finish(made, trial):
    made.update_trial(trial.trial_id, {"val_accuracy": 0.5})
    trial.status = "COMPLETED"
    made.end_trial(trial)


@pytest.mark.parametrize("base", [kt.oracles.RandomSearchOracle, kt.oracles.BayesianOptimizationOracle,
                                  kt.oracles.HyperbandOracle])
def test_start_from_comes_first_then_the_oracle_draws(tmp_path, base):
    starts = [{"cell": "gru", "units": 48}, {"units": 16}]
    extra = {"num_initial_points": 2} if base is kt.oracles.BayesianOptimizationOracle else {}
    if base is kt.oracles.HyperbandOracle:
        extra = {"max_epochs": 3, "factor": 3}
    made = oracle(tmp_path, base, start_from=starts, **extra)
    values = []
    for _ in range(3):
        trial = made.create_trial("t0")
        values.append(trial.hyperparameters.values)
        finish(made, trial)
    assert values[0]["cell"] == "gru" and values[0]["units"] == 48
    assert values[1]["units"] == 16 and values[1]["cell"] in ("lstm", "gru")  # the rest drawn
    assert values[2] not in [values[0], values[1]]


def test_start_from_is_not_handed_out_again_on_resume(tmp_path):
    starts = [{"cell": "gru", "units": 48}]
    first = oracle(tmp_path, start_from=starts)
    finish(first, first.create_trial("t0"))
    first.save()
    again = oracle(tmp_path, start_from=starts)
    again.reload()
    assert again.sweep_started == 1
    trial = again.create_trial("t0")
    assert trial.trial_id == "01"
    assert (trial.hyperparameters.values["cell"], trial.hyperparameters.values["units"]) != ("gru", 48)


def test_spent_budget_starts_no_trial_and_counts_across_resumes(tmp_path, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(tuning.time, "monotonic", lambda: clock[0])
    made = oracle(tmp_path, max_seconds=60)
    made.start_clock()
    trial = made.create_trial("t0")
    assert trial.status == "RUNNING"
    clock[0] += 45
    finish(made, trial)  # saves the oracle: 45 s used
    again = oracle(tmp_path, max_seconds=60)
    again.reload()
    again.start_clock()
    assert again.seconds_used() == pytest.approx(45)
    trial = again.create_trial("t0")
    assert trial.status == "RUNNING" and not again.budget_spent
    clock[0] += 20  # 65 s in all
    finish(again, trial)
    assert again.create_trial("t0").status == "STOPPED" and again.budget_spent
    raised = oracle(tmp_path, max_seconds=120)  # raised on resume: trials start again
    raised.reload()
    raised.start_clock()
    assert raised.create_trial("t0").status == "RUNNING"


@pytest.mark.parametrize("epochs, factor", [(1, 3), (2, 3), (5, 3)])
def test_hyperband_uses_all_of_max_trials(tmp_path, epochs, factor):
    """KerasTuner's one Hyperband iteration would stop after 1, 2 or 10 trials."""
    made = oracle(tmp_path, kt.oracles.HyperbandOracle, max_epochs=epochs, factor=factor,
                  hyperband_iterations=0)
    made.max_trials = 12
    statuses = []
    for _ in range(13):
        trial = made.create_trial("t0")
        statuses.append(trial.status)
        if trial.status == "RUNNING":
            finish(made, trial)
    assert statuses == ["RUNNING"] * 12 + ["STOPPED"]
