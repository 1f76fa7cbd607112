"""sweep.data on tiny synthetic data: sources, splits, labels, vectorization, tf.data (no training)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from conftest import make_examples, write_csv

from sweep import data
from sweep.config import DataConfig
from sweep.data import DataError, Split, TextSplits


def _numbered_csv(path: Path, n: int = 100, sort_by_class: bool = False) -> Path:
    """Every row's text starts with a unique word `docI`, so rows can be told apart."""
    rows = [(f"doc{i} {text}", label) for i, (text, label) in enumerate(make_examples(n))]
    if sort_by_class:
        rows.sort(key=lambda r: r[1])
    return write_csv(path, rows)


def _ids(split: Split) -> set[str]:
    return {t.split()[0] for t in split.text}


def _cfg(source: str, **kw) -> DataConfig:
    return DataConfig(source=source, max_length=16, batch_size=8, **kw)


# --- Splits ---------------------------------------------------------------------------


def test_splits_are_disjoint_and_cover_the_file(tmp_path):
    path = _numbered_csv(tmp_path / "d.csv", 100)
    s = data.load_texts(_cfg(f"csv:{path}", test_split=0.2, validation_split=0.25), seed=3)
    train, val, test = _ids(s.train), _ids(s.val), _ids(s.test)
    assert (len(train), len(val), len(test)) == (60, 20, 20)
    assert not (train & val) and not (train & test) and not (val & test)
    assert train | val | test == {f"doc{i}" for i in range(100)}


def test_split_is_seeded(tmp_path):
    path = _numbered_csv(tmp_path / "d.csv", 100)
    cfg = _cfg(f"csv:{path}")
    a, b, c = data.load_texts(cfg, 1), data.load_texts(cfg, 1), data.load_texts(cfg, 2)
    assert list(a.val.text) == list(b.val.text) and a.fingerprint == b.fingerprint
    assert _ids(a.val) != _ids(c.val) and a.fingerprint != c.fingerprint


def test_labels_stay_with_their_text(tmp_path):
    rows = make_examples(50)
    path = _numbered_csv(tmp_path / "d.csv", 50)
    s = data.load_texts(_cfg(f"csv:{path}"), seed=0)
    truth = {f"doc{i}": label for i, (_, label) in enumerate(rows)}
    for split in (s.train, s.val, s.test):
        assert [truth[t.split()[0]] for t in split.text] == list(split.labels)


def test_limits_sample_both_classes_of_class_sorted_data(tmp_path):
    # Folders (and many CSVs) list one class after the other: a prefix would be one class.
    path = _numbered_csv(tmp_path / "d.csv", 200, sort_by_class=True)
    s = data.load_texts(_cfg(f"csv:{path}", limit_train=20, limit_eval=10), seed=0)
    assert len(s.train) == 20 and len(s.val) == 10 and len(s.test) == 10
    assert set(s.train.labels) == {0, 1} and set(s.val.labels) == {0, 1}


def test_too_few_examples_to_split(tmp_path):
    path = write_csv(tmp_path / "d.csv", [("a", 0), ("b", 1)])
    with pytest.raises(DataError, match="too few"):
        data.load_texts(_cfg(f"csv:{path}"), seed=0)


# --- CSV columns and labels -----------------------------------------------------------


def test_csv_columns_found_by_common_names(tmp_path):
    rows = [(f"t{i}", "x", "pos" if i % 2 else "neg") for i in range(20)]
    path = write_csv(tmp_path / "d.csv", rows, header=("Review", "id", " Sentiment"))
    s = data.load_texts(_cfg(f"csv:{path}"), seed=0)
    assert s.class_names == ["neg", "pos"]
    assert all(t.startswith("t") for t in s.train.text)


def test_csv_text_columns_joined(tmp_path):
    rows = [(f"title{i}", f"body{i}", i % 2) for i in range(20)]
    path = write_csv(tmp_path / "d.csv", rows, header=("title", "body", "stars"))
    cfg = _cfg(f"csv:{path}", text_column=["title", "body"], label_column="stars")
    s = data.load_texts(cfg, seed=0)
    for split in (s.train, s.val, s.test):
        for text, label in zip(split.text, split.labels, strict=True):
            title, body = text.split(" ")
            i = int(title.removeprefix("title"))
            assert body == f"body{i}" and label == i % 2


@pytest.mark.parametrize("labels, expected", [
    (["pos", "neg", "neutral"], ["neg", "neutral", "pos"]),
    (["10", "9", "1"], ["1", "9", "10"]),  # numeric order, not "1" < "10" < "9"
    (["1", "-1"], ["-1", "1"]),
])
def test_labels_map_to_ids_in_sorted_order(tmp_path, labels, expected):
    rows = [(f"t{i} {labels[i % len(labels)]}", labels[i % len(labels)]) for i in range(30)]
    path = write_csv(tmp_path / "d.csv", rows)
    s = data.load_texts(_cfg(f"csv:{path}"), seed=0)
    assert s.class_names == expected
    for split in (s.train, s.val, s.test):
        # Each text ends with its raw label: the id must point back at it.
        assert all(s.class_names[y] == t.split()[-1] for t, y in zip(split.text, split.labels, strict=True))


def test_csv_test_source_must_not_add_classes(tmp_path):
    train = write_csv(tmp_path / "train.csv", [(f"t{i}", "ab"[i % 2]) for i in range(20)])
    test = write_csv(tmp_path / "test.csv", [("x", "a"), ("y", "c")])
    with pytest.raises(DataError, match="lacks: c"):
        data.load_texts(_cfg(f"csv:{train}", test_source=f"csv:{test}"), seed=0)


def test_non_utf8_message_names_the_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes("text,label\nfine,a\ncaf\xe9,b\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not UTF-8 text \(line 3: byte 0xe9\)"):
        data.load_texts(_cfg(f"csv:{path}"), seed=0)


# --- Folders --------------------------------------------------------------------------


def _class_folders(root: Path, n: int = 20, classes=("neg", "pos")) -> Path:
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(n):
            (root / name / f"{i}.txt").write_text(f"{name}{i} words", encoding="utf-8")
    return root


def test_dir_test_source_folder(tmp_path):
    _class_folders(tmp_path / "train")
    _class_folders(tmp_path / "held_out", n=5)
    # Not the aclImdb layout: `train` here is just a folder of class folders.
    s = data.load_texts(_cfg(f"dir:{tmp_path / 'train'}", test_source=f"dir:{tmp_path / 'held_out'}"), 0)
    assert s.class_names == ["neg", "pos"] and len(s.test) == 10 and len(s.train) + len(s.val) == 40


def test_dir_fingerprint_follows_the_files(tmp_path):
    root = _class_folders(tmp_path / "d")
    cfg = _cfg(f"dir:{root}")
    before = data.load_texts(cfg, 0).fingerprint
    (root / "pos" / "3.txt").write_text("an edited review, longer than before", encoding="utf-8")
    assert data.load_texts(cfg, 0).fingerprint != before


def test_tfds_refuses_test_source():
    with pytest.raises(DataError, match="test_source"):
        data.load_texts(_cfg("tfds:imdb_reviews", test_source="csv:x.csv"), 0)


# --- Vectorization --------------------------------------------------------------------


def _splits(train, val, test, labels=None) -> TextSplits:
    def split(texts):
        ys = labels or [i % 2 for i in range(len(texts))]
        return Split(np.array(texts, dtype=object), np.array(ys[: len(texts)], dtype=np.int64))

    return TextSplits(split(train), split(val), split(test), ["a", "b"], "f" * 12)


def test_vocab_is_adapted_on_train_only():
    s = _splits(["apple banana", "banana cherry"], ["apple zebra"], ["zebra", ""])
    enc = data.vectorize(s, vocab_size=100, max_length=8, cache_dir=None)
    val_ids, _ = enc.ids("val")
    test_ids, test_len = enc.ids("test")
    train_ids, _ = enc.ids("train")
    assert val_ids[0] == train_ids[0] > 1  # apple is known
    assert val_ids[1] == 1  # zebra only in val/test: out of vocabulary
    assert list(test_ids) == [1, 1] and list(test_len) == [1, 1]  # "" -> one OOV token
    assert list(enc.raw_lengths("test")) == [1, 0]


def test_lengths_are_cut_at_max_length():
    long = " ".join(f"w{i}" for i in range(50))
    s = _splits([long, "a b c", "<br />Hello, world!"], ["a"], ["b"])
    enc = data.vectorize(s, vocab_size=100, max_length=8, cache_dir=None)
    ids, lengths = enc.ids("train")
    assert list(lengths) == [8, 3, 2] and len(ids) == 13
    assert list(enc.raw_lengths("train")) == [50, 3, 2]  # <br /> and punctuation dropped


@pytest.mark.parametrize("lengths", [
    np.arange(1, 300), np.full(50, 7), np.array([1, 1, 1, 2]), np.array([], dtype=int),
])
def test_bucket_boundaries_are_sane(lengths):
    b = data.bucket_boundaries(lengths)
    assert all(isinstance(x, int) for x in b) and b == sorted(set(b))
    assert all(2 <= x <= (lengths.max() + 1 if len(lengths) else 2) for x in b)
    assert len(b) <= 15


def test_dataset_batches_are_right_padded_and_aligned():
    rng = np.random.default_rng(0)
    texts = [" ".join([f"doc{i}"] + ["x"] * int(rng.integers(0, 20))) for i in range(40)]
    labels = [int(v) for v in rng.integers(0, 2, 40)]
    s = _splits(texts, texts[:4], texts[:4], labels=labels)
    enc = data.vectorize(s, vocab_size=100, max_length=16, cache_dir=None)
    ids, lengths = enc.ids("train")
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    label_of = {int(ids[st]): y for st, y in zip(starts, enc.labels("train"), strict=True)}
    assert len(label_of) == 40  # each first token names its example
    ds = data.dataset(enc, "train", 8, data.bucket_boundaries(lengths), shuffle_seed=1)
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

    s = _splits(["a b c", "b c d", "c d e"], ["a"], ["e"])
    first = data.vectorize(s, vocab_size=50, max_length=8, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.npz"))
    assert [f.name for f in files] == ["tokens-ffffffffffff-v50-l8.npz"]

    calls = []
    real = keras.layers.TextVectorization

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(keras.layers, "TextVectorization", counting)
    again = data.vectorize(s, vocab_size=50, max_length=8, cache_dir=tmp_path)
    assert calls == []  # read back, not adapted again
    assert all(np.array_equal(first.arrays[k], again.arrays[k]) for k in first.arrays)

    data.vectorize(s, vocab_size=40, max_length=8, cache_dir=tmp_path)
    data.vectorize(s, vocab_size=50, max_length=4, cache_dir=tmp_path)
    data.vectorize(dataclasses.replace(s, fingerprint="0" * 12), 50, 8, cache_dir=tmp_path)
    assert len(calls) == 3
    assert len(list(tmp_path.glob("*.npz"))) == 4


def test_sweepdata_vectorizes_once_per_vocab(tmp_path, monkeypatch):
    path = _numbered_csv(tmp_path / "d.csv", 60)
    sd = data.SweepData(_cfg(f"csv:{path}"), seed=0, cache_dir=tmp_path / "cache")
    calls = []
    real = data.vectorize
    monkeypatch.setattr(data, "vectorize", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    for _ in range(2):
        sd.dataset(30, "train")
        sd.dataset(30, "val")
    assert calls == [30]
