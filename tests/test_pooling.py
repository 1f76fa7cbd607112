"""The `pooling` hyperparameter: one prediction per example, blind to padding."""

from __future__ import annotations

import keras_tuner as kt
import numpy as np
import pytest

from sweep import config
from sweep.config import HYPERPARAMETERS, ConfigError, Fixed
from sweep.hypermodel import RNNHyperModel


def _model(pooling: str, cell: str = "gru", layers: int = 1):
    space = {n: Fixed(r.default) for n, r in HYPERPARAMETERS.items()}
    space.update(cell=Fixed(cell), bidirectional=Fixed(True), vocab_size=Fixed(50),
                 embedding_dim=Fixed(8), hidden_units=Fixed(4), num_layers=Fixed(layers),
                 pooling=Fixed(pooling))
    return RNNHyperModel(space).build(kt.HyperParameters())


@pytest.mark.parametrize("pooling", ["last", "max", "mean", "max_mean"])
@pytest.mark.parametrize("cell", ["lstm", "simple_rnn"])
def test_padding_does_not_change_the_prediction(pooling, cell):
    model = _model(pooling, cell, layers=2)
    tokens = np.array([[3, 4, 5, 6]], dtype="int32")
    padded = np.pad(tokens, [(0, 0), (0, 9)])
    # A second, longer review makes the batch padded for the first one.
    batch = np.concatenate([padded, np.arange(1, 14, dtype="int32")[None] % 50])
    alone = model(tokens).numpy()
    assert model(padded).numpy() == pytest.approx(alone, abs=1e-5)
    assert model(batch).numpy()[:1] == pytest.approx(alone, abs=1e-5)
    assert model(batch).shape == (2, 1)


def test_pooling_values_are_checked(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("hyperparameters: {pooling: [max, mean]}\n")
    assert config.load(path).hyperparameters["pooling"].values == ("max", "mean")
    path.write_text("hyperparameters: {pooling: maxx}\n")
    with pytest.raises(ConfigError, match="pooling.*'max'"):
        config.load(path)


def test_max_mean_hands_both_poolings_to_the_head():
    widths = {p: _model(p).get_layer(index=-1).kernel.shape[0] for p in ("max", "mean", "max_mean")}
    # Bidirectional GRU-4: 8 features per pooling.
    assert widths == {"max": 8, "mean": 8, "max_mean": 16}
