"""Real tiny sweeps on each kind of data source, and bad data refused before training.

Every sweep runs in-process through `sweep.cli.main` (TensorFlow is imported once for
the module) on a few hundred synthetic examples built in `tmp_path`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_TFDS, make_examples, requires_imdb, run_cli, write_csv, write_space

from sweep import cli

WORDS = {0: "neg", 1: "pos", 2: "mixed"}


def sweep(tmp_path: Path, capsys, source: str | None, *flags: str, **sections):
    """Runs one tiny sweep; returns (exit code, stdout + stderr, run folder)."""
    sections["tuner"] = {"max_trials": 1, "epochs": 2, **sections.get("tuner", {})}
    sections.setdefault("hyperparameters", {
        "cell": "gru", "vocab_size": 100, "embedding_dim": 16, "hidden_units": 16,
        "learning_rate": 0.01,
    })
    space = write_space(tmp_path / "space.yaml", source or "csv:unused.csv", **sections)
    results = tmp_path / "results"
    code = cli.main(["run", str(space), "--results-dir", str(results), *flags])
    out = capsys.readouterr()
    return code, out.out + out.err, results / "synthetic"


def assert_ran(code: int, out: str, run_dir: Path, classes: list[str], test_examples: int | None = None):
    assert code == 0, out
    assert json.loads((run_dir / "classes.json").read_text()) == classes
    trials = pd.read_csv(run_dir / "trials.csv")
    assert (trials.status == "COMPLETED").all() and len(trials) >= 1
    test = json.loads((run_dir / "test.json").read_text())
    if test_examples is not None:
        assert test["test_examples"] == test_examples
    assert f"{len(classes)} classes ({', '.join(classes)})" in out
    # The output layer: one logit for two classes, else one unit per class (softmax).
    best = run_dir / "tuner" / f"trial_{test['trial_id']}" / "checkpoint.weights.h5"
    with h5py.File(best, "r") as f:
        assert f["layers/dense/vars/1"].shape == (1 if len(classes) == 2 else len(classes),)
    return trials, test


def named(rows, names=WORDS):
    return [(text, names[label]) for text, label in rows]


# --- CSV ------------------------------------------------------------------------------


@pytest.mark.slow
def test_csv_auto_detected_columns_string_labels(tmp_path, capsys):
    path = write_csv(tmp_path / "reviews.csv", named(make_examples(300)), header=("id_text", "x"))
    # Unknown column names first: the error lists the columns there are.
    code, out, run_dir = sweep(tmp_path, capsys, f"csv:{path}")
    assert code == 2 and "id_text, x" in out and not run_dir.exists()

    path = write_csv(tmp_path / "reviews.csv", named(make_examples(300)), header=("Review", "Sentiment"))
    code, out, run_dir = sweep(tmp_path, capsys, f"csv:{path}")
    assert_ran(code, out, run_dir, ["neg", "pos"], test_examples=60)  # test_split 0.2 by default


@pytest.mark.slow
def test_csv_named_columns_via_data_flag(tmp_path, capsys):
    rows = [(t[: len(t) // 2], t[len(t) // 2:], "x", y) for t, y in make_examples(300)]
    path = write_csv(tmp_path / "d.csv", rows, header=("title", "body", "text", "stars"))
    code, out, run_dir = sweep(
        tmp_path, capsys, None, "--data", f"csv:{path}",
        data={"text_column": ["title", "body"], "label_column": "stars"},
    )
    assert_ran(code, out, run_dir, ["0", "1"])
    # The cue words are split over title and body: joined back, the model can learn.
    assert "data csv:" in out


@pytest.mark.slow
def test_csv_integer_labels_sort_numerically(tmp_path, capsys):
    rows = [(t, {0: 9, 1: 10, 2: -1}[y]) for t, y in make_examples(300, num_classes=3)]
    path = write_csv(tmp_path / "d.csv", rows)
    code, out, run_dir = sweep(tmp_path, capsys, f"csv:{path}")
    assert_ran(code, out, run_dir, ["-1", "9", "10"])
    assert cli.main(["report", str(run_dir)]) == 0
    assert "Classes: 0=-1, 1=9, 2=10" in capsys.readouterr().out


@pytest.mark.slow
def test_csv_quoted_fields_and_test_source(tmp_path, capsys):
    def quoted(rows):
        # Commas, quotes and newlines inside the text field.
        return [(f'"{a}", he said,\n{b}', y) for (a, y), (b, _) in zip(rows, rows[1:] + rows[:1],
                                                                        strict=True)]

    train = write_csv(tmp_path / "train.csv", named(quoted(make_examples(300, seed=1))))
    test = write_csv(tmp_path / "test.csv", named(quoted(make_examples(50, seed=2))))
    assert len(pd.read_csv(train)) == 300
    code, out, run_dir = sweep(tmp_path, capsys, f"csv:{train}",
                               data={"test_source": f"csv:{test}"})
    assert_ran(code, out, run_dir, ["neg", "pos"], test_examples=50)


@pytest.mark.slow
def test_csv_test_split(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", named(make_examples(300)))
    code, out, run_dir = sweep(tmp_path, capsys, f"csv:{path}", data={"test_split": 0.3})
    assert_ran(code, out, run_dir, ["neg", "pos"], test_examples=90)


@pytest.mark.slow
def test_three_classes_learn_with_softmax(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", named(make_examples(600, num_classes=3)))
    code, out, run_dir = sweep(tmp_path, capsys, f"csv:{path}", tuner={"epochs": 5})
    trials, test = assert_ran(code, out, run_dir, ["mixed", "neg", "pos"])
    # Chance is 1/3; a one-logit model would be stuck well below this.
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
    code, out, run_dir = sweep(tmp_path, capsys, f"dir:{root}", "--limit-train", "200")
    assert_ran(code, out, run_dir, ["neg", "pos"], test_examples=40)


@pytest.mark.slow
def test_dir_single_folder_three_classes(tmp_path, capsys):
    root = write_class_folders(tmp_path / "texts", make_examples(300, num_classes=3))
    code, out, run_dir = sweep(tmp_path, capsys, None, "--data", f"dir:{root}")
    assert_ran(code, out, run_dir, ["mixed", "neg", "pos"], test_examples=60)


# --- tfds -----------------------------------------------------------------------------


@requires_imdb
@pytest.mark.imdb
@pytest.mark.slow
def test_tfds_imdb_with_data_dir(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TFDS_DATA_DIR", raising=False)  # data.data_dir alone must do
    code, out, run_dir = sweep(
        tmp_path, capsys, "tfds:imdb_reviews/plain_text", "--limit-train", "200", "--limit-eval", "100",
        data={"data_dir": str(SHARED_TFDS)},
    )
    assert_ran(code, out, run_dir, ["neg", "pos"], test_examples=100)


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
    import numpy as np
    import tensorflow_datasets as tfds

    from sweep.data import _read_tfds_split

    rows = [(f"{i} caf\u00e9 <br />{text}", label)
            for i, (text, label) in enumerate(make_examples(50, num_classes=3))]
    name = write_tfds(tmp_path / "tfds", {"train": rows}, dataset="sweep_test_reader")
    builder = tfds.builder(name, data_dir=str(tmp_path / "tfds"))
    ds = builder.as_dataset(split="train", as_supervised=True, shuffle_files=False)
    expected = list(tfds.as_numpy(ds))
    text, labels = _read_tfds_split(builder, "train", ("text", "label"))
    assert text == [t for t, _ in expected] and len(text) == 50
    assert labels.tolist() == [int(y) for _, y in expected]
    assert sorted(t.decode().split()[0] for t in text) == sorted(str(i) for i in range(50))
    # Any other file format goes through tfds itself, with the same result.
    monkeypatch.setattr(type(builder.info), "file_format", property(lambda self: None))
    again, labels_again = _read_tfds_split(builder, "train", ("text", "label"))
    assert again == text and np.array_equal(labels_again, labels)


@pytest.mark.slow
def test_tfds_three_classes_from_info(tmp_path, capsys):
    name = write_tfds(tmp_path / "tfds", {"train": make_examples(300, num_classes=3, seed=1),
                                          "test": make_examples(30, num_classes=3, seed=2)})
    code, out, run_dir = sweep(tmp_path, capsys, f"tfds:{name}",
                               data={"data_dir": str(tmp_path / "tfds")})
    assert_ran(code, out, run_dir, ["neg", "pos", "mixed"], test_examples=30)


def test_tfds_unlabeled_split_feeds_word2vec_only(tmp_path, monkeypatch):
    """The unlabeled split is read and encoded for word2vec, capped like train, and never trained on."""
    from sweep import data, embeddings
    from sweep.config import DataConfig

    extra = [(f"extra{i} {text}", -1) for i, (text, _) in enumerate(make_examples(80, seed=3))]
    name = write_tfds(tmp_path / "tfds", {"train": make_examples(100, num_classes=3),
                                          "test": make_examples(20, num_classes=3, seed=2),
                                          "unsupervised": extra}, dataset="sweep_test_unlabeled")
    cfg = DataConfig(source=f"tfds:{name}", data_dir=str(tmp_path / "tfds"), max_length=16,
                     unlabeled_split="unsupervised", limit_train=50)
    sd = data.SweepData(cfg, seed=0, cache_dir=None)
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
    with pytest.raises(data.DataError, match="data.unlabeled_split.*'unsup'.*unsupervised"):
        data.load_texts(bad, 0)


@requires_imdb
@pytest.mark.imdb
@pytest.mark.slow
def test_imdb_word2vec_start_from_unlabeled_reviews(tmp_path, capsys):
    hps = {"cell": "gru", "vocab_size": 500, "embedding_dim": 16, "hidden_units": 8,
           "learning_rate": 0.01, "embedding_init": "word2vec"}
    code, out, run_dir = sweep(tmp_path, capsys, "tfds:imdb_reviews", "--limit-train", "300",
                               "--limit-eval", "100",
                               data={"unlabeled_split": "unsupervised", "data_dir": str(SHARED_TFDS)},
                               hyperparameters=hps)
    trials, _ = assert_ran(code, out, run_dir, ["neg", "pos"], test_examples=100)
    assert trials.embedding_init.tolist() == ["word2vec"]
    assert len(list((run_dir / "cache").glob("word2vec-*-v500-l32-d16.npy"))) == 1


def test_tfds_unknown_dataset(tmp_path, capsys):
    code, out, run_dir = sweep(tmp_path, capsys, "tfds:no_such_dataset_xyz",
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
    code, out, run_dir = sweep(tmp_path, capsys, source, **extra)
    assert code == 2, out
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sweep: error: data."), out
    assert message in lines[0]
    assert not run_dir.exists() and not (tmp_path / "results").exists()


def test_bad_data_is_one_line_on_stderr_of_a_real_process(tmp_path):
    # In-process tests cannot see TensorFlow's start-up logs; a subprocess can.
    (tmp_path / "d.csv").write_text("review,stars\nx,1\n", encoding="utf-8")
    space = write_space(tmp_path / "space.yaml", f"csv:{tmp_path / 'd.csv'}")
    proc = run_cli("run", str(space), "--results-dir", str(tmp_path / "results"), timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("sweep: error: data.label_column: no label column found")
    assert proc.stderr.count("\n") == 1 and "it has review, stars" in proc.stderr
    assert not (tmp_path / "results").exists()
