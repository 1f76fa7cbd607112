"""sweep.analysis.importance: fANOVA shares over a run's completed trials, and `sweep report`'s line.

The synthetic runs (helpers.synthetic_run) make the cell decide most of the validation
accuracy, then the learning rate; the shares must find that.
"""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import report, synthetic_run

from sweep import rundir
from sweep.analysis import importance, results
from sweep.rundir import RunDir


@pytest.fixture(scope="module")
def run60(tmp_path_factory) -> RunDir:
    return RunDir(synthetic_run(tmp_path_factory.mktemp("imp") / "syn60", trials=60, failed=5))


def test_shares_find_the_cell_then_the_learning_rate(run60):
    cfg = rundir.load_config(run60)
    trials, _ = results.read_tables(run60)
    got = importance.importance(trials, cfg)

    assert got.note is None
    assert got.trials == 55  # completed only: the 5 failed trials are left out
    table = got.table
    assert set(table.hyperparameter) == set(cfg.varying())
    assert list(table.hyperparameter[:2]) == ["cell", "learning_rate"]
    assert table.share.iloc[0] > 0.5
    assert table.share.sum() == pytest.approx(1.0, abs=1e-6)
    assert ((table.low <= table.share + 1e-9) & (table.share <= table.high + 1e-9)).all()
    # Seeded: the same tables give the same shares.
    pd.testing.assert_frame_equal(importance.importance(trials, cfg).table, table)


def test_too_few_completed_trials_is_a_sentence_not_numbers(run60):
    cfg = rundir.load_config(run60)
    trials, _ = results.read_tables(run60)
    few = trials[trials.status.eq("FAILED") | trials.index.isin(range(4))]

    got = importance.importance(few, cfg)

    assert got.table.empty and got.trials == 4
    assert "Only 4 completed trials: too few to say which hyperparameters matter" in got.note
    assert importance.summary_line(got, "val_accuracy").startswith("Importance: Only 4 completed")


def test_trials_outside_the_space_are_left_out(run60):
    cfg = rundir.load_config(run60)
    trials, _ = results.read_tables(run60)
    edited = trials.copy()
    edited.loc[edited.index[:3], "cell"] = "transformer"  # not a choice of the space
    built = importance.optuna_trials(edited, cfg, "val_accuracy")
    done = edited.status.eq("COMPLETED")
    assert len(built) == done.sum() - done[:3].sum()


def test_report_prints_the_three_most_important(run60, capsys):
    code, out, err = report(capsys, run60)
    assert code == 0, err
    line = next(ln for ln in out.splitlines() if ln.startswith("Importance"))
    assert "55 completed trials" in line and "val_accuracy" in line
    named = line.split("): ", 1)[1]
    assert named.startswith("cell ") and named.count("%)") == 3


def test_report_on_a_run_too_small_says_so(tmp_path, capsys):
    run = synthetic_run(tmp_path / "two", trials=2)
    code, out, _ = report(capsys, run)
    assert code == 0
    assert "Importance: Only 2 completed trials: too few" in out


def test_a_small_run_does_not_import_optuna(tmp_path):
    """Every sweep writes report.html at its end: a run too small for importance pays no Optuna import."""
    import subprocess
    import sys

    from helpers import ROOT

    run = synthetic_run(tmp_path / "three", trials=3)
    code = ("import sys; from sweep import rundir; from sweep.analysis import importance, results; "
            f"r = rundir.RunDir({str(run)!r}); t, _ = results.read_tables(r); "
            "print(importance.importance(t, rundir.load_config(r)).note); print('optuna' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""}).stdout.splitlines()
    assert out == ["Only 3 completed trials: too few to say which hyperparameters matter (importance "
                   "needs about 10 or more).", "False"]
