"""sweep.search.oracle: known starting points come first, the time budget counts across resumes,
and Hyperband runs as many trials as max_trials allows."""

from __future__ import annotations

import keras_tuner as kt
import pytest

from sweep.search import ktcompat
from sweep.search import oracle as oracle_module
from sweep.search.oracle import oracle_class


def oracle(tmp_path, base=kt.oracles.RandomSearchOracle, **kwargs):
    made = oracle_class(base)(objective=kt.Objective("val_accuracy", "max"), seed=3, **kwargs)
    ktcompat.limit_hyperband_trials(made, 10)  # as make_tuner does (Hyperband's takes no max_trials)
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
    monkeypatch.setattr(oracle_module.time, "monotonic", lambda: clock[0])
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
    ktcompat.limit_hyperband_trials(made, 12)
    statuses = []
    for _ in range(13):
        trial = made.create_trial("t0")
        statuses.append(trial.status)
        if trial.status == "RUNNING":
            finish(made, trial)
    assert statuses == ["RUNNING"] * 12 + ["STOPPED"]
