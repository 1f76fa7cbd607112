"""`sweep export` and `sweep predict` end to end: a model that reads raw text, loadable
without this project, scoring test as the sweep did; predictions from the shell."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, main_refused, make_examples, run_cli, write_csv, write_space

from sweep import rundir
from sweep.data.sources import load_texts

# Loads an export in a Python where `import sweep` fails, scores the given texts with
# model.keras and saved_model's `serve`, and prints both as JSON.
FRESH = textwrap.dedent("""
    import json, sys

    class NoSweep:
        def find_spec(self, name, path=None, target=None):
            if name == "sweep" or name.startswith("sweep."):
                raise ImportError("this process must not import rnn-sweep")

    sys.meta_path.insert(0, NoSweep())
    import numpy as np, keras, tensorflow as tf

    folder, texts_file = sys.argv[1], sys.argv[2]
    texts = json.load(open(texts_file))
    model = keras.saving.load_model(folder + "/model.keras")
    keras_probs = model.predict(np.array(texts, dtype=object), batch_size=64, verbose=0)
    loaded = tf.saved_model.load(folder + "/saved_model")  # kept: it owns the variables
    served = loaded.serve(tf.constant(texts)).numpy()
    print(json.dumps({"keras": keras_probs.tolist(), "served": served.tolist()}))
""")

SPACES = {
    # two classes, every pooling path that export rebuilds: bidirectional, masked max + mean
    2: {"cell": "gru", "bidirectional": True, "pooling": "max_mean", "vocab_size": 100,
        "embedding_dim": 8, "hidden_units": 8, "learning_rate": 0.01},
    # three classes, one-way LSTM on its final state, two layers
    3: {"cell": "lstm", "bidirectional": False, "pooling": "last", "num_layers": 2,
        "vocab_size": 100, "embedding_dim": 8, "hidden_units": 8, "learning_rate": 0.01},
}


def _exported_run(classes: int, folder: Path):
    """A finished two-trial sweep on synthetic text, its best trial exported."""
    write_csv(folder / "data.csv", make_examples(240, num_classes=classes, seed=3))
    space = write_space(folder / "space.yaml", "csv:data.csv", hyperparameters=SPACES[classes],
                        data={"test_split": 0.25},
                        tuner={"max_trials": 2, "epochs": 2, "algorithm": "random",
                               # a metric compiled beside accuracy, in the checkpoint too
                               "objective": "val_accuracy" if classes == 2 else "val_f1"})
    proc = run_cli("run", str(space), "--results-dir", "results", cwd=folder)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    run = folder / "results" / "synthetic"
    proc = run_cli("export", str(run), cwd=folder)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    test = json.loads((run / "test.json").read_text())
    return run, run / "export" / f"trial_{test['trial_id']}", test


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """classes -> (run, export folder, test.json), each made once for the module."""
    made: dict[int, tuple] = {}

    def get(classes: int):
        if classes not in made:
            made[classes] = _exported_run(classes, tmp_path_factory.mktemp(f"export{classes}"))
        return made[classes]

    return get


@pytest.fixture(params=[2, pytest.param(3, marks=pytest.mark.battery)], ids=["2-classes", "3-classes"])
def exported(request, sweeps):
    """Two classes and three (`make test-battery`; in CI, unit/serve/test_export.py checks
    three classes' raw-text model in process): for what must hold for any number of classes."""
    return sweeps(request.param)


@pytest.fixture
def exported2(sweeps):
    """Two classes: for the rest."""
    return sweeps(2)


def _test_texts(run: Path) -> tuple[list[str], np.ndarray]:
    cfg = rundir.load_config(rundir.RunDir(run))
    with contextlib.chdir(run.parent.parent):  # where the sweep ran: csv:data.csv
        splits = load_texts(cfg.data, cfg.tuner.seed)
    return [str(t) for t in splits.test.text], splits.test.labels


def _fresh(folder: Path, texts: list[str], tmp: Path) -> dict:
    (tmp / "texts.json").write_text(json.dumps(texts))
    proc = subprocess.run([sys.executable, "-c", FRESH, str(folder), str(tmp / "texts.json")],
                          capture_output=True, text=True, timeout=300, cwd=tmp,
                          env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_export_reads_raw_text_in_a_python_without_this_project(exported, tmp_path):
    run, folder, test = exported
    texts, labels = _test_texts(run)
    out = _fresh(folder, texts, tmp_path)
    probs, served = np.array(out["keras"]), np.array(out["served"])
    classes = json.loads((folder / "classes.json").read_text())
    assert probs.shape == (len(texts), len(classes))  # two columns for two classes
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    # The same examples as test.json, scored from their raw text.
    assert len(texts) == test["test_examples"]
    assert abs((probs.argmax(1) == labels).mean() - test["test_accuracy"]) <= 0.002
    np.testing.assert_allclose(served, probs, atol=1e-4)


def test_the_card_says_what_the_model_is(exported2):
    run, folder, test = exported2
    card = json.loads((folder / "model_card.json").read_text())
    assert card["trial_id"] == test["trial_id"] and card["exported"] == "checkpoint"
    assert card["checkpoint"]["test"]["test_accuracy"] == test["test_accuracy"]
    assert card["data"]["source"] == "csv:data.csv"
    assert card["data"]["standardize"] == "lower_and_strip_punctuation"
    assert card["selected_epoch"] in (1, 2) and card["refit"] is None
    assert card["hyperparameters"]["cell"] in ("gru", "lstm")
    assert card["harness"].startswith("rnn-sweep ") and len(card["date"]) == 10
    md = (folder / "model_card.md").read_text()
    assert f"{test['test_accuracy']:.4f}" in md and "keras.saving.load_model" in md


def test_predict_on_a_csv_gives_the_exported_models_probabilities(exported, tmp_path):
    run, folder, _ = exported
    texts, _ = _test_texts(run)
    texts = texts[:40] + ["", "ÜNÏCÖDÉ ☃ 日本語", " ".join(["word"] * 3000)]  # empty, non-ASCII, very long
    expected = np.array(_fresh(folder, texts, tmp_path)["keras"])
    frame = pd.DataFrame({"id": range(len(texts)), "review": texts})
    frame.to_csv(tmp_path / "in.csv", index=False)
    proc = run_cli("predict", str(folder), "--input", str(tmp_path / "in.csv"),
                   "--text-column", "review", "--batch-size", "7")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (tmp_path / "out.csv").write_text(proc.stdout)
    got = pd.read_csv(tmp_path / "out.csv")
    classes = json.loads((folder / "classes.json").read_text())
    assert list(got.columns) == ["row", "predicted"] + [f"prob_{c}" for c in classes]
    assert list(got.row) == list(range(len(texts)))  # input order
    np.testing.assert_allclose(got[[f"prob_{c}" for c in classes]].to_numpy(), expected, atol=1e-4)
    assert list(got.predicted.astype(str)) == [str(classes[i]) for i in expected.argmax(1)]


def test_predict_from_the_run_folder_texts_and_stdin(exported2, tmp_path):
    run, folder, _ = exported2
    by_args = run_cli("predict", str(run), "good film", "")
    assert by_args.returncode == 0, by_args.stderr[-2000:]
    by_stdin = run_cli("predict", run, "-", stdin="good film\n\n")
    assert by_stdin.returncode == 0, by_stdin.stderr[-2000:]
    assert by_args.stdout == by_stdin.stdout and len(by_args.stdout.splitlines()) == 3


@pytest.mark.parametrize("args, message", [
    (["--input", "missing.csv"], "--input: no such file"),
    (["--input", "in.csv", "--text-column", "nope"], "--text-column: no column 'nope'"),
    (["--input", "latin1.txt"], "is not UTF-8 text"),
    ([], "give texts, --input FILE"),
])
def test_predict_refuses_bad_input_in_one_line(exported2, tmp_path, monkeypatch, capsys, args, message):
    _, folder, _ = exported2
    (tmp_path / "in.csv").write_text("text\nfine\n")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    monkeypatch.chdir(tmp_path)
    main_refused(["predict", folder, *args], capsys, message)


def test_export_refuses_unknown_and_unfinished_trials(exported2, capsys):
    run, _, _ = exported2
    main_refused(["export", run, "--trial", "99"], capsys, "no trial '99'")


def test_refit_trains_on_train_and_validation_and_shows_both_figures(exported2, tmp_path):
    run, _, test = exported2
    proc = run_cli("export", str(run), "--refit", "--out", str(tmp_path / "refit"), cwd=run.parent.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    card = json.loads((tmp_path / "refit" / "model_card.json").read_text())
    refit, checkpoint = card["refit"], card["checkpoint"]["test"]
    assert card["exported"] == "refit" and refit["epochs"] == card["selected_epoch"]
    trials = pd.read_csv(run / "trials.csv")
    assert refit["train_examples"] > 0 and checkpoint["test_accuracy"] == test["test_accuracy"]
    assert 0 <= refit["test_accuracy"] <= 1 and refit["test_examples"] == test["test_examples"]
    assert "refit on train + validation" in (tmp_path / "refit" / "model_card.md").read_text()
    assert len(trials)  # the run itself is untouched by a refit
    texts, labels = _test_texts(run)
    probs = np.array(_fresh(tmp_path / "refit", texts, tmp_path)["keras"])
    assert abs((probs.argmax(1) == labels).mean() - refit["test_accuracy"]) <= 0.002


# In CI: test_old_run.py reports and resumes the same 0.1 run; the exports of today's runs above.
@pytest.mark.battery
def test_a_run_made_by_0_1_exports_from_its_data_source(tmp_path):
    """No vocabulary was saved then: it is adapted again from the source; 0.1's own
    standardization cannot be a model.keras, so the SavedModel carries the model."""
    import shutil

    run = Path(shutil.copytree(ROOT / "tests" / "data" / "run_made_by_0.1", tmp_path / "results" / "old_run"))
    proc = run_cli("export", str(run), cwd=tmp_path)
    assert proc.returncode == 2 and "its data is not there" in proc.stderr, proc.stderr
    write_csv(tmp_path / "old.csv", make_examples(200, seed=5))  # the saved source: csv:old.csv
    proc = run_cli("export", str(run), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "no model.keras" in proc.stderr
    folder = run / "export" / "trial_1"
    assert (folder / "saved_model").is_dir() and not (folder / "model.keras").exists()
    assert json.loads((folder / "model_card.json").read_text())["data"]["standardize"] == "sweep_0.1"
    texts, labels = _test_texts(run)
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n")
    proc = run_cli("predict", str(folder), "--input", str(tmp_path / "texts.txt"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    (tmp_path / "out.csv").write_text(proc.stdout)
    got = pd.read_csv(tmp_path / "out.csv")
    test = json.loads((run / "test.json").read_text())
    accuracy = (got.predicted.astype(str).to_numpy() == np.array(["0", "1"])[labels]).mean()
    assert abs(accuracy - test["test_accuracy"]) <= 0.002
