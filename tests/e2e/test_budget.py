"""Budgets and known starting points: `--max-time` stops a sweep early and cleanly (and can be
raised on resume); `tuner.start_from` trials come first, and are refused outside the space."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import run_cli, tiny_sweep, write_space

SPACE = {"cell": "gru", "vocab_size": 100, "embedding_dim": 8, "hidden_units": 8,
         "learning_rate": {"min": 1e-3, "max": 3e-2, "sampling": "log"}}


def _budgeted(tmp_path, synthetic_csv):
    """`sweep(budget)`: the same 50-trial space under `--max-time budget`; (stdout, trials.csv)."""
    space = write_space(tmp_path / "space.yaml", f"csv:{synthetic_csv}",
                        tuner={"algorithm": "random", "max_trials": 50, "epochs": 1},
                        hyperparameters=SPACE, baseline=False)
    results = tmp_path / "results"

    def sweep(budget: str):
        proc = run_cli("run", str(space), "--results-dir", str(results), "--max-time", budget)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout, pd.read_csv(results / "synthetic" / "trials.csv")

    return sweep, results / "synthetic"


def test_max_time_stops_a_50_trial_sweep_early_and_cleanly(tmp_path, synthetic_csv):
    sweep, run = _budgeted(tmp_path, synthetic_csv)
    out, trials = sweep("5s")
    assert 1 <= len(trials) < 50 and (trials.status == "COMPLETED").all()
    assert "Time budget spent: tuner.max_time 5s reached" in out
    # Ended normally: leaderboard, test result, plots, status finished. (best_curves.png is
    # drawn for any run; hparams.png needs two trials, and a loaded machine may fit one in 5 s.)
    assert "Best trial" in out and (run / "test.json").exists() and (run / "best_curves.png").exists()
    assert json.loads((run / "status.json").read_text())["state"] == "finished"
    # No trial started after the budget: all but the last began within it.
    started = trials.seconds.cumsum() - trials.seconds
    assert (started < 5).all()


# In CI: unit/search/test_oracle.py's test_spent_budget_starts_no_trial_and_counts_across_resumes.
@pytest.mark.battery
def test_a_spent_budget_stays_spent_and_a_raised_one_goes_on(tmp_path, synthetic_csv):
    sweep, _ = _budgeted(tmp_path, synthetic_csv)
    _, trials = sweep("5s")
    # The same budget again: it is spent (counted across runs), so nothing more trains.
    out, same = sweep("5s")
    assert len(same) == len(trials) and "Time budget spent" in out
    # Raised on resume: the sweep goes on.
    out, more = sweep("15s")
    assert len(trials) < len(more) < 50
    assert more.trial_id.head(len(trials)).tolist() == trials.trial_id.tolist()


def test_bad_duration_is_one_line(tmp_path, csv_path):
    space = write_space(tmp_path / "space.yaml", f"csv:{csv_path}")
    proc = run_cli("run", str(space), "--results-dir", str(tmp_path / "r"), "--max-time", "90x")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "sweep run: error: argument --max-time: expected a duration such as 45s, 90m or 2h, "
        "got '90x' (see --help)"]


# In CI: unit/search/test_oracle.py's test_start_from_comes_first_then_the_oracle_draws (no training).
@pytest.mark.battery
def test_start_from_trials_come_first(tmp_path, capsys, synthetic_csv):
    starts = [{"cell": "lstm", "learning_rate": 0.02}, {"learning_rate": 0.002}]
    code, out, run = tiny_sweep(
        tmp_path, capsys, f"csv:{synthetic_csv}",
        tuner={"algorithm": "bayesian", "max_trials": 3, "epochs": 1, "start_from": starts},
        hyperparameters={**SPACE, "cell": ["gru", "lstm"]})
    assert code == 0, out
    trials = pd.read_csv(run / "trials.csv").sort_values("trial_id")
    assert trials.cell.iloc[0] == "lstm" and trials.learning_rate.iloc[0] == 0.02
    assert trials.learning_rate.iloc[1] == 0.002  # its cell drawn
    assert len(trials) == 3


def test_start_from_outside_the_space_is_refused_before_training(tmp_path, capsys, csv_path):
    code, out, run = tiny_sweep(
        tmp_path, capsys, f"csv:{csv_path}",
        tuner={"start_from": [{"learning_rate": 0.5}]}, hyperparameters=SPACE)
    assert code == 2 and not run.exists()
    assert out.strip() == ("sweep: error: tuner.start_from[0].learning_rate: 0.5 is outside the "
                           "space's range 0.001 to 0.03")
