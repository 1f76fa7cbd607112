"""sweep.train.runtime: `--mixed-precision` reaches Keras (and the model keeps float32 logits
under it), and peak memory."""

from __future__ import annotations

import gc

import keras
import keras_tuner as kt
import numpy as np
import pytest

from sweep import cli
from sweep.model.hypermodel import RNNHyperModel
from sweep.space.hyperparameters import HYPERPARAMETERS, Fixed
from sweep.train import runtime


class _Stop(Exception):
    pass


@pytest.mark.parametrize("flag", [True, False])
def test_cli_passes_mixed_precision_to_configure_runtime(flag, space_file, tmp_path, monkeypatch):
    seen = {}

    def fake(seed, mixed_precision):
        seen.update(seed=seed, mixed_precision=mixed_precision)
        raise _Stop  # nothing after it needs to run

    monkeypatch.setattr(runtime, "configure_runtime", fake)
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
    runtime.configure_runtime(1, mixed_precision=True)
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
    if runtime.peak_rss_mb() is None:
        pytest.skip("no /proc/self/status here")
    runtime.peak_rss_reset()  # from here: earlier tests may have left the mark far above the RSS
    before = runtime.peak_rss_mb()
    block = np.ones(256 * 2**20 // 8)  # 256 MiB, touched
    if runtime.peak_rss_mb() < before + 200:
        pytest.skip("this kernel does not reset VmHWM via /proc/self/clear_refs")
    del block
    gc.collect()
    runtime.peak_rss_reset()
    after = runtime.peak_rss_mb()
    if after >= before + 200:
        pytest.skip("this kernel does not reset VmHWM via /proc/self/clear_refs")
    assert after < before + 100
