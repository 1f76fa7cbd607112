"""The HyperModel builds every cell x direction and pooling, and predicts once per example."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest

from sweep.model.hypermodel import RNNHyperModel
from sweep.space.hyperparameters import HYPERPARAMETERS, Choice, Fixed, Range


def space(**values):
    base = dict(cell=Fixed("lstm"), bidirectional=Fixed(False), vocab_size=Fixed(50),
                embedding_dim=Fixed(8), hidden_units=Fixed(4), learning_rate=Fixed(1e-3),
                num_layers=Fixed(1), dropout=Fixed(0.0), clipnorm=Fixed(0.0))
    base.update({k: Fixed(v) for k, v in values.items()})
    return base


def tokens(batch=3, length=7):
    x = np.random.default_rng(0).integers(2, 50, size=(batch, length)).astype("int32")
    x[0, 4:] = 0  # right padding
    return x


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_one_logit_per_example(cell, bidirectional, num_layers):
    model = RNNHyperModel(space(cell=cell, bidirectional=bidirectional, num_layers=num_layers)).build(
        kt.HyperParameters())
    assert model.output_shape == (None, 1)
    assert model(tokens()).shape == (3, 1)
    recurrent = [layer for layer in model.layers
                 if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))]
    assert len(recurrent) == num_layers
    # The notebook's bug: the last recurrent layer returned every timestep.
    assert [getattr(layer, "return_sequences", False) for layer in recurrent][-1] is False


def test_softmax_head_for_more_classes():
    model = RNNHyperModel(space(), num_classes=3).build(kt.HyperParameters())
    assert model.output_shape == (None, 3)
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)


def test_padding_is_masked():
    """Extra right padding must not change the prediction."""
    model = RNNHyperModel(space(cell="gru")).build(kt.HyperParameters())
    x = tokens(batch=1, length=5)
    padded = np.concatenate([x, np.zeros((1, 20), "int32")], axis=1)
    np.testing.assert_allclose(model(x).numpy(), model(padded).numpy(), rtol=1e-5, atol=1e-6)


def test_hyperparameters_are_declared_from_the_space():
    hp = kt.HyperParameters()
    hm = RNNHyperModel(space() | {"cell": Choice(("gru", "lstm")),
                                           "hidden_units": Range(8, 32, 8),
                                           "learning_rate": Range(1e-4, 1e-2, None, "log")})
    hm.build(hp)
    names = {p.name: type(p).__name__ for p in hp.space}
    assert names["cell"] == "Choice" and names["hidden_units"] == "Int"
    assert names["learning_rate"] == "Float" and names["vocab_size"] == "Fixed"
    assert hp.get("cell") == "gru"  # a Choice's default is its first value


@pytest.mark.slow  # 8 epochs
def test_learns_a_planted_signal():
    """A few steps on data where token 7 means positive: training beats chance."""
    rng = np.random.default_rng(0)
    x = rng.integers(2, 50, size=(256, 12)).astype("int32")
    y = rng.integers(0, 2, size=256)
    x[y == 1, rng.integers(0, 12)] = 7
    x[y == 0] = np.where(x[y == 0] == 7, 8, x[y == 0])
    keras.utils.set_random_seed(0)
    model = RNNHyperModel(space(cell="gru", hidden_units=16, learning_rate=1e-2)).build(
        kt.HyperParameters())
    model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0.9


def test_embedding_dropout_keeps_the_mask_and_is_off_at_inference():
    model = RNNHyperModel(space(embedding_dropout=0.5, cell="gru")).build(kt.HyperParameters())
    assert any(isinstance(layer, keras.layers.SpatialDropout1D) for layer in model.layers)
    x = tokens()
    padded = np.concatenate([x, np.zeros((3, 5), "int32")], axis=1)
    # Inference: no dropout, and padding is still masked behind the dropout layer.
    np.testing.assert_allclose(model.predict_on_batch(x), model.predict_on_batch(padded), atol=1e-5)
    train = [np.asarray(model(x, training=True)) for _ in range(2)]
    assert not np.allclose(train[0], train[1])
    plain = RNNHyperModel(space(cell="gru")).build(kt.HyperParameters())
    assert not any(isinstance(layer, keras.layers.SpatialDropout1D) for layer in plain.layers)


@pytest.mark.parametrize("decay", [1.0, 0.5])
def test_lr_decay_multiplies_the_learning_rate_each_epoch(decay):
    hm = RNNHyperModel(space(learning_rate=1e-2, lr_decay=decay))
    hp = kt.HyperParameters()
    model = hm.build(hp)
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seen.append(float(model.optimizer.learning_rate)))
    x, y = tokens(batch=8), np.arange(8) % 2
    history = hm.fit(hp, model, x, y, epochs=3, verbose=0, callbacks=[record])
    np.testing.assert_allclose(seen, [1e-2, 1e-2 * decay, 1e-2 * decay**2], rtol=1e-6)
    assert len(history.history["loss"]) == 3  # the caller's callbacks still ran, and fit's result returns


def test_word2vec_init_starts_from_the_given_vectors():
    matrix = np.random.default_rng(0).normal(size=(50, 8)).astype("float32")
    asked = []
    hm = RNNHyperModel(space(embedding_init="word2vec"),
                       word_vectors=lambda vocab, dim: asked.append((vocab, dim)) or matrix)
    model = hm.build(kt.HyperParameters())
    embedding = next(layer for layer in model.layers if isinstance(layer, keras.layers.Embedding))
    assert asked == [(50, 8)]
    np.testing.assert_array_equal(embedding.get_weights()[0], matrix)
    random = RNNHyperModel(space(), word_vectors=lambda *_: pytest.fail("asked for vectors"))
    random.build(kt.HyperParameters())
    with pytest.raises(ValueError, match="word_vectors"):
        RNNHyperModel(space(embedding_init="word2vec")).build(kt.HyperParameters())


# --- pooling ---------------------------------------------------------------------------


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


def test_max_mean_hands_both_poolings_to_the_head():
    widths = {p: _model(p).get_layer(index=-1).kernel.shape[0] for p in ("max", "mean", "max_mean")}
    # Bidirectional GRU-4: 8 features per pooling.
    assert widths == {"max": 8, "mean": 8, "max_mean": 16}
