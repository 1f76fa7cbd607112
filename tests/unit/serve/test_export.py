"""sweep.serve.export's rebuilt network and sweep.serve.predict's readers, on tiny models (no training)."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest
from helpers import write_csv

from sweep import rundir
from sweep.data.pipeline import Vocabulary, text_vectorization, truncate
from sweep.errors import DataError
from sweep.model.hypermodel import RNNHyperModel
from sweep.serve import export, predict
from sweep.space.hyperparameters import Fixed

WORDS = ["good", "bad", "film", "plot", "acting", "great", "awful", "the", "a", "was"]
TEXTS = ["The film was GOOD.", "awful, awful plot!", "", "a " * 40, "unknown words only",
         "Great acting; the plot was bad"]


def _space(**values) -> dict:
    base = {"cell": "gru", "bidirectional": False, "vocab_size": 20, "embedding_dim": 4,
            "hidden_units": 3, "learning_rate": 0.01, "num_layers": 1, "dropout": 0.0,
            "pooling": "last", "clipnorm": 0.0}
    return {k: Fixed(v) for k, v in {**base, **values}.items()}


def _expected(trained: keras.Model, vocab: Vocabulary, texts: list[str]) -> np.ndarray:
    """What training would have computed: ids as the pipeline makes them, then the logits."""
    layer = text_vectorization(vocab.standardize, vocabulary=vocab.tokens, ragged=True)
    tokens = layer(np.array(texts, dtype=object))
    ids, lengths = truncate(tokens.flat_values.numpy(), tokens.row_lengths().numpy(), vocab.max_length)
    rows = np.split(ids, np.cumsum(lengths)[:-1])
    batch = keras.utils.pad_sequences(rows, padding="post")
    logits = np.asarray(trained(batch, training=False))
    if logits.shape[1] == 1:
        p = 1 / (1 + np.exp(-logits[:, 0]))
        return np.stack([1 - p, p], axis=1)
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.mark.parametrize("classes, values", [
    (2, {}),
    (2, {"pooling": "max", "bidirectional": True}),
    (3, {"pooling": "mean", "cell": "lstm"}),
    (2, {"pooling": "max_mean", "num_layers": 2, "cell": "simple_rnn", "dropout": 0.5}),
    (4, {"pooling": "max", "embedding_dropout": 0.2}),
])
def test_the_raw_text_model_computes_what_the_trained_one_did(classes, values, tmp_path):
    keras.utils.set_random_seed(0)
    hypermodel = RNNHyperModel(_space(**values), classes)
    hp = kt.HyperParameters()
    trained = hypermodel.build(hp)
    vocab = Vocabulary(["", "[UNK]", *WORDS], "lower_and_strip_punctuation", max_length=12)
    model = export.raw_text_model(trained, hypermodel.declare(hp), vocab, classes)
    got = np.asarray(model(np.array(TEXTS, dtype=object)))
    assert got.shape == (len(TEXTS), classes) and np.isfinite(got).all()  # "" too
    np.testing.assert_allclose(got, _expected(trained, vocab, TEXTS), atol=1e-5)
    # Saved and loaded with Keras alone (no custom objects), it is the same model.
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(np.array(TEXTS, dtype=object))), got, atol=1e-6)


def test_the_predictor_batches_by_length_and_keeps_the_input_order(tmp_path):
    keras.utils.set_random_seed(1)
    hypermodel = RNNHyperModel(_space(pooling="max", bidirectional=True), 2)
    hp = kt.HyperParameters()
    trained = hypermodel.build(hp)
    vocab = Vocabulary(["", "[UNK]", *WORDS], "lower_and_strip_punctuation", max_length=12)
    model = export.raw_text_model(trained, hypermodel.declare(hp), vocab, 2)
    folder = rundir.ExportDir(tmp_path / "export")
    folder.path.mkdir()
    model.save(folder.model_keras)
    rundir.write_json(folder.classes_json, ["neg", "pos"])
    rundir.write_json(folder.card_json, {"data": {"max_length": 12}})
    texts = TEXTS * 5
    predictor = predict.Predictor(folder)
    done = []
    probs = predictor.predict(texts, batch_size=4, progress=done.append)
    np.testing.assert_allclose(probs, np.asarray(model(np.array(texts, dtype=object))), atol=1e-5)
    assert sum(done) == len(texts) and len(done) == 8
    table = predictor.table(probs)
    assert list(table.columns) == ["row", "predicted", "prob_neg", "prob_pos"]
    assert list(table.predicted) == [["neg", "pos"][i] for i in probs.argmax(1)]


def test_read_texts_from_arguments_csv_and_text_files(tmp_path):
    assert predict.read_texts(["a", ""], None, None) == ["a", ""]
    write_csv(tmp_path / "in.csv", [("t1", "x, y"), ("t2", 'say "hi"')], header=("title", "review"))
    assert predict.read_texts([], str(tmp_path / "in.csv"), None) == ["x, y", 'say "hi"']  # found by name
    assert predict.read_texts([], str(tmp_path / "in.csv"), "title,review") == ["t1 x, y", 't2 say "hi"']
    (tmp_path / "in.txt").write_bytes("one\r\n\ntwo ☃\n".encode())
    assert predict.read_texts([], str(tmp_path / "in.txt"), None) == ["one", "", "two ☃"]
    with pytest.raises(DataError, match="--text-column: only for a .csv"):
        predict.read_texts([], str(tmp_path / "in.txt"), "review")
    (tmp_path / "bad.csv").write_bytes(b"text\n\xff\n")
    with pytest.raises(DataError, match="not UTF-8"):
        predict.read_texts([], str(tmp_path / "bad.csv"), None)
