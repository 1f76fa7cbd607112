"""End-to-end `sweep run`: synthetic data in-process, and the real IMDB in a subprocess."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import ROOT, requires_imdb, run_cli, write_space

from sweep import cli

TRIAL_COLUMNS = {"trial_id", "status", "cell", "bidirectional", "vocab_size", "embedding_dim",
                 "hidden_units", "learning_rate", "num_layers", "dropout", "val_accuracy", "val_loss",
                 "epochs_run", "best_epoch", "params", "seconds", "fit_seconds", "overhead_seconds",
                 "peak_rss_mb", "worker", "test_accuracy", "test_loss"}
HISTORY_COLUMNS = ["trial_id", "epoch", "loss", "accuracy", "val_loss", "val_accuracy"]


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    """One small sweep on a learnable synthetic CSV, shared by the checks below."""
    from helpers import make_examples, write_csv

    tmp = tmp_path_factory.mktemp("run")
    data = write_csv(tmp / "data.csv", make_examples(800, seed=3))
    space = write_space(tmp / "space.yaml", f"csv:{data}",
                        tuner={"algorithm": "random", "max_trials": 2, "epochs": 4, "seed": 3},
                        hyperparameters={"cell": ["gru", "lstm"], "bidirectional": [False, True],
                                         "vocab_size": 100, "embedding_dim": 16,
                                         "hidden_units": 16, "learning_rate": 0.01})
    code = cli.main(["run", str(space), "--results-dir", str(tmp / "results")])
    return code, tmp / "results" / "synthetic"


def test_synthetic_sweep_learns(synthetic_run, capsys):
    code, run = synthetic_run
    assert code == 0
    trials = pd.read_csv(run / "trials.csv")
    assert len(trials) == 2 and set(trials.status) == {"COMPLETED"}
    assert TRIAL_COLUMNS <= set(trials.columns)
    assert trials.val_accuracy.max() > 0.8


def test_synthetic_sweep_writes_the_run_folder(synthetic_run):
    _, run = synthetic_run
    for name in ("config.yaml", "trials.csv", "history.csv", "test.json", "best_curves.png",
                 "tuner/oracle.json", "classes.json"):
        assert (run / name).exists(), name
    history = pd.read_csv(run / "history.csv")
    trials = pd.read_csv(run / "trials.csv", dtype={"trial_id": str})
    history["trial_id"] = history.trial_id.astype(str).str.zfill(trials.trial_id.str.len().max())
    assert list(history.columns[:6]) == HISTORY_COLUMNS
    assert not history.duplicated(["trial_id", "epoch"]).any()
    # One history row per epoch run, and the trial's metrics are its best epoch's.
    for t in trials.itertuples():
        h = history[history.trial_id == t.trial_id]
        assert len(h) == t.epochs_run
        assert h.val_accuracy.max() == pytest.approx(t.val_accuracy)
    test = json.loads((run / "test.json").read_text())
    best = trials.loc[trials.val_accuracy.idxmax()]
    assert test["trial_id"] == best.trial_id and 0 <= test["test_accuracy"] <= 1


def test_report_after_run(synthetic_run, capsys):
    _, run = synthetic_run
    assert cli.main(["report", str(run), "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "sweep finished" in out and "rank" in out
    baseline = json.loads((run / "test.json").read_text())["baseline"]
    assert f"vs linear baseline {baseline['test_accuracy']:.4f} on test" in out


@requires_imdb
def test_imdb_grid_one_trial_per_cell(tmp_path):
    """The issue's acceptance run: a 3-trial grid on the real IMDB, with limits."""
    proc = run_cli("run", str(ROOT / "search_spaces" / "cells_grid.yaml"), "--limit-train", "2000",
                   "--limit-eval", "1000", "--epochs", "2", "--results-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "cells_grid"
    trials = pd.read_csv(run / "trials.csv")
    assert sorted(trials.cell) == ["gru", "lstm", "simple_rnn"]
    assert set(trials.status) == {"COMPLETED"} and TRIAL_COLUMNS <= set(trials.columns)
    history = pd.read_csv(run / "history.csv")
    assert len(history) == trials.epochs_run.sum()
    test = json.loads((run / "test.json").read_text())
    assert test["test_examples"] == 1000 and test["test_accuracy"] > 0.5
    assert (run / "best_curves.png").stat().st_size > 10_000
    assert "Best trial" in proc.stdout and "rank" in proc.stdout
    # The linear baseline on the same splits, scored once on the same test reviews, said last.
    baseline = test["baseline"]
    assert baseline["test_examples"] == 1000 and baseline["train_examples"] == 2000
    assert 0.7 < baseline["test_accuracy"] <= 1 and baseline["C"] in (0.5, 2.0, 8.0, 32.0, 128.0)
    assert f"vs linear baseline {baseline['test_accuracy']:.4f}" in proc.stdout.splitlines()[-2]
    # Cells are compared by length on validation; test only for the selected trial.
    by_length = pd.read_csv(run / "length_accuracy.csv", dtype={"trial_id": str})
    assert set(by_length[by_length.split == "val"].cell) == {"gru", "lstm", "simple_rnn"}
    assert set(by_length[by_length.split == "test"].trial_id) == {test["trial_id"]}


def test_a_normal_run_shows_only_the_sweeps_lines(tmp_path):
    """TensorFlow's native notices and Keras' "Invalid loss" line only with --verbose."""
    from helpers import make_examples, write_csv

    data = write_csv(tmp_path / "data.csv", make_examples(200, seed=4))
    space = write_space(tmp_path / "space.yaml", f"csv:{data}",
                        tuner={"algorithm": "grid", "max_trials": 2, "epochs": 1},
                        hyperparameters={"cell": "gru", "learning_rate": [1.0e38, 0.01],
                                         "vocab_size": 100, "embedding_dim": 8, "hidden_units": 8})
    proc = run_cli("run", str(space), "--results-dir", str(tmp_path / "results"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "FAILED" in proc.stdout  # the diverging trial ran, and said so in its own line
    for noise in ("Invalid loss", "oneDNN", "cuda", "I0000", "W0000", "Traceback"):
        assert noise not in proc.stdout + proc.stderr, noise
    verbose = run_cli("run", str(space), "--results-dir", str(tmp_path / "loud"), "--verbose")
    assert verbose.returncode == 0
    assert "invalid loss" in verbose.stdout.lower()
