"""sweep.analysis.results and `sweep report`: rebuilds the CSVs from a run folder and prints a leaderboard.

Uses one real tiny finished run (`small_run`, 3 trials, checked in) and copies of it (`small_run_copy`);
a report on a sweep killed mid-way is in e2e/test_report.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from helpers import board, dead_pid, report

from sweep import cli
from sweep.analysis import results


def test_report_rebuilds_deleted_tables_and_prints_leaderboard(small_run_copy, capsys):
    originals = {n: pd.read_csv(small_run_copy / n) for n in ("trials.csv", "history.csv")}
    run = small_run_copy
    for path in [run / "trials.csv", run / "history.csv", *run.glob("*.png")]:
        path.unlink()

    code, out, err = report(capsys, small_run_copy)

    assert code == 0, err
    for name, original in originals.items():
        pd.testing.assert_frame_equal(pd.read_csv(small_run_copy / name), original)
    assert "sweep finished; 3 trials (3 completed)" in out
    b = board(out)
    assert list(b.columns) == ["rank", "trial_id", "status", "cell", "val_accuracy",
                               "test_accuracy", "epochs_run", "seconds"]
    assert list(b["rank"]) == ["1", "2", "3"]
    assert sorted(b.cell) == ["gru", "lstm", "simple_rnn"]
    assert set(b.epochs_run) == {"2"} and (b.seconds.astype(float) > 0).all()
    # Ranked by the objective, best first; only the best trial has a test accuracy.
    vals = list(b.val_accuracy.astype(float))
    assert vals == sorted(vals, reverse=True)
    test = json.loads((small_run_copy / "test.json").read_text())
    assert b.trial_id[0] == test["trial_id"]
    assert float(b.test_accuracy[0]) == pytest.approx(test["test_accuracy"], abs=1e-4)
    assert b.test_accuracy[1:].isna().all()


def test_report_top_and_sort(small_run, capsys):
    code, out, _ = report(capsys, small_run, "--top", "1")
    assert code == 0
    assert len(board(out)) == 1

    code, out, _ = report(capsys, small_run, "--sort", "seconds")
    assert code == 0
    b = board(out)
    seconds = list(b.seconds.astype(float))
    assert len(seconds) == 3 and seconds == sorted(seconds)  # a cost: smallest first
    trials = pd.read_csv(small_run / "trials.csv", dtype={"trial_id": str})
    assert b.trial_id[0] == trials.loc[trials.seconds.idxmin(), "trial_id"]


def test_report_bad_sort_column_is_one_line_exit_2(small_run, capsys):
    code, out, err = report(capsys, small_run, "--sort", "val_acuracy")
    assert code == 2
    assert err.count("\n") == 1 and "--sort" in err and "val_accuracy" in err


@pytest.mark.parametrize("what", ["empty folder", "missing folder", "a file"])
def test_report_on_something_not_a_run_is_one_line_exit_2(tmp_path, capsys, what):
    target = tmp_path / "x"
    if what == "empty folder":
        target.mkdir()
    elif what == "a file":
        target.write_text("not a run")
    code, out, err = report(capsys, target)
    assert code == 2
    assert err.startswith("sweep: error: ") and err.count("\n") == 1
    assert out == ""


def test_plot_on_something_not_a_run_is_one_line_exit_2(tmp_path, capsys):
    assert cli.main(["plot", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_report_marks_a_dead_running_sweep_interrupted(small_run_copy, capsys):
    trial_json = small_run_copy / "tuner" / "trial_2" / "trial.json"
    trial = json.loads(trial_json.read_text())
    trial["status"] = "RUNNING"
    trial_json.write_text(json.dumps(trial))
    status = json.loads((small_run_copy / "status.json").read_text())
    status.update(state="running", pid=dead_pid())
    (small_run_copy / "status.json").write_text(json.dumps(status))

    code, out, _ = report(capsys, small_run_copy)

    assert code == 0
    assert "sweep interrupted" in out
    trials = pd.read_csv(small_run_copy / "trials.csv", dtype={"trial_id": str}).set_index("trial_id")
    assert trials.status.to_dict() == {"0": "COMPLETED", "1": "COMPLETED", "2": "INTERRUPTED"}
    assert board(out).set_index("trial_id").at["2", "status"] == "INTERRUPTED"


def test_a_trial_saved_before_a_hyperparameter_existed_shows_its_default(small_run_copy):
    trial_json = small_run_copy / "tuner" / "trial_0" / "trial.json"
    trial = json.loads(trial_json.read_text())
    del trial["hyperparameters"]["values"]["embedding_dropout"]
    trial_json.write_text(json.dumps(trial))
    trials = results.trials_dataframe(small_run_copy).set_index("trial_id")
    assert trials.embedding_dropout.tolist() == [0.0, 0.0, 0.0]
    assert trials.at["0", "cell"] == "simple_rnn"


def test_report_on_a_copied_folder_reports_the_same(small_run, tmp_path, capsys):
    copy = Path(shutil.copytree(small_run, tmp_path / "elsewhere" / "renamed"))
    (copy / "trials.csv").unlink()
    _, original, _ = report(capsys, small_run)
    code, copied, _ = report(capsys, copy)
    assert code == 0
    assert copied.replace(str(copy), "RUN") == original.replace(str(small_run), "RUN")
    pd.testing.assert_frame_equal(pd.read_csv(copy / "trials.csv"),
                                  pd.read_csv(small_run / "trials.csv"))


def test_best_epoch_is_keras_tuners_best_step_plus_one(small_run):
    """trials.csv's best epoch and its metrics are those of the epoch KerasTuner checkpointed."""
    trials = results.trials_dataframe(small_run).set_index("trial_id")
    steps = {}
    for trial_dir in sorted((small_run / "tuner").glob("trial_*")):
        saved = json.loads((trial_dir / "trial.json").read_text())
        tid = trial_dir.name.removeprefix("trial_")
        steps[tid] = saved["best_step"]
        assert trials.loc[tid, "best_epoch"] == saved["best_step"] + 1
        kept = saved["metrics"]["metrics"]["val_accuracy"]["observations"][0]["value"][0]
        assert trials.loc[tid, "val_accuracy"] == pytest.approx(kept)
    assert set(steps.values()) == {0, 1}  # a best epoch before the last one is checked too
