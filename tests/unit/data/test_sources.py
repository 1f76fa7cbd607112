"""sweep.data.sources: each kind of data source, bad data refused before training, and the splits.

The sweeps run in-process through `sweep.cli.main` (TensorFlow is imported once for the
module) on a few hundred synthetic examples built in `tmp_path`; the `load_texts` tests at
the end read and split the data without training. The real IMDB is in e2e/test_imdb.py.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_ran, make_examples, numbered_csv, tiny_sweep, write_csv

from sweep.data import pipeline, sources
from sweep.data.sources import Split
from sweep.errors import DataError
from sweep.space.config import DataConfig

WORDS = {0: "neg", 1: "pos", 2: "mixed"}


def named(rows, names=WORDS):
    return [(text, names[label]) for text, label in rows]


# --- CSV ------------------------------------------------------------------------------


@pytest.mark.slow
def test_csv_auto_detected_columns_string_labels_three_classes_learn(tmp_path, capsys):
    rows = named(make_examples(600, num_classes=3))
    path = write_csv(tmp_path / "reviews.csv", rows, header=("id_text", "x"))
    # Unknown column names first: the error lists the columns there are.
    code, out, run_dir = tiny_sweep(tmp_path, capsys, f"csv:{path}")
    assert code == 2 and "id_text, x" in out and not run_dir.exists()

    path = write_csv(tmp_path / "reviews.csv", rows, header=("Review", "Sentiment"))
    code, out, run_dir = tiny_sweep(tmp_path, capsys, f"csv:{path}", tuner={"epochs": 5})
    trials, test = assert_ran(code, out, run_dir, ["mixed", "neg", "pos"], test_examples=120)
    # Chance is 1/3; a one-logit model would be stuck well below this (softmax over 3 classes).
    assert trials.val_accuracy.max() > 0.7 and test["test_accuracy"] > 0.7


# --- Folders --------------------------------------------------------------------------


def write_class_folders(root: Path, rows, names=WORDS) -> Path:
    for i, (text, label) in enumerate(rows):
        folder = root / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}_{label}.txt").write_text(text, encoding="utf-8")
    return root


@pytest.mark.slow
def test_dir_aclimdb_layout(tmp_path, capsys):
    root = tmp_path / "aclImdb"
    write_class_folders(root / "train", make_examples(300, seed=1))
    write_class_folders(root / "test", make_examples(40, seed=2))
    (root / "train" / "unsup").mkdir()
    (root / "train" / "unsup" / "0_0.txt").write_text("unlabelled", encoding="utf-8")
    (root / "train" / "urls_pos.txt").write_text("http://x", encoding="utf-8")  # not a class
    code, out, run_dir = tiny_sweep(tmp_path, capsys, f"dir:{root}", "--limit-train", "200")
    assert_ran(code, out, run_dir, ["neg", "pos"], test_examples=40)


# --- tfds -----------------------------------------------------------------------------


def write_tfds(data_dir: Path, splits: dict[str, list], dataset: str = "sweep_test_topics") -> str:
    """Prepares a tiny 3-class tfds dataset (text, label) under data_dir; returns its name.

    tfds registers a builder by name once per process: each test passes its own.
    """
    import tensorflow_datasets as tfds

    class Builder(tfds.core.GeneratorBasedBuilder):
        name = dataset
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                features=tfds.features.FeaturesDict({
                    "text": tfds.features.Text(),
                    # Not in sorted order: tfds' own class ids must be kept.
                    "label": tfds.features.ClassLabel(names=[WORDS[i] for i in range(3)]),
                }),
                supervised_keys=("text", "label"),
            )

        def _split_generators(self, dl_manager):
            return {name: self._generate_examples(rows) for name, rows in splits.items()}

        def _generate_examples(self, rows):
            for i, (text, label) in enumerate(rows):
                yield i, {"text": text, "label": label}

    builder = Builder(data_dir=str(data_dir))
    builder.download_and_prepare()
    return builder.name


def test_tfds_batched_reader_matches_tfds(tmp_path, monkeypatch):
    """The batched TFRecord parse returns what tfds' own reader does, in the same order."""
    import tensorflow_datasets as tfds

    from sweep.data.tfds_source import read_tfds_split

    rows = [(f"{i} caf\u00e9 <br />{text}", label)
            for i, (text, label) in enumerate(make_examples(50, num_classes=3))]
    name = write_tfds(tmp_path / "tfds", {"train": rows}, dataset="sweep_test_reader")
    builder = tfds.builder(name, data_dir=str(tmp_path / "tfds"))
    ds = builder.as_dataset(split="train", as_supervised=True, shuffle_files=False)
    expected = list(tfds.as_numpy(ds))
    text, labels = read_tfds_split(builder, "train", ("text", "label"))
    assert text == [t for t, _ in expected] and len(text) == 50
    assert labels.tolist() == [int(y) for _, y in expected]
    assert sorted(t.decode().split()[0] for t in text) == sorted(str(i) for i in range(50))
    # Any other file format goes through tfds itself, with the same result.
    monkeypatch.setattr(type(builder.info), "file_format", property(lambda self: None))
    again, labels_again = read_tfds_split(builder, "train", ("text", "label"))
    assert again == text and np.array_equal(labels_again, labels)


@pytest.mark.slow
def test_tfds_three_classes_from_info(tmp_path, capsys):
    name = write_tfds(tmp_path / "tfds", {"train": make_examples(300, num_classes=3, seed=1),
                                          "test": make_examples(30, num_classes=3, seed=2)})
    code, out, run_dir = tiny_sweep(tmp_path, capsys, f"tfds:{name}",
                               data={"data_dir": str(tmp_path / "tfds")})
    assert_ran(code, out, run_dir, ["neg", "pos", "mixed"], test_examples=30)


def test_tfds_unlabeled_split_feeds_word2vec_only(tmp_path, monkeypatch):
    """The unlabeled split is read and encoded for word2vec, capped like train, and never trained on."""
    from sweep.data import embeddings

    extra = [(f"extra{i} {text}", -1) for i, (text, _) in enumerate(make_examples(80, seed=3))]
    name = write_tfds(tmp_path / "tfds", {"train": make_examples(100, num_classes=3),
                                          "test": make_examples(20, num_classes=3, seed=2),
                                          "unsupervised": extra}, dataset="sweep_test_unlabeled")
    cfg = DataConfig(source=f"tfds:{name}", data_dir=str(tmp_path / "tfds"), max_length=16,
                     unlabeled_split="unsupervised", limit_train=50)
    sd = pipeline.SweepData(cfg, seed=0, run=None)
    unlabeled = sd.splits.unlabeled
    assert len(unlabeled) == 50 and set(unlabeled.labels) == {-1}
    assert all(t.startswith("extra") for t in unlabeled.text)
    assert not any(t.startswith("extra") for t in sd.splits.train.text)
    rows = []
    monkeypatch.setattr(embeddings, "word2vec", lambda parts, *a: rows.append(parts) or np.zeros((40, 4)))
    sd.word_vectors(40, 4)
    assert [len(lengths) for _, lengths in rows[0]] == [len(sd.splits.train), 50]
    examples = sum(int(y.shape[0]) for _, y in sd.dataset(40, "train"))
    assert examples == len(sd.splits.train)  # the training data holds no unlabeled text

    bad = dataclasses.replace(cfg, unlabeled_split="unsup")
    with pytest.raises(DataError, match="data.unlabeled_split.*'unsup'.*unsupervised"):
        sources.load_texts(bad, 0)


def test_tfds_unknown_dataset(tmp_path, capsys):
    code, out, run_dir = tiny_sweep(tmp_path, capsys, "tfds:no_such_dataset_xyz",
                               data={"data_dir": str(tmp_path)})
    assert code == 2 and "no_such_dataset_xyz" in out and not run_dir.exists()


# --- Bad data: one line, exit 2, nothing created --------------------------------------


def _csv_bytes(content: bytes):
    def make(tmp_path: Path) -> str:
        (tmp_path / "bad.csv").write_bytes(content)
        return f"csv:{tmp_path / 'bad.csv'}"
    return make


def _folders(make_files):
    def make(tmp_path: Path) -> str:
        root = tmp_path / "bad"
        root.mkdir()
        make_files(root)
        return f"dir:{root}"
    return make


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


GOOD_ROWS = b"".join(b"some text %d,%s\n" % (i, b"ab"[i % 2:i % 2 + 1]) for i in range(20))

BAD = {
    "empty csv": (_csv_bytes(b""), "is empty"),
    "header only": (_csv_bytes(b"text,label\n"), "has a header but no rows"),
    "missing column": (_csv_bytes(b"body,stars\nx,1\ny,2\n"), "it has body, stars"),
    "named column missing": (_csv_bytes(b"text,label\nx,1\n"), "no column 'score'"),
    "single class": (_csv_bytes(b"text,label\n" + b"t,a\n" * 20), "single class (a)"),
    "labels missing": (_csv_bytes(b"text,label\n" + GOOD_ROWS + b"x,\ny, \n"), "2 of 22 rows"),
    "csv not utf-8": (_csv_bytes("text,label\ncaf\xe9,a\nb,b\n".encode("latin-1")),
                      "not UTF-8 text (line 2: byte 0xe9)"),
    "no such csv": (lambda tmp_path: f"csv:{tmp_path / 'nope.csv'}", "no such file"),
    "no such folder": (lambda tmp_path: f"dir:{tmp_path / 'nope'}", "no such folder"),
    "no class folders": (_folders(lambda r: _write(r / "a.txt", b"x")), "no class sub-folders"),
    "empty class folder": (_folders(lambda r: (_write(r / "a" / "1.txt", b"x"), (r / "b").mkdir())),
                           "holds no .txt files"),
    "one class folder": (_folders(lambda r: _write(r / "only" / "1.txt", b"x")), "single class"),
    "acl test class not in train": (
        _folders(lambda r: [_write(r / part / c / "1.txt", b"x")
                            for part, c in [("train", "a"), ("train", "b"), ("test", "a"), ("test", "z")]]),
        "test has classes the training data lacks: z"),
    "dir not utf-8": (_folders(lambda r: (_write(r / "a" / "1.txt", b"ok"),
                                          _write(r / "b" / "2.txt", b"\xff\xfe bad"))),
                      "2.txt is not UTF-8 text"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_data_exits_2_before_training(tmp_path, capsys, case):
    make, message = BAD[case]
    source = make(tmp_path)
    extra = {"data": {"text_column": "text", "label_column": "score"}} if "named" in case else {}
    code, out, run_dir = tiny_sweep(tmp_path, capsys, source, **extra)
    assert code == 2, out
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sweep: error: data."), out
    assert message in lines[0]
    assert not run_dir.exists() and not (tmp_path / "results").exists()


# --- load_texts: splits, CSV columns and labels, folders (no training) ----------------


def _ids(split: Split) -> set[str]:
    return {t.split()[0] for t in split.text}


def _cfg(source: str, **kw) -> DataConfig:
    return DataConfig(source=source, max_length=16, batch_size=8, **kw)


# --- Splits ---------------------------------------------------------------------------


def test_splits_are_disjoint_and_cover_the_file(tmp_path):
    path = numbered_csv(tmp_path / "d.csv", 100)
    s = sources.load_texts(_cfg(f"csv:{path}", test_split=0.2, validation_split=0.25), seed=3)
    train, val, test = _ids(s.train), _ids(s.val), _ids(s.test)
    assert (len(train), len(val), len(test)) == (60, 20, 20)
    assert not (train & val) and not (train & test) and not (val & test)
    assert train | val | test == {f"doc{i}" for i in range(100)}


def test_split_is_seeded(tmp_path):
    path = numbered_csv(tmp_path / "d.csv", 100)
    cfg = _cfg(f"csv:{path}")
    a, b, c = sources.load_texts(cfg, 1), sources.load_texts(cfg, 1), sources.load_texts(cfg, 2)
    assert list(a.val.text) == list(b.val.text) and a.fingerprint == b.fingerprint
    assert _ids(a.val) != _ids(c.val) and a.fingerprint != c.fingerprint


def test_labels_stay_with_their_text(tmp_path):
    rows = make_examples(50)
    path = numbered_csv(tmp_path / "d.csv", 50)
    s = sources.load_texts(_cfg(f"csv:{path}"), seed=0)
    truth = {f"doc{i}": label for i, (_, label) in enumerate(rows)}
    for split in (s.train, s.val, s.test):
        assert [truth[t.split()[0]] for t in split.text] == list(split.labels)


def test_limits_sample_both_classes_of_class_sorted_data(tmp_path):
    # Folders (and many CSVs) list one class after the other: a prefix would be one class.
    path = numbered_csv(tmp_path / "d.csv", 200, sort_by_class=True)
    s = sources.load_texts(_cfg(f"csv:{path}", limit_train=20, limit_eval=10), seed=0)
    assert len(s.train) == 20 and len(s.val) == 10 and len(s.test) == 10
    assert set(s.train.labels) == {0, 1} and set(s.val.labels) == {0, 1}


def test_too_few_examples_to_split(tmp_path):
    path = write_csv(tmp_path / "d.csv", [("a", 0), ("b", 1)])
    with pytest.raises(DataError, match="too few"):
        sources.load_texts(_cfg(f"csv:{path}"), seed=0)


# --- CSV columns and labels -----------------------------------------------------------


def test_csv_columns_found_by_common_names(tmp_path):
    rows = [(f"t{i}", "x", "pos" if i % 2 else "neg") for i in range(20)]
    path = write_csv(tmp_path / "d.csv", rows, header=("Review", "id", " Sentiment"))
    s = sources.load_texts(_cfg(f"csv:{path}"), seed=0)
    assert s.class_names == ["neg", "pos"]
    assert all(t.startswith("t") for t in s.train.text)


def test_csv_text_columns_joined(tmp_path):
    rows = [(f"title{i}", f"body{i}", i % 2) for i in range(20)]
    path = write_csv(tmp_path / "d.csv", rows, header=("title", "body", "stars"))
    cfg = _cfg(f"csv:{path}", text_column=["title", "body"], label_column="stars")
    s = sources.load_texts(cfg, seed=0)
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
    s = sources.load_texts(_cfg(f"csv:{path}"), seed=0)
    assert s.class_names == expected
    for split in (s.train, s.val, s.test):
        # Each text ends with its raw label: the id must point back at it.
        assert all(s.class_names[y] == t.split()[-1] for t, y in zip(split.text, split.labels, strict=True))


def test_csv_test_source_must_not_add_classes(tmp_path):
    train = write_csv(tmp_path / "train.csv", [(f"t{i}", "ab"[i % 2]) for i in range(20)])
    test = write_csv(tmp_path / "test.csv", [("x", "a"), ("y", "c")])
    with pytest.raises(DataError, match="lacks: c"):
        sources.load_texts(_cfg(f"csv:{train}", test_source=f"csv:{test}"), seed=0)


def test_non_utf8_message_names_the_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes("text,label\nfine,a\ncaf\xe9,b\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not UTF-8 text \(line 3: byte 0xe9\)"):
        sources.load_texts(_cfg(f"csv:{path}"), seed=0)


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
    s = sources.load_texts(_cfg(f"dir:{tmp_path / 'train'}", test_source=f"dir:{tmp_path / 'held_out'}"), 0)
    assert s.class_names == ["neg", "pos"] and len(s.test) == 10 and len(s.train) + len(s.val) == 40


def test_dir_fingerprint_follows_the_files(tmp_path):
    root = _class_folders(tmp_path / "d")
    cfg = _cfg(f"dir:{root}")
    before = sources.load_texts(cfg, 0).fingerprint
    (root / "pos" / "3.txt").write_text("an edited review, longer than before", encoding="utf-8")
    assert sources.load_texts(cfg, 0).fingerprint != before


def test_tfds_refuses_test_source():
    with pytest.raises(DataError, match="test_source"):
        sources.load_texts(_cfg("tfds:imdb_reviews", test_source="csv:x.csv"), 0)


# --- What each source reads (no training: the sweeps above prove a source trains end to end) ---


def test_csv_named_columns_are_joined_and_labelled(tmp_path):
    rows = [(t[: len(t) // 2], t[len(t) // 2:], "x", y) for t, y in make_examples(300)]
    path = write_csv(tmp_path / "d.csv", rows, header=("title", "body", "text", "stars"))
    s = sources.load_texts(_cfg(f"csv:{path}", text_column=("title", "body"), label_column="stars"), 0)
    assert s.class_names == ["0", "1"]
    # The cue words are split over title and body: joined back, each text holds both halves.
    halves = {t[: len(t) // 2]: t[len(t) // 2:] for t, _ in make_examples(300)}
    assert all(any(t.startswith(a) and t.endswith(b) for a, b in halves.items()) for t in s.train.text[:10])


def test_csv_integer_labels_sort_numerically(tmp_path):
    rows = [(t, {0: 9, 1: 10, 2: -1}[y]) for t, y in make_examples(300, num_classes=3)]
    path = write_csv(tmp_path / "d.csv", rows)
    assert sources.load_texts(_cfg(f"csv:{path}"), 0).class_names == ["-1", "9", "10"]


def test_csv_quoted_fields_and_test_source(tmp_path):
    def quoted(rows):
        # Commas, quotes and newlines inside the text field.
        return [(f'"{a}", he said,\n{b}', y) for (a, y), (b, _) in zip(rows, rows[1:] + rows[:1],
                                                                        strict=True)]

    train = write_csv(tmp_path / "train.csv", named(quoted(make_examples(300, seed=1))))
    test = write_csv(tmp_path / "test.csv", named(quoted(make_examples(50, seed=2))))
    s = sources.load_texts(_cfg(f"csv:{train}", test_source=f"csv:{test}"), 0)
    assert len(s.train) + len(s.val) == 300 and len(s.test) == 50 and s.class_names == ["neg", "pos"]
    assert all(t.startswith('"') and '", he said,' in t for t in s.test.text)


def test_csv_test_split(tmp_path):
    path = write_csv(tmp_path / "d.csv", named(make_examples(300)))
    assert len(sources.load_texts(_cfg(f"csv:{path}", test_split=0.3), 0).test) == 90


def test_dir_single_folder_three_classes(tmp_path):
    root = write_class_folders(tmp_path / "texts", make_examples(300, num_classes=3))
    s = sources.load_texts(_cfg(f"dir:{root}"), 0)
    assert s.class_names == ["mixed", "neg", "pos"] and len(s.test) == 60
