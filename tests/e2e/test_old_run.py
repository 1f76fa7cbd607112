"""A run folder made by rnn-sweep 0.1 (before the modules were split) still reports and resumes.

tests/data/run_made_by_0.1 was written by `sweep run tests/data/space_made_by_0.1.yaml` at
commit bb2f1ea (PNGs and cache left out), on a CSV that `make_examples(200, seed=5)` makes
again here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from helpers import ROOT, make_examples, run_cli, run_main, write_csv

OLD_RUN = ROOT / "tests" / "data" / "run_made_by_0.1"
OLD_SPACE = ROOT / "tests" / "data" / "space_made_by_0.1.yaml"


def _copy(tmp_path: Path) -> Path:
    run = tmp_path / "results" / "old_run"
    shutil.copytree(OLD_RUN, run)
    return run


def test_an_old_run_reports_with_the_same_columns_and_figures(tmp_path, capsys):
    run = _copy(tmp_path)
    before = pd.read_csv(run / "trials.csv")
    code, out, err = run_main(["report", run], capsys)
    assert code == 0, err[-2000:]
    assert "sweep finished; 2 trials (2 completed)" in out
    after = pd.read_csv(run / "trials.csv")
    assert list(after.columns) == list(before.columns)
    pd.testing.assert_frame_equal(after, before)
    code, _, err = run_main(["plot", run], capsys)
    assert code == 0, err[-2000:]
    assert (run / "best_curves.png").exists()


def test_an_old_run_resumes(tmp_path):
    run = _copy(tmp_path)
    write_csv(tmp_path / "old.csv", make_examples(200, seed=5))  # the saved source: csv:old.csv
    space = shutil.copy(OLD_SPACE, tmp_path / "old.yaml")
    old = pd.read_csv(run / "trials.csv")
    proc = run_cli("run", str(space), "--results-dir", "results", "--max-trials", "3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Resuming sweep 'old_run'" in proc.stdout
    trials = pd.read_csv(run / "trials.csv")
    assert list(trials.trial_id) == [0, 1, 2]
    assert (trials.status == "COMPLETED").all()
    assert list(trials.cell) == ["gru", "lstm", "simple_rnn"]  # the grid goes on where it was
    kept = trials[trials.trial_id < 2].reset_index(drop=True)
    pd.testing.assert_series_equal(kept.seconds, old.seconds)  # not run again
