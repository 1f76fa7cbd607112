"""End-to-end `sweep run`: the session's finished run on synthetic data, and the real IMDB."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import ROOT, requires_imdb, run_cli

from sweep import cli

TRIAL_COLUMNS = {"trial_id", "status", "cell", "bidirectional", "vocab_size", "embedding_dim",
                 "hidden_units", "learning_rate", "num_layers", "dropout", "val_accuracy", "val_loss",
                 "epochs_run", "best_epoch", "params", "seconds", "fit_seconds", "overhead_seconds",
                 "peak_rss_mb", "worker", "test_accuracy", "test_loss"}
HISTORY_COLUMNS = ["trial_id", "epoch", "loss", "accuracy", "val_loss", "val_accuracy"]


def test_synthetic_sweep_learns(finished_run):
    run = finished_run
    trials = pd.read_csv(run / "trials.csv")
    assert len(trials) == 3 and set(trials.status) == {"COMPLETED"}
    assert TRIAL_COLUMNS <= set(trials.columns)
    assert trials.val_accuracy.max() > 0.8


def test_synthetic_sweep_writes_the_run_folder(finished_run):
    run = finished_run
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


def test_report_after_run(finished_run, tmp_path, capsys):
    assert cli.main(["report", str(finished_run), "--top", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "sweep finished" in out and "rank" in out
    baseline = json.loads((finished_run / "test.json").read_text())["baseline"]
    assert f"vs linear baseline {baseline['test_accuracy']:.4f} on test" in out


# In CI: test_imdb.py's sweeps read the prepared IMDB through tfds; finished_run is a grid over
# the cells.
@pytest.mark.battery
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


def test_a_normal_run_shows_only_the_sweeps_lines(failed_run, tmp_path):
    """TensorFlow's native notices and Keras' "Invalid loss" line only with --verbose."""
    proc, _, space = failed_run
    assert "FAILED" in proc.stdout  # the diverging trial ran, and said so in its own line
    for noise in ("Invalid loss", "oneDNN", "cuda", "I0000", "W0000", "Traceback"):
        assert noise not in proc.stdout + proc.stderr, noise
    verbose = run_cli("run", str(space), "--results-dir", str(tmp_path / "loud"), "--verbose")
    assert verbose.returncode == 0
    assert "invalid loss" in verbose.stdout.lower()
