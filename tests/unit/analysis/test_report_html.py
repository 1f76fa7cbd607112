"""sweep.analysis.report_html: report.html from any run folder, `sweep report --html`, the
report at the end of `sweep run`. What a browser makes of the page is in
tests/e2e/test_report_browser.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from helpers import report, synthetic_run

from sweep import lifecycle, rundir
from sweep.analysis import report_html
from sweep.rundir import RunDir

CHART_IDS = [key for key, _ in report_html.CHARTS]


def charts(page: str) -> list[str]:
    return re.findall(r'<div class="chart" id="chart-(\w+)"', page)


def figures(page: str) -> dict:
    text = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S).group(1)
    return json.loads(text.replace("<\\/", "</"))


def leaderboard_ids(page: str) -> list[str]:
    table = re.search(r'<table id="leaderboard".*?</table>', page, re.S).group(0)
    return re.findall(r'<tr data-order="\d+"[^>]*><td data-v="[^"]*">[^<]*</td><td data-v="([^"]*)"', table)


@pytest.fixture(scope="module")
def run60(tmp_path_factory) -> Path:
    return synthetic_run(tmp_path_factory.mktemp("html") / "syn60", trials=60, failed=4)


def test_every_section_of_a_60_trial_run_with_failures(run60):
    path = report_html.write_report(run60)
    page = path.read_text()

    assert path == run60 / "report.html"
    assert charts(page) == CHART_IDS  # every chart, in page order
    assert set(figures(page)) == set(CHART_IDS)
    assert len(leaderboard_ids(page)) == 60
    failed = re.search(r'<table id="failed-trials".*?</table>', page, re.S).group(0)
    assert failed.count(">loss became nan</td>") == 4  # the failed trials, with their reasons
    assert "validation accuracy (fraction correct), higher is better" in page
    assert "sweep finished" in page and "60: 56 completed, 4 failed" in page
    # Self-contained: no file or script is fetched from anywhere.
    assert not re.search(r'<(script|link|img)[^>]+(src|href)=', page)
    importance = figures(page)["importance"]["data"][0]
    assert importance["y"][-1] == "cell"  # the largest share on top (bars drawn bottom-up)
    # Learning curves: a line per completed trial and panel, each named on hover, the selected
    # trial (test.json's) the one drawn thick.
    selected = json.loads((run60 / "test.json").read_text())["trial_id"]
    lines = figures(page)["curves"]["data"]
    assert len(lines) == 56 * 2
    assert all(t["hovertemplate"].startswith(f"trial {t['legendgroup']}: cell=") for t in lines)
    assert {t["legendgroup"] for t in lines if t["line"]["width"] == 3} == {selected}
    # Parallel coordinates: each varying hyperparameter, then the objective.
    dims = figures(page)["parallel"]["data"][0]["dimensions"]
    varying = rundir.load_config(RunDir(run60)).varying()
    assert len(varying) == 6
    assert [d["label"].replace("<br>", " ").split(" ")[0] for d in dims] == [*varying, "validation"]


def test_a_two_trial_run_says_importance_needs_more_trials(tmp_path):
    run = synthetic_run(tmp_path / "two", trials=2)
    page = report_html.write_report(run).read_text()

    assert "importance" not in charts(page)
    assert re.search(r'data-empty="importance">Only 2 completed trials: too few to say', page)
    assert {"history", "parallel", "curves", "cells"} <= set(charts(page))


def test_a_folder_copied_without_tuner_reports_from_its_csvs(run60, tmp_path):
    copy = Path(shutil.copytree(run60, tmp_path / "copy"))
    report_html.write_report(copy)  # the CSVs are those of the full run
    from sweep.analysis import results

    results.write_tables(copy)
    shutil.rmtree(copy / "tuner")

    page = report_html.write_report(copy, tmp_path / "elsewhere.html").read_text()

    assert "no tuner/ (copied without it)" in page and "reporting read-only" in page
    assert len(leaderboard_ids(page)) == 60
    assert charts(page) == CHART_IDS


def test_a_running_sweep_is_reported_as_it_stands(tmp_path):
    run = synthetic_run(tmp_path / "live", trials=12)
    trial = run / "tuner" / "trial_011" / "trial.json"
    trial.write_text(json.dumps({**json.loads(trial.read_text()), "status": "RUNNING"}))
    (run / "test.json").unlink()
    (run / "length_accuracy.csv").unlink()
    (run / "status.json").write_text(json.dumps({"state": "running", "pid": os.getpid(),
                                                 "host": os.uname().nodename, "time": time.time()}))
    page = report_html.write_report(run).read_text()

    assert "sweep running" in page and "11 completed, 1 running" in page
    assert re.search(r'data-empty="length">Not measured yet', page)
    assert "history" in charts(page)


def test_report_html_flag_writes_the_page(run60, tmp_path, capsys):
    code, out, err = report(capsys, run60, "--html")
    assert code == 0, err
    assert f"Report: {run60 / 'report.html'}" in out

    target = tmp_path / "sub" / "mine.html"
    code, out, err = report(capsys, run60, "--html", str(target))
    assert code == 0, err
    assert charts(target.read_text()) == CHART_IDS


def test_report_html_to_a_path_that_cannot_be_written_is_one_line_exit_2(run60, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, out, err = report(capsys, run60, "--html", str(blocker / "report.html"))
    assert code == 2
    assert err.startswith("sweep: error: cannot write the report to") and err.count("\n") == 1


def test_a_report_that_fails_is_a_warning_not_a_failed_sweep(run60, monkeypatch):
    said = []

    def broken(*args, **kwargs):
        raise ValueError("no luck")

    monkeypatch.setattr(report_html, "write_report", broken)
    assert lifecycle.write_report(RunDir(run60), say=said.append) == []
    assert said and said[0].startswith("Warning: report.html not written (ValueError: no luck)")


@pytest.mark.slow  # finished_run trains a sweep
def test_a_real_sweep_ends_with_its_report(finished_run):
    page = (finished_run / "report.html").read_text()
    assert "sweep finished" in page
    assert set(charts(page)) >= {"history", "parallel", "curves", "cells", "length"}
    assert "Only 3 completed trials" in page


def test_the_python_api_writes_it_and_gives_importance(run60, tmp_path):
    import sweep

    run = sweep.load(run60)
    path = run.html(tmp_path / "api.html")
    assert path == tmp_path / "api.html" and charts(path.read_text()) == CHART_IDS
    shares = run.importance()
    assert shares.hyperparameter.iloc[0] == "cell" and shares.attrs["note"] is None
    few = sweep.load(synthetic_run(tmp_path / "few", trials=3)).importance()
    assert few.empty and few.attrs["note"].startswith("Only 3 completed trials")


def test_report_html_flag_on_a_copy_without_tuner_reads_its_csvs(run60, tmp_path, capsys):
    from sweep.analysis import results

    copy = Path(shutil.copytree(run60, tmp_path / "copy"))
    results.write_tables(copy)
    shutil.rmtree(copy / "tuner")

    code, out, err = report(capsys, copy, "--html", str(tmp_path / "copy.html"))

    assert code == 0, err
    page = (tmp_path / "copy.html").read_text()
    assert "no tuner/ (copied without it)" in page and len(leaderboard_ids(page)) == 60
