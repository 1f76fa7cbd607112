"""The read model: one read of a run, and one answer to each question about it, wherever asked.

Each test pins a disagreement the commands, the API and report.html had before they read
through `RunRecord` (issue 28).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from helpers import synthetic_run

from sweep import api, cli
from sweep.analysis import report_html, results
from sweep.analysis.record import RunRecord
from sweep.rundir import RunDir, testjson
from sweep.rundir.lock import RunLock
from sweep.serve import export
from sweep.space import config


@pytest.fixture
def run_with_odd_trials(tmp_path: Path) -> tuple[Path, str]:
    """12 trials copied without tuner/ (read from trials.csv): one completed with an infinite
    objective, another tied with the true best; no test.json, so nothing selected on test yet."""
    run = synthetic_run(tmp_path / "odd", trials=12, failed=2, seed=3)
    (run / "test.json").unlink()
    trials, _ = results.write_tables(RunDir(run))
    shutil.rmtree(run / "tuner")
    done = trials[trials.status == "COMPLETED"].sort_values("val_accuracy", ascending=False, kind="stable")
    best, runner_up, last = done.index[0], done.index[1], done.index[-1]
    trials.loc[last, "val_accuracy"] = float("inf")
    trials.loc[runner_up, "val_accuracy"] = trials.loc[best, "val_accuracy"]  # a tie
    trials.to_csv(run / "trials.csv", index=False)
    first = str(trials.loc[min(best, runner_up), "trial_id"])  # the first of equals in the table's order
    return run, first


def test_a_trial_without_a_finite_objective_is_listed_not_ranked(tmp_path):
    run = synthetic_run(tmp_path / "inf", trials=4, seed=1)
    path = run / "tuner" / "trial_002" / "epochs.csv"
    epochs = pd.read_csv(path)
    epochs["val_accuracy"] = float("inf")  # every epoch: no best epoch
    epochs.to_csv(path, index=False)
    record = RunRecord.read(run)
    row = record.trial("002")
    assert row is not None and row.status == "COMPLETED" and pd.isna(row.val_accuracy)
    assert "002" not in set(record.completed().trial_id)


def test_completed_means_a_finite_objective(run_with_odd_trials):
    run, _ = run_with_odd_trials
    record = RunRecord.read(run)
    done = record.completed()
    assert len(done) == 9  # 12 trials, 2 failed, 1 infinite
    assert done.val_accuracy.map(lambda v: v == v and abs(v) != float("inf")).all()
    board = record.leaderboard(top=12)
    assert board["rank"].notna().sum() == 9
    inf_row = board[board.val_accuracy.astype(str) == "inf"]
    assert len(inf_row) == 1 and pd.isna(inf_row["rank"].iloc[0])  # listed, never ranked


def test_the_best_trial_is_the_same_for_every_reader(run_with_odd_trials):
    run, first = run_with_odd_trials
    record = RunRecord.read(run)
    assert str(record.best().trial_id) == first
    assert record.selected_id() == first  # nothing scored on test yet: the best
    assert str(record.leaderboard(top=1).trial_id.iloc[0]) == first
    assert str(api.load(run).best.trial_id) == first
    assert str(export.choose_trial(RunDir(run)).trial_id) == first
    page = report_html.render(RunDir(run))
    assert re.search(rf"selected trial</th><td>trial {first}:", page)


def test_the_selected_trial_is_the_one_scored_on_test(run_with_odd_trials):
    run, first = run_with_odd_trials
    other = next(t for t in RunRecord.read(run).completed().trial_id if t != first)
    (run / "test.json").write_text(json.dumps({"trial_id": other, "test_accuracy": 0.8, "test_loss": 0.4,
                                               "test_examples": 100}))
    record = RunRecord.read(run)
    assert record.selected_id() == other and str(record.best().trial_id) == first


def test_a_copy_without_tuner_is_read_from_its_csvs_by_every_command(small_run, tmp_path, capsys):
    run = Path(shutil.copytree(small_run, tmp_path / "copy"))
    shutil.rmtree(run / "tuner")
    record = RunRecord.read(run)
    assert record.read_only and "copied without it" in record.read_only
    assert len(record.trials) == 3 and len(record.history) > 0
    assert cli.main(["report", str(run)]) == 0
    captured = capsys.readouterr()
    assert record.state_line() in captured.out and "read-only" in captured.err
    names = record.class_names()
    assert names and f"Classes: {', '.join(f'{i}={n}' for i, n in enumerate(names))}" in captured.out
    assert len(api.load(run).trials) == 3


def test_the_status_sentence_is_one(run_with_odd_trials, capsys):
    run, _ = run_with_odd_trials
    record = RunRecord.read(run)
    sentence = record.state_line()
    assert sentence == "sweep finished; 12 trials (10 completed, 2 failed)"
    assert cli.main(["report", str(run)]) == 0
    assert sentence in capsys.readouterr().out
    assert sentence in api.load(run)._repr_html_()
    assert "10 completed, 2 failed" in report_html.render(RunDir(run))


def test_the_saved_space_is_parsed_once_per_report(run_with_odd_trials, monkeypatch, capsys):
    run, _ = run_with_odd_trials
    parsed = []
    real = config.from_dict
    monkeypatch.setattr(config, "from_dict", lambda *a, **k: parsed.append(1) or real(*a, **k))
    assert cli.main(["report", str(run)]) == 0
    assert len(parsed) == 1
    parsed.clear()
    assert cli.main(["plot", str(run)]) == 0
    assert len(parsed) == 1


def _confirm_table(page: str) -> int:
    """Rows of report.html's confirm table (its header excluded)."""
    table = page[page.index('id="confirm-table"'):]
    return table[:table.index("</table>")].count("<tr") - 1


def test_the_confirm_summary_is_the_last_confirms_question_for_every_reader(small_run, tmp_path):
    run = Path(shutil.copytree(small_run, tmp_path / "run"))
    record = RunRecord.read(run)
    ids = list(record.completed().trial_id)
    seed = record.config.tuner.seed
    rows = [{"trial_id": t, "rank": r, "repeat": k, "seed": 100 + k, "split_seed": split,
             "val_accuracy": 0.7 + 0.01 * r + 0.001 * k, "best_epoch": 1, "epochs_run": 2, "seconds": 1.0}
            for r, t in enumerate(ids, start=1) for k in (1, 2, 3) for split in (seed, 100 + k)]
    pd.DataFrame(rows).to_csv(run / "confirm.csv", index=False)
    # No saved question (a run confirmed before 0.4): every repeat.
    summary = RunRecord.read(run).confirm_summary()
    assert summary is not None and len(summary) == len(ids) and set(summary.seeds) == {6}
    # `sweep confirm --top 2 --seeds 2` after a larger one: its repeats, on the sweep's split.
    with RunLock(RunDir(run)):  # as `sweep confirm` holds the run
        testjson.record_confirm_plan(RunDir(run), {"top": 2, "seeds": 2, "resplit": False})
    summary = RunRecord.read(run).confirm_summary()
    assert summary is not None and len(summary) == 2 and set(summary.seeds) == {2}
    assert _confirm_table(report_html.render(RunDir(run))) == 2
    assert "confirm" in api.load(run).plot()
    # ... and with --resplit, the repeats on their own splits only.
    with RunLock(RunDir(run)):
        testjson.record_confirm_plan(RunDir(run), {"top": 1, "seeds": 3, "resplit": True})
    rows = RunRecord.read(run).confirm_rows()
    assert rows is not None and len(rows) == 3 and (rows.split_seed == rows.seed).all()
