"""The Python API (`sweep.run`, `sweep.load`, `Run`, `sweep.predict`) on tiny real sweeps.

Each call trains for real on synthetic CSV data, in this process, as a notebook would.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import HUGE_LR, make_examples, write_csv, write_space
from matplotlib.figure import Figure

import sweep
from sweep import progress
from sweep.errors import in_python_words

# Columns that measure time or memory: they differ between two runs of the same space.
MEASURED = ["seconds", "fit_seconds", "overhead_seconds", "peak_rss_mb"]


def _space(folder: Path, **tuner) -> Path:
    """conftest's `finished_run`'s space (but its data's path): the same trials, by the API."""
    data = write_csv(folder / "reviews.csv", make_examples(400, seed=3))
    return write_space(folder / "space.yaml", f"csv:{data}",
                       tuner={"algorithm": "grid", "max_trials": 3, "epochs": 2, **tuner},
                       hyperparameters={"cell": ["simple_rnn", "lstm", "gru"], "vocab_size": 100,
                                        "embedding_dim": 8, "hidden_units": 8, "learning_rate": 0.01})


@pytest.fixture(scope="module")
def api_run(tmp_path_factory) -> tuple[Path, sweep.Run]:
    """One finished three-trial grid, made with `sweep.run`; tests copy it to change it."""
    tmp = tmp_path_factory.mktemp("api")
    space = _space(tmp)
    return space, sweep.run(space, results_dir=tmp / "results")


def test_run_returns_the_finished_run_and_its_tables(api_run):
    space, run = api_run
    assert isinstance(run, sweep.Run) and run.path.name == "synthetic"
    assert run.status == "finished"
    assert run.config.name == "synthetic" and run.config.tuner.max_trials == 3
    assert sorted(run.trials.cell) == ["gru", "lstm", "simple_rnn"]
    assert set(run.trials.status) == {"COMPLETED"}
    # history: one row per trial x epoch, as history.csv.
    assert len(run.history) == int(run.trials.epochs_run.sum())
    written = pd.read_csv(run.path / "trials.csv", dtype={"trial_id": str})
    assert list(written.trial_id) == list(run.trials.trial_id)
    best = run.best
    assert best is not None and best.val_accuracy == run.trials.val_accuracy.max()
    assert run.test is not None and run.test["trial_id"] == best.trial_id
    board = run.report(top=2)
    assert list(board.trial_id) == list(run.trials.sort_values("val_accuracy", ascending=False,
                                                               kind="stable").trial_id[:2])
    assert "cell" in board and board["rank"].tolist() == [1, 2]
    view = run._repr_html_()
    assert "sweep finished" in view and "3 completed" in view and "<table" in view
    assert "Best trial" in view


def test_the_api_and_the_cli_make_the_same_trials(api_run, finished_run):
    """`finished_run` is the same space run by `sweep run` in a subprocess."""
    _, run = api_run
    by_cli = pd.read_csv(finished_run / "trials.csv").drop(columns=MEASURED)
    by_api = pd.read_csv(run.path / "trials.csv").drop(columns=MEASURED)
    pd.testing.assert_frame_equal(by_api, by_cli)


def test_plot_gives_figures_and_writes_nothing(api_run):
    _, run = api_run
    before = {p: p.stat().st_mtime_ns for p in run.path.glob("*.png")}
    every = run.plot()
    assert {"best_curves", "hparams", "cells"} <= set(every)
    assert all(isinstance(f, Figure) for f in every.values())
    assert "data:image/png;base64," in every._repr_html_()
    cells = run.plot("cells")
    assert isinstance(cells, Figure) and "cell" in cells.axes[0].get_title()
    assert {p: p.stat().st_mtime_ns for p in run.path.glob("*.png")} == before
    with pytest.raises(sweep.UsageError, match="unknown plot 'curves'; expected one of best_curves"):
        run.plot("curves")
    with pytest.raises(sweep.UsageError, match="no data for the confirm plot"):
        run.plot("confirm")


def test_a_copied_read_only_run_loads_reports_and_plots(api_run, tmp_path):
    _, run = api_run
    copy = Path(shutil.copytree(run.path, tmp_path / "elsewhere" / "synthetic"))
    for folder, _, files in os.walk(copy):
        for name in files:
            os.chmod(Path(folder) / name, stat.S_IRUSR)
        os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
    try:
        loaded = sweep.load(copy)
        assert loaded.status == "finished" and loaded.path == copy
        pd.testing.assert_frame_equal(loaded.trials, run.trials)
        assert loaded.report(top=1).trial_id.iloc[0] == run.best.trial_id
        assert isinstance(loaded.plot("best_curves"), Figure)
    finally:
        for folder, _, _ in os.walk(copy):
            os.chmod(folder, stat.S_IRWXU)


def test_a_run_copied_without_its_tuner_folder_reads_its_csvs(api_run, tmp_path):
    _, run = api_run
    copy = tmp_path / "csvs" / "synthetic"
    copy.mkdir(parents=True)
    for name in ("config.yaml", "trials.csv", "history.csv", "status.json", "test.json"):
        shutil.copy(run.path / name, copy / name)
    loaded = sweep.load(copy)
    assert loaded.trials.trial_id.tolist() == run.trials.trial_id.tolist()
    assert len(loaded.history) == len(run.history) > 0
    assert loaded.report(top=1).trial_id.iloc[0] == run.best.trial_id


def test_keyboard_interrupt_leaves_a_run_the_same_call_resumes(tmp_path, monkeypatch):
    space = _space(tmp_path, max_trials=2, epochs=1)
    results = tmp_path / "results"
    begin = progress.SweepProgress.trial_begin

    def interrupt_the_second(self, trial_id, values):
        if self.ended == 1:
            raise KeyboardInterrupt
        begin(self, trial_id, values)

    monkeypatch.setattr(progress.SweepProgress, "trial_begin", interrupt_the_second)
    with pytest.raises(KeyboardInterrupt, match="resume with the same command"):
        sweep.run(space, results_dir=results)
    stopped = sweep.load(results / "synthetic")
    assert stopped.status == "interrupted"
    assert list(stopped.trials.status[stopped.trials.status == "COMPLETED"]) == ["COMPLETED"]
    first = stopped.trials.iloc[0]

    monkeypatch.setattr(progress.SweepProgress, "trial_begin", begin)
    resumed = sweep.run(space, results_dir=results)
    assert resumed.status == "finished" and list(resumed.trials.status) == ["COMPLETED"] * 2
    kept = ["trial_id", "cell", "val_accuracy", "val_loss", "epochs_run"]
    assert resumed.trials.iloc[0][kept].tolist() == first[kept].tolist()


def test_a_dict_space_with_overrides_resumes_with_more_trials(tmp_path):
    spec = yaml.safe_load(_space(tmp_path).read_text())
    spec["tuner"].update(algorithm="random", max_trials=1, epochs=1)
    first = sweep.run(spec, results_dir=tmp_path / "r", name="from_dict")
    assert first.path == tmp_path / "r" / "from_dict" and len(first.trials) == 1
    again = sweep.run(spec, results_dir=tmp_path / "r", name="from_dict", max_trials=2)
    assert len(again.trials) == 2
    assert again.trials.trial_id.iloc[0] == first.trials.trial_id.iloc[0]
    assert again.config.tuner.max_trials == 2


def test_confirm_export_and_predict(confirmed, tmp_path):
    """On a copy of the run `sweep confirm --top 2 --seeds 2` confirmed (conftest): the API's
    confirm reads its repeats back (training none again) into `sweep confirm`'s verdict."""
    confirmed_run, proc = confirmed
    run = sweep.load(shutil.copytree(confirmed_run, tmp_path / "synthetic"))
    repeats = (run.path / "confirm.csv").read_bytes()
    summary = run.confirm(top=2, seeds=2)
    assert (run.path / "confirm.csv").read_bytes() == repeats  # nothing trained again
    # The same verdict, in the API's words (keywords where the command says flags).
    assert summary.attrs["verdict"] in in_python_words(" ".join(proc.stdout.split()))
    assert len(summary) == 2 and (summary.seeds == 2).all()
    assert list(summary.columns[:2]) == ["rank", "trial_id"] and "mean" in summary
    assert "interval" in summary.attrs["verdict"]
    assert (run.path / "confirm.csv").exists() and "confirmed" in run.test
    assert isinstance(run.plot("confirm"), Figure)

    folder = run.export()
    assert folder == run.path / "export" / f"trial_{run.best.trial_id}"
    assert (folder / "model.keras").is_file() and (folder / "classes.json").is_file()
    texts = ["w1 w2 great w3", "w4 awful w5 w6"]
    table = sweep.predict(folder, texts)
    assert list(table.columns) == ["row", "predicted", "prob_0", "prob_1"]
    assert table.prob_0.add(table.prob_1).round(5).eq(1).all()
    # A run, or a pandas Series, give the same table.
    pd.testing.assert_frame_equal(sweep.predict(run, pd.Series(texts)), table)
    with pytest.raises(sweep.UsageError, match="got one string"):
        sweep.predict(folder, "great film")
    with pytest.raises(sweep.UsageError, match="no trial '99'"):
        run.export(trial="99")


def test_errors_are_exceptions_never_system_exit(tmp_path, csv_path):
    space = _space(tmp_path)
    with pytest.raises(sweep.UsageError, match=r"unknown override 'max_trial'; expected one of .*max_trials"):
        sweep.run(space, max_trial=3)
    with pytest.raises(sweep.UsageError, match="tuner.max_trials"):
        sweep.run(space, results_dir=tmp_path / "r", max_trials=0)
    with pytest.raises(sweep.UsageError, match="no such space file"):
        sweep.run(tmp_path / "missing.yaml")
    with pytest.raises(sweep.UsageError, match="^data: "):
        sweep.run(space, results_dir=tmp_path / "r", data="ftp:reviews")
    with pytest.raises(sweep.UsageError, match="no such"):
        sweep.run(space, results_dir=tmp_path / "r", data=f"csv:{tmp_path / 'gone.csv'}")
    assert not (tmp_path / "r" / "synthetic").exists()  # nothing ran
    with pytest.raises(sweep.UsageError, match="not a run folder|no config.yaml|not a sweep"):
        sweep.load(tmp_path)
    with pytest.raises(sweep.UsageError, match="seeds: expected an integer of 2 or more"):
        sweep.Run.confirm(_NoRun(), seeds=1)  # type: ignore[arg-type]


class _NoRun:
    """Stands in for a Run where an argument is refused before the run is read."""


def test_too_many_failures_raise_run_failed(tmp_path):
    data = write_csv(tmp_path / "reviews.csv", make_examples(200, seed=3))
    space = write_space(tmp_path / "space.yaml", f"csv:{data}",
                        tuner={"algorithm": "grid", "max_trials": 3, "epochs": 1,
                               "max_consecutive_failed_trials": 2},
                        hyperparameters={"cell": "simple_rnn", "learning_rate": HUGE_LR,
                                         "hidden_units": [4, 8, 12]})
    with pytest.raises(sweep.RunFailed, match="stopped after 2 failed trials in a row"):
        sweep.run(space, results_dir=tmp_path / "r")
    assert sweep.load(tmp_path / "r" / "synthetic").status == "failed"
