"""sweep.data.pipeline on tiny synthetic data: vectorization, buckets, tf.data, caches (no training)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import numbered_csv

from sweep.data import pipeline
from sweep.data.sources import Split, TextSplits
from sweep.errors import DataError
from sweep.rundir import RunDir
from sweep.space.config import DataConfig


def _cfg(source: str, **kw) -> DataConfig:
    return DataConfig(source=source, max_length=16, batch_size=8, **kw)


# --- Vectorization --------------------------------------------------------------------


def _splits(train, val, test, labels=None) -> TextSplits:
    def split(texts):
        ys = labels or [i % 2 for i in range(len(texts))]
        return Split(np.array(texts, dtype=object), np.array(ys[: len(texts)], dtype=np.int64))

    return TextSplits(split(train), split(val), split(test), ["a", "b"], "f" * 12)


def test_vocab_is_adapted_on_train_only():
    s = _splits(["apple banana", "banana cherry"], ["apple zebra"], ["zebra", ""])
    enc = pipeline.vectorize(s, vocab_size=100, max_length=8)
    val_ids, _ = enc.ids("val")
    test_ids, test_len = enc.ids("test")
    train_ids, _ = enc.ids("train")
    assert val_ids[0] == train_ids[0] > 1  # apple is known
    assert val_ids[1] == 1  # zebra only in val/test: out of vocabulary
    assert list(test_ids) == [1, 1] and list(test_len) == [1, 1]  # "" -> one OOV token
    assert list(enc.raw_lengths("test")) == [1, 0]


@pytest.mark.parametrize("standardize, tokens", [
    ("lower_and_strip_punctuation", ["br", "dont", "stop"]),  # Keras' own: punctuation removed
    ("sweep_0.1", ["don", "t", "stop"]),  # 0.1's: <br /> tags and punctuation become spaces
])
def test_lengths_are_cut_at_max_length(standardize, tokens, tmp_path):
    long = " ".join(f"w{i}" for i in range(50))
    s = _splits([long, "a b c", "<br />Don't, STOP!"], ["a"], ["b"])
    run = RunDir(tmp_path)
    vocab_file = run.vocabulary(s.fingerprint, 100, 8)
    enc = pipeline.vectorize(s, vocab_size=100, max_length=8, run=run, standardize=standardize)
    ids, lengths = enc.ids("train")
    assert list(lengths) == [8, 3, 3] and len(ids) == 14
    assert list(enc.raw_lengths("train")) == [50, 3, 3]
    vocab = pipeline.Vocabulary.read(vocab_file, standardize, 8)
    assert vocab is not None and vocab.tokens[:2] == ["", "[UNK]"]
    assert [vocab.tokens[i] for i in ids[-3:]] == tokens
    assert pipeline.Vocabulary.read(vocab_file, standardize, 9) is None  # made for another length


def test_a_cache_without_vocabulary_gets_one_checked_against_its_ids(tmp_path):
    """Runs made before vocabularies were saved: adapted again, and refused if the text changed."""
    s = _splits(["apple banana", "banana cherry"], ["apple"], ["cherry"])
    run = RunDir(tmp_path)
    cache, vocab_file = run.tokens_cache(s.fingerprint, 100, 8), run.vocabulary(s.fingerprint, 100, 8)
    first = pipeline.vectorize(s, vocab_size=100, max_length=8, run=run)
    vocab_file.unlink()
    again = pipeline.vectorize(s, vocab_size=100, max_length=8, run=run)
    assert np.array_equal(first.ids("train")[0], again.ids("train")[0]) and vocab_file.exists()
    vocab_file.unlink()
    changed = _splits(["apple banana", "zebra zebra cherry"], ["apple"], ["cherry"])
    cached = np.load(cache)
    np.savez(cache, **{k: cached[k] for k in cached.files})  # the same cache, other text
    with pytest.raises(DataError, match="data changed"):
        pipeline.vectorize(changed, vocab_size=100, max_length=8, run=run)


@pytest.mark.parametrize("lengths", [
    np.arange(1, 300), np.full(50, 7), np.array([1, 1, 1, 2]), np.array([], dtype=int),
])
def test_bucket_boundaries_are_sane(lengths):
    b = pipeline.bucket_boundaries(lengths)
    assert all(isinstance(x, int) for x in b) and b == sorted(set(b))
    assert all(2 <= x <= (lengths.max() + 1 if len(lengths) else 2) for x in b)
    assert len(b) <= 15


def test_dataset_batches_are_right_padded_and_aligned():
    rng = np.random.default_rng(0)
    texts = [" ".join([f"doc{i}"] + ["x"] * int(rng.integers(0, 20))) for i in range(40)]
    labels = [int(v) for v in rng.integers(0, 2, 40)]
    s = _splits(texts, texts[:4], texts[:4], labels=labels)
    enc = pipeline.vectorize(s, vocab_size=100, max_length=16)
    ids, lengths = enc.ids("train")
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    label_of = {int(ids[st]): y for st, y in zip(starts, enc.labels("train"), strict=True)}
    assert len(label_of) == 40  # each first token names its example
    ds = pipeline.dataset(enc, "train", 8, pipeline.bucket_boundaries(lengths), shuffle_seed=1)
    seen = []
    for x, y in ds:
        x, y = x.numpy(), y.numpy()
        assert x.shape[0] <= 8 and x.shape[1] <= 16
        for row, label in zip(x, y, strict=True):
            n = int((row != 0).sum())
            assert (row[:n] != 0).all() and (row[n:] == 0).all()  # padding only on the right
            assert label_of[int(row[0])] == label
            seen.append(int(row[0]))
    assert sorted(seen) == sorted(label_of)
    # The autotuner stalled training steps for seconds (bench/stalls.py): kept off.
    assert ds.options().autotune.enabled is False


def test_cache_is_reused_and_keyed(tmp_path, monkeypatch):
    import keras

    run = RunDir(tmp_path)
    s = _splits(["a b c", "b c d", "c d e"], ["a"], ["e"])
    first = pipeline.vectorize(s, vocab_size=50, max_length=8, run=run)
    files = list(run.cache.glob("*.npz"))
    assert [f.name for f in files] == ["tokens-ffffffffffff-v50-l8.npz"]

    calls = []
    real = keras.layers.TextVectorization

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(keras.layers, "TextVectorization", counting)
    again = pipeline.vectorize(s, vocab_size=50, max_length=8, run=run)
    assert calls == []  # read back, not adapted again
    assert all(np.array_equal(first.arrays[k], again.arrays[k]) for k in first.arrays)

    pipeline.vectorize(s, vocab_size=40, max_length=8, run=run)
    pipeline.vectorize(s, vocab_size=50, max_length=4, run=run)
    other = dataclasses.replace(s, fingerprint="0" * 12)
    pipeline.vectorize(other, 50, 8, run=run)
    assert len(calls) == 3
    assert len(list(run.cache.glob("*.npz"))) == 4


def test_sweepdata_vectorizes_once_per_vocab(tmp_path, monkeypatch):
    path = numbered_csv(tmp_path / "d.csv", 60)
    sd = pipeline.SweepData(_cfg(f"csv:{path}"), seed=0, run=RunDir(tmp_path / "run"))
    calls = []
    real = pipeline.vectorize
    monkeypatch.setattr(pipeline, "vectorize", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    for _ in range(2):
        sd.dataset(30, "train")
        sd.dataset(30, "val")
    assert calls == [30]
