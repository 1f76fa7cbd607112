"""Every registry entry builds what it names: each cell a classifier (and a user's cell or
network beside them), each tuner and oracle one of KerasTuner's, each source a reader."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest

from sweep.model.hypermodel import RNNHyperModel, foreign_layers
from sweep.space.hyperparameters import Fixed
from sweep.space.registry import CELLS, SOURCES, TUNERS, register_cell, register_model


def _build(cell: str, **values):
    base = dict(cell=cell, bidirectional=False, vocab_size=50, embedding_dim=8, hidden_units=4,
                learning_rate=1e-3, num_layers=2, dropout=0.1, clipnorm=0.0, pooling="max")
    space = {k: Fixed(v) for k, v in {**base, **values}.items()}
    return RNNHyperModel(space).build(kt.HyperParameters())


def _tokens():
    x = np.random.default_rng(0).integers(2, 50, size=(3, 7)).astype("int32")
    x[0, 4:] = 0  # right padding
    return x


def _conv(values, return_sequences):
    conv = keras.layers.Conv1D(values["hidden_units"], 3, padding="same")
    return conv if return_sequences else keras.Sequential([conv, keras.layers.GlobalMaxPooling1D()])


class _Halved(keras.layers.Layer):
    def call(self, x):
        return 0.5 * x


def _network(values, tokens):
    return _Halved()(keras.layers.GlobalAveragePooling1D()(
        keras.layers.Embedding(values["vocab_size"], values["embedding_dim"])(tokens)))


@pytest.fixture
def users():
    register_cell("conv", _conv)
    register_model("halved", _network)
    yield
    CELLS.remove("conv")
    CELLS.remove("halved")


@pytest.mark.parametrize("cell", CELLS.names())
def test_every_registered_cell_builds_a_classifier_of_built_in_layers(cell):
    model = _build(cell)
    assert model(_tokens()).shape == (3, 1)
    assert foreign_layers(model) == []  # the masked max is ours, and export replaces it


def test_a_users_cell_stacks_and_a_users_network_replaces_the_middle(users):
    for pooling in ("last", "max"):
        model = _build("conv", pooling=pooling)
        assert model(_tokens()).shape == (3, 1)
        assert sum(isinstance(layer, (keras.layers.Conv1D, keras.Sequential)) for layer in model.layers) == 2
        assert foreign_layers(model) == []
    net = _build("halved")
    assert net(_tokens()).shape == (3, 1)
    assert not any(isinstance(layer, keras.layers.RNN) for layer in net.layers)
    assert [name.rsplit(".", 1)[1] for name in foreign_layers(net)] == ["_Halved"]


def test_bidirectional_over_a_layer_that_is_not_an_rnn_says_so(users):
    with pytest.raises(ValueError, match="cell 'conv': bidirectional needs a Keras RNN layer"):
        _build("conv", bidirectional=True)


@pytest.mark.parametrize("entry", list(TUNERS), ids=lambda e: e.name)
def test_every_tuner_is_a_keras_tuner_with_its_oracle(entry):
    assert issubclass(entry.resolve(), kt.Tuner)
    assert issubclass(entry.resolve("oracle"), kt.Oracle)


@pytest.mark.parametrize("entry", list(SOURCES), ids=lambda e: e.name)
def test_every_source_resolves_to_a_reader(entry):
    assert callable(entry.resolve()) and entry.kind == "corpus"
