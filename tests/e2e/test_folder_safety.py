"""Trust what a sweep says: real `sweep` processes against damaged, shared, full or busy folders.

Every sweep here is tiny (300 synthetic reviews, max_length 32, vocab 100, width 8, a few
one-epoch trials) but runs as users run it: `python -m sweep` in a subprocess, with its
exit code, its stderr and its run folder checked. Faults are injected by faulty.py
(`enospc:NAME[:N]`, `sigint-at:NAME`, or a SIGKILL from here).

Most tests share one real run with failed trials (conftest's `failed_run`, made once per
session) and otherwise stop before training; the long tail is marked `battery`.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import (
    HUGE_LR,
    TIMEOUT,
    dead_pid,
    logged,
    main_refused,
    make_examples,
    no_traceback,
    one_line,
    run_cli,
    run_main,
    start_cli,
    tree,
    write_csv,
    write_space,
)

from sweep import cli, rundir
from sweep.metrics import METRIC_COLUMNS
from sweep.rundir import RunDir, atomic

HPS = {"cell": ["lstm", "gru"], "vocab_size": 100, "embedding_dim": 8, "hidden_units": 8,
       "learning_rate": 0.01}


# --- Helpers ---------------------------------------------------------------------------


def tiny_space(folder: Path, hyperparameters: dict | None = None, n: int = 300, **tuner) -> Path:
    """A grid sweep (cell x learning_rate by default) on `n` synthetic reviews."""
    csv = folder / "reviews.csv"
    if not csv.exists():
        write_csv(csv, make_examples(n, seed=1))
    settings = {"algorithm": "grid", "max_trials": 2, "epochs": 1, "seed": 1, **tuner}
    return write_space(folder / "space.yaml", f"csv:{csv}", tuner=settings,
                       hyperparameters=hyperparameters or dict(HPS))


def run_with_fault(space: Path, tmp_path: Path, fault: str, code: int):
    """`sweep run` with `fault` (tests/e2e/faulty.py); it must exit `code` without a traceback.

    Returns (the results folder, the run folder, the finished process).
    """
    results = tmp_path / "results"
    proc = run_cli("run", space, "--results-dir", results, fault=fault)
    assert proc.returncode == code, proc.stdout[-2000:] + proc.stderr[-3000:]
    no_traceback(proc)
    return results, results / "synthetic", proc


def state(run: Path) -> str | None:
    """status.json's state as written (None when there is none)."""
    path = run / "status.json"
    return json.loads(path.read_text())["state"] if path.exists() else None


def trials_csv(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "trials.csv", dtype={"trial_id": str})


def trial_statuses(run: Path) -> dict[str, str]:
    """KerasTuner's own record, trial by trial."""
    out = {}
    for d in sorted((run / "tuner").glob("trial_*")):
        out[d.name.removeprefix("trial_")] = json.loads((d / "trial.json").read_text())["status"]
    return out


def leftovers(run: Path) -> list[Path]:
    """Temporary files of save_atomic left in the run folder tree."""
    return sorted(run.rglob(".*.tmp*"))


def printed_board(out: str) -> pd.DataFrame:
    """The leaderboard a command printed, read by column position (blank cells are None).

    From its header to the last row; the columns are right-aligned, so each
    ends where its header does.
    """
    lines = out.splitlines()
    start_at = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["rank", "trial_id"])
    # the rows, each led by a rank or a trial id (the importance line after the table is not one)
    end = next((i for i in range(start_at + 1, len(lines))
                if not lines[i].strip() or not lines[i].split()[0].isdigit()), len(lines))
    header = lines[start_at]
    ends = [m.end() for m in re.finditer(r"\S+", header)]
    rows = []
    for line in lines[start_at + 1 : end]:
        line = line.ljust(ends[-1])
        rows.append([line[a:b].strip() or None for a, b in zip([0, *ends[:-1]], ends, strict=True)])
    return pd.DataFrame(rows, columns=header.split(), dtype=object)


# --- One real run with failed trials, shared (conftest's `failed_run`) ---------------


def copy_of(failed_run, tmp_path: Path) -> Path:
    _, run, _ = failed_run
    return Path(shutil.copytree(run, tmp_path / "results" / "synthetic"))


# --- 1. Failed trials are never scored ------------------------------------------------


def test_a_failed_trial_is_never_scored(failed_run):
    proc, run, _ = failed_run
    trials = trials_csv(run)
    assert len(trials) == 3
    failed, completed = trials[trials.status == "FAILED"], trials[trials.status == "COMPLETED"]
    assert len(failed) and len(completed), trials
    assert (failed.learning_rate == HUGE_LR).all() and (completed.learning_rate == 3e-3).all()
    lonely = set(failed.cell) - set(completed.cell)
    assert lonely, "the grid should leave one cell with only a failed trial"
    assert failed.reason.str.contains("loss became").all(), failed.reason
    # A failed trial's figures are those of a broken model: none is in trials.csv.
    blank = [*METRIC_COLUMNS, "best_epoch", "test_accuracy", "test_loss"]
    assert failed[blank].isna().all().all(), failed[blank]
    assert completed.val_accuracy.notna().all()

    # The leaderboards (the sweep's own, and `sweep report`'s) rank completed trials only.
    report = run_cli("report", run)
    assert report.returncode == 0, report.stderr
    for out in (proc.stdout, report.stdout):
        shown = printed_board(out).set_index("trial_id")
        assert shown.loc[list(failed.trial_id), ["rank", "val_accuracy"]].isna().all().all(), shown
        assert sorted(shown.loc[list(completed.trial_id), "rank"]) == \
            [str(i) for i in range(1, len(completed) + 1)]

    # The winner and the length analysis come from completed trials only.
    test = json.loads((run / "test.json").read_text())
    assert test["trial_id"] in set(completed.trial_id)
    by_length = pd.read_csv(run / "length_accuracy.csv", dtype={"trial_id": str})
    assert set(by_length.trial_id) <= set(completed.trial_id)
    assert not set(by_length.cell) & lonely


# In CI: test_too_many_failures_fail_in_one_line_and_a_higher_limit_resumes (every trial fails).
@pytest.mark.battery
def test_a_sweep_whose_every_trial_fails_ends_cleanly(tmp_path):
    space = tiny_space(tmp_path, {**HPS, "learning_rate": HUGE_LR}, max_trials=2,
                       max_consecutive_failed_trials=3)
    run = tmp_path / "results" / "synthetic"
    proc = run_cli("run", space, "--results-dir", tmp_path / "results")
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    no_traceback(proc)
    if proc.returncode == 1:
        one_line(proc.stderr)
    assert state(run) == ("finished" if proc.returncode == 0 else "failed")
    assert not (run / "test.json").exists()
    assert set(trial_statuses(run).values()) == {"FAILED"}

    report = run_cli("report", run)
    assert report.returncode == 0, report.stderr
    assert "2 failed" in report.stdout
    assert printed_board(report.stdout)["rank"].isna().all()
    plot = run_cli("plot", run, "--out", tmp_path / "plots")
    assert plot.returncode == 0, plot.stderr
    no_traceback(plot)


# --- 1 and 2. Too many failures; more allowed on resume --------------------------------


def test_too_many_failures_fail_in_one_line_and_a_higher_limit_resumes(tmp_path):
    hps = {**HPS, "cell": ["simple_rnn", "lstm", "gru"], "learning_rate": HUGE_LR}
    space = tiny_space(tmp_path, hps, max_trials=3, max_consecutive_failed_trials=2)
    results = tmp_path / "results"
    run = results / "synthetic"
    proc = run_cli("run", space, "--results-dir", results)
    assert proc.returncode == 1, proc.stderr[-3000:]
    line = one_line(proc.stderr)
    assert "stopped after 2 failed trials in a row" in line and "loss became" in line
    assert state(run) == "failed"
    assert "trials.csv" in line and len(trial_statuses(run)) == 2
    # A failed sweep leaves its report too, saying so, with each failed trial's reason.
    page = (run / "report.html").read_text()
    assert "sweep failed" in page
    failed = re.search(r'<table id="failed-trials".*?</table>', page, re.S).group(0)
    assert failed.count("<tr data-order") == 2 and "loss became" in failed

    # The same space file, edited to allow more failures in a row: resumed, not refused.
    spec = yaml.safe_load(space.read_text())
    spec["tuner"]["max_consecutive_failed_trials"] = 5
    space.write_text(yaml.safe_dump(spec, sort_keys=False))
    again = run_cli("run", space, "--results-dir", results)
    assert again.returncode != 2, again.stderr
    assert "different space" not in again.stderr
    no_traceback(again)
    assert "Resuming sweep" in again.stdout
    assert list(trial_statuses(run).values()) == ["FAILED"] * 3  # the third trial ran
    assert state(run) == ("finished" if again.returncode == 0 else "failed")


# --- 3. One sweep per folder ----------------------------------------------------------


def test_overwrite_refuses_a_folder_that_is_not_a_run(tmp_path, csv_path, capsys):
    space = write_space(tmp_path / "space.yaml", f"csv:{csv_path}")
    precious = tmp_path / "results" / "precious"
    precious.mkdir(parents=True)
    (precious / "thesis.txt").write_text("four years")
    code, _, err = run_main(["run", space, "--results-dir", tmp_path / "results", "--name", "precious",
                             "--overwrite"], capsys)
    assert code == 2, err
    assert "not a run folder" in one_line(err)
    assert (precious / "thesis.txt").read_text() == "four years"
    assert sorted(p.name for p in precious.iterdir()) == ["thesis.txt"]


def test_overwrite_refuses_a_folder_whose_config_yaml_is_not_a_sweep(tmp_path):
    """config.yaml is a common name: another tool's file does not make a run folder."""
    space = tiny_space(tmp_path, {**HPS, "cell": "gru"}, max_trials=1)
    precious = tmp_path / "results" / "precious"
    precious.mkdir(parents=True)
    (precious / "thesis.txt").write_text("four years")
    (precious / "config.yaml").write_text("latex:\n  engine: lualatex\n")
    proc = run_cli("run", space, "--results-dir", tmp_path / "results", "--name", "precious",
                 "--overwrite")
    assert (precious / "thesis.txt").exists(), "--overwrite deleted a folder that was not a run"
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "not a run folder" in one_line(proc.stderr)


def _hold_lock(path: Path, pid: int | None = None):
    """Holds `path`'s flock as a live sweep does; returns the open descriptor."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, json.dumps({"host": socket.gethostname(), "pid": pid or os.getpid(),
                             "started": time.time()}).encode())
    return fd


def test_a_locked_folder_is_refused_before_anything_runs(failed_run, tmp_path):
    """The holder simulated by this process (the real race is the test below)."""
    run = copy_of(failed_run, tmp_path)
    _, _, space = failed_run
    (run / "lock").unlink()
    before = tree(run)
    fd = _hold_lock(run / "lock")
    try:
        for flags in ([], ["--overwrite"]):
            proc = run_cli("run", space, "--results-dir", run.parent, *flags, timeout=120)
            assert proc.returncode == 2, proc.stderr
            line = one_line(proc.stderr)
            assert f"in use by process {os.getpid()} " in line, line
    finally:
        os.close(fd)
    after = tree(run)
    after.pop("lock")
    assert after == before  # nothing deleted, nothing written


# In CI: test_a_locked_folder_is_refused_before_anything_runs (the holder simulated here).
@pytest.mark.battery
def test_two_sweeps_on_one_folder(tmp_path):
    hps = {**HPS, "cell": ["simple_rnn", "lstm", "gru"]}
    space = tiny_space(tmp_path, hps, n=600, max_trials=3, epochs=3, early_stopping_patience=3)
    results = tmp_path / "results"
    run = results / "synthetic"
    first = start_cli("run", space, "--results-dir", results, log=tmp_path / "first")
    try:
        deadline = time.monotonic() + TIMEOUT
        while not ((run / "lock").exists() and state(run) == "running"):
            assert first.poll() is None, logged(tmp_path / "first")
            assert time.monotonic() < deadline, "the first sweep never started"
            time.sleep(0.2)
        second = run_cli("run", space, "--results-dir", results, timeout=120)
        assert second.returncode == 2, second.stderr
        assert f"in use by process {first.pid} " in one_line(second.stderr)

        before = {p for p in tree(run) if not Path(p).name.startswith(".")}
        config = (run / "config.yaml").read_bytes()
        wipe = run_cli("run", space, "--results-dir", results, "--overwrite", timeout=120)
        assert wipe.returncode == 2, wipe.stderr
        assert f"in use by process {first.pid} " in one_line(wipe.stderr)
        assert before <= set(tree(run)), before - set(tree(run))
        assert (run / "config.yaml").read_bytes() == config
        assert first.poll() is None, "the first sweep ended before the checks: make it longer"
        assert first.wait(timeout=TIMEOUT) == 0, logged(tmp_path / "first")
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert state(run) == "finished"
    trials = trials_csv(run)
    assert len(trials) == 3 and (trials.status == "COMPLETED").all(), trials


@pytest.mark.battery
def test_a_lock_left_by_a_killed_sweep_is_taken_over(tmp_path):
    space = tiny_space(tmp_path, epochs=2)
    results = tmp_path / "results"
    run = results / "synthetic"
    first = start_cli("run", space, "--results-dir", results, log=tmp_path / "first")
    try:
        deadline = time.monotonic() + TIMEOUT
        epochs = run / "tuner" / "trial_0" / "epochs.csv"
        while not (epochs.exists() and len(epochs.read_text().splitlines()) >= 2):
            assert first.poll() is None, logged(tmp_path / "first")
            assert time.monotonic() < deadline, "the sweep never reached its first epoch"
            time.sleep(0.1)
    finally:
        first.kill()
        first.wait()
    assert json.loads((run / "lock").read_text())["pid"] == first.pid
    proc = run_cli("run", space, "--results-dir", results)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"Note: took over the lock of process {first.pid} " in proc.stdout
    assert state(run) == "finished"
    assert set(trial_statuses(run).values()) == {"COMPLETED"}


def test_a_cleanly_finished_sweep_leaves_no_lock_to_take_over(failed_run, tmp_path, capsys):
    """Resuming after a clean finish is not news: no 'took over the lock' note."""
    run = copy_of(failed_run, tmp_path)
    _, _, space = failed_run
    code, out, err = run_main(["run", space, "--results-dir", run.parent], capsys)
    assert code == 0, err[-3000:]
    assert "Resuming sweep" in out
    assert "took over the lock" not in out, out


# --- 4. Damaged files -----------------------------------------------------------------


@pytest.mark.parametrize("name, keep", [("oracle.json", 0.5), ("tuner0.json", 0)])
def test_damaged_kerastuner_state_is_refused_in_one_line(failed_run, tmp_path, capsys, name, keep):
    """In this process (test_an_empty_trial_json_is_refused_... runs `sweep run` for real)."""
    run = copy_of(failed_run, tmp_path)
    _, _, space = failed_run
    damaged = run / "tuner" / name
    damaged.write_bytes(damaged.read_bytes()[: int(damaged.stat().st_size * keep)])
    main_refused(["run", space, "--results-dir", run.parent], capsys, f"tuner/{name}")
    assert state(run) != "running" and rundir.run_state(RunDir(run)) != "running"
    code, out, err = run_main(["report", run], capsys)  # the report does not need KerasTuner's state
    assert code == 0, err
    assert "3 trials" in out


def test_an_empty_trial_json_is_refused_by_run_and_listed_by_report(failed_run, tmp_path, capsys):
    run = copy_of(failed_run, tmp_path)
    _, _, space = failed_run
    (run / "tuner" / "trial_1" / "trial.json").write_text("")
    proc = run_cli("run", space, "--results-dir", run.parent)
    assert proc.returncode == 2, proc.stderr[-3000:]
    no_traceback(proc)
    assert "trial_1/trial.json" in one_line(proc.stderr)
    assert state(run) != "running"

    code, out, err = run_main(["report", run], capsys)
    assert code == 0, err
    trials = trials_csv(run).set_index("trial_id")
    assert sorted(trials.index) == ["0", "1", "2"]  # listed, not dropped
    assert trials.at["1", "status"] == "UNREADABLE"
    assert "empty" in trials.at["1", "reason"]
    shown = printed_board(out).set_index("trial_id")
    assert shown.at["1", "status"] == "UNREADABLE" and pd.isna(shown.at["1", "rank"])


def test_a_trial_folder_without_trial_json_is_refused_by_run(failed_run, tmp_path, capsys):
    """KerasTuner numbers a new trial by the trials it loaded: one lost trial.json and the
    next trial takes an existing trial's id (and folder)."""
    run = copy_of(failed_run, tmp_path)
    _, _, space = failed_run
    (run / "tuner" / "trial_1" / "trial.json").unlink()
    kept = (run / "tuner" / "trial_2" / "trial.json").read_bytes()
    code, out, err = run_main(["run", space, "--results-dir", run.parent, "--max-trials", "4"], capsys)
    assert (run / "tuner" / "trial_2" / "trial.json").read_bytes() == kept, \
        "trial 2's record was overwritten by a new trial"
    assert "Traceback" not in out + err
    assert code == 2, err[-3000:]
    assert "trial_1/trial.json" in one_line(err)

    code, _, err = run_main(["report", run], capsys)
    assert code == 0, err
    trials = trials_csv(run).set_index("trial_id")
    assert trials.at["1", "status"] == "UNREADABLE" and "missing" in trials.at["1", "reason"]


@pytest.mark.parametrize("text", ["name: [unclosed\n", "just a string\n",
                                  "name: synthetic\nhyperparameters: {}\nwhat: 1\n"])
def test_a_malformed_config_yaml_is_one_line_for_report(failed_run, tmp_path, capsys, text):
    run = copy_of(failed_run, tmp_path)
    (run / "config.yaml").write_text(text)
    for command in ("report", "plot"):
        main_refused([command, run], capsys, "config.yaml")


def test_a_malformed_config_yaml_is_one_line_for_run(failed_run, tmp_path, capsys):
    run = copy_of(failed_run, tmp_path)
    _, _, space = failed_run
    (run / "config.yaml").write_text("name: [unclosed\n")
    main_refused(["run", space, "--results-dir", run.parent], capsys, "config.yaml")
    assert state(run) != "running"


def test_a_truncated_token_cache_is_rebuilt_on_resume(failed_run, tmp_path):
    """The grid has a 4th cell (gru, 3e-3): `--max-trials 4` trains it on the cache."""
    run = copy_of(failed_run, tmp_path)
    _, _, space = failed_run
    (cache,) = (run / "cache").glob("tokens-*.npz")
    cache.write_bytes(cache.read_bytes()[:100])
    cut = time.time()
    proc = run_cli("run", space, "--results-dir", run.parent, "--max-trials", "4")
    assert proc.returncode == 0, proc.stderr[-3000:]
    no_traceback(proc)
    assert "Resuming sweep" in proc.stdout
    assert trial_statuses(run)["3"] == "COMPLETED"
    assert cache.stat().st_mtime > cut  # made again, whole
    with np.load(cache) as f:
        assert {"train_ids", "val_ids", "test_ids"} <= set(f.files)


@pytest.mark.battery
def test_truncated_word2vec_and_token_caches_are_rebuilt_on_resume(tmp_path):
    hps = {**HPS, "embedding_init": "word2vec"}
    space = tiny_space(tmp_path, hps, max_trials=1)
    results = tmp_path / "results"
    run = results / "synthetic"
    proc = run_cli("run", space, "--results-dir", results)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (tokens,) = (run / "cache").glob("tokens-*.npz")
    (vectors,) = (run / "cache").glob("word2vec-*.npy")
    for path in (tokens, vectors):
        path.write_bytes(path.read_bytes()[:100])
    proc = run_cli("run", space, "--results-dir", results, "--max-trials", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    no_traceback(proc)
    assert list(trial_statuses(run).values()) == ["COMPLETED", "COMPLETED"]
    matrix = np.load(vectors)
    assert matrix.shape == (100, 8) and np.isfinite(matrix).all()
    with np.load(tokens) as f:
        assert "train_ids" in f.files


# --- 5. A folder that cannot be written -----------------------------------------------


@pytest.fixture
def read_only(failed_run, tmp_path, monkeypatch):
    """A copy of the run whose folder refuses writes (EROFS), even to root."""
    run = copy_of(failed_run, tmp_path)
    real = atomic.save_atomic

    def save_atomic(path, save):
        if Path(path).resolve().is_relative_to(run.resolve()):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real(path, save)

    monkeypatch.setattr(atomic, "save_atomic", save_atomic)  # behind every writer
    return run


def test_report_on_a_read_only_folder(read_only, tmp_path, capsys):
    before = tree(read_only)
    assert cli.main(["report", str(read_only)]) == 0
    out, err = capsys.readouterr()
    assert "sweep finished; 3 trials" in out and "rank" in out
    assert "note: cannot write" in err and "Read-only file system" in err and "--out" in err
    assert len(err.strip().splitlines()) == 1

    out_dir = tmp_path / "elsewhere"
    assert cli.main(["report", str(read_only), "--out", str(out_dir)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "rank" in out
    assert len(pd.read_csv(out_dir / "trials.csv")) == 3
    assert (out_dir / "history.csv").exists()
    assert tree(read_only) == before


def test_plot_on_a_read_only_folder(read_only, tmp_path, capsys):
    before = tree(read_only)
    assert cli.main(["plot", str(read_only)]) == 2
    _, err = capsys.readouterr()
    line = one_line(err)
    assert "cannot write the plots" in line and "--out" in line
    out_dir = tmp_path / "plots"
    assert cli.main(["plot", str(read_only), "--out", str(out_dir)]) == 0
    assert (out_dir / "best_curves.png").stat().st_size > 1000
    assert tree(read_only) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a chmod-ed folder anyway")
def test_report_on_a_folder_made_read_only_with_chmod(failed_run, tmp_path):
    run = copy_of(failed_run, tmp_path)
    folders = [run, *(p for p in run.rglob("*") if p.is_dir())]
    for d in folders:
        d.chmod(0o555)
    try:
        proc = run_cli("report", run)
        assert proc.returncode == 0, proc.stderr
        assert "note: cannot write" in one_line(proc.stderr)
        plot = run_cli("plot", run)
        assert plot.returncode == 2 and "cannot write the plots" in one_line(plot.stderr)
    finally:
        for d in folders:
            d.chmod(0o755)


# --- 6. Seeds at the edges ------------------------------------------------------------


@pytest.mark.parametrize("seed", ["4294967296", "-1", "1.5"])
def test_a_seed_out_of_range_is_refused_before_anything_runs(tmp_path, csv_path, capsys, seed):
    space = write_space(tmp_path / "space.yaml", f"csv:{csv_path}")
    code, _, err = run_main(["run", space, "--results-dir", tmp_path / "results", "--seed", seed], capsys)
    assert code == 2, err
    assert "--seed" in one_line(err) and "4294967295" in err
    assert not (tmp_path / "results").exists()


def test_the_largest_seed_runs(tmp_path, capsys):
    """In this process: trial 1's seed wraps past 2**32 - 1."""
    hps = {**HPS, "hidden_units": [8, 12]}
    space = tiny_space(tmp_path, hps, algorithm="bayesian", seed=4294967295)
    results = tmp_path / "results"
    code, out, err = run_main(["run", space, "--results-dir", results], capsys)
    assert code == 0, err[-3000:]
    assert "Traceback" not in out + err
    run = results / "synthetic"
    assert list(trial_statuses(run).values()) == ["COMPLETED", "COMPLETED"]
    assert yaml.safe_load((run / "config.yaml").read_text())["tuner"]["seed"] == 4294967295


# --- 7. Unlabeled text that validation or test come from -------------------------------


@pytest.mark.parametrize("split", ["train", "test", "train[:10%]", "unsupervised+train"])
def test_unlabeled_split_that_overlaps_evaluation_is_refused(tmp_path, capsys, split):
    space = write_space(tmp_path / "space.yaml", "tfds:imdb_reviews",
                        data={"unlabeled_split": split},
                        hyperparameters={**HPS, "embedding_init": "word2vec"})
    code, _, err = run_main(["run", space, "--results-dir", tmp_path / "results"], capsys)
    assert code == 2, err
    line = one_line(err)
    assert line.startswith("sweep: error: data.unlabeled_split:") and "unsupervised" in line
    assert not (tmp_path / "results").exists()


# --- 8. A full disk at each kind of write ---------------------------------------------


def _cache_name(space: Path) -> str:
    """The tokens cache file the sweep will write (its name holds the data's fingerprint)."""
    from sweep.data.sources import load_texts
    from sweep.space import config

    cfg = config.load(space)
    fingerprint = load_texts(cfg.data, cfg.tuner.seed).fingerprint
    return RunDir("x").tokens_cache(fingerprint, 100, cfg.data.max_length).name


@pytest.mark.parametrize("fault", [
    pytest.param("status.json", marks=pytest.mark.battery),  # the first write: "running"
    pytest.param("trials.csv:2", marks=pytest.mark.battery),  # rebuilt after trial 0 ended
    "epochs.csv:2",     # inside trial 0's fit: the trial is cut short (CI)
    pytest.param("oracle.json", marks=pytest.mark.battery),  # KerasTuner's JSON, trial 0 created
    pytest.param("oracle.json:3", marks=pytest.mark.battery),  # KerasTuner's JSON, as trial 0 ends
    pytest.param("CACHE", marks=pytest.mark.battery),  # the vectorized data, inside trial 0's fit
    pytest.param("test.json", marks=pytest.mark.battery),  # the winner's test evaluation
    pytest.param("config.yaml", marks=pytest.mark.battery),  # the saved space, first of all
])
def test_a_full_disk_stops_the_sweep_in_one_line_and_it_resumes(tmp_path, fault):
    space = tiny_space(tmp_path)
    if fault == "CACHE":
        fault = _cache_name(space)
    results, run, proc = run_with_fault(space, tmp_path, f"enospc:{fault}", 1)
    line = one_line(proc.stderr)
    assert "disk" in line and "is full" in line and "run the same command again" in line, line
    if fault not in ("status.json", "config.yaml"):  # written before status "running"
        assert state(run) == "interrupted"
    assert rundir.run_state(RunDir(run)) == "interrupted"
    assert leftovers(run) == []
    # A trial cut short by the disk is not the trial's fault.
    assert "FAILED" not in trial_statuses(run).values()

    again = run_cli("run", space, "--results-dir", results)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    no_traceback(again)
    assert state(run) == "finished"
    assert list(trial_statuses(run).values()) == ["COMPLETED", "COMPLETED"]
    trials = trials_csv(run)
    assert len(trials) == 2 and (trials.status == "COMPLETED").all()
    history = pd.read_csv(run / "history.csv", dtype={"trial_id": str})
    assert not history.duplicated(["trial_id", "epoch"]).any()  # a retried trial ran afresh
    assert (run / "test.json").exists()
    assert leftovers(run) == []


# --- 9. Ctrl-C after the trials -------------------------------------------------------


@pytest.mark.parametrize("at", ["test.json", pytest.param("best_curves.png", marks=pytest.mark.battery)])
def test_ctrl_c_during_evaluation_or_plots_is_not_finished(tmp_path, at):
    space = tiny_space(tmp_path)
    results, run, proc = run_with_fault(space, tmp_path, f"sigint-at:{at}", 130)
    assert "Interrupted" in proc.stderr
    assert state(run) == "interrupted"
    assert not (run / at).exists()
    records = {p: p.read_bytes() for p in (run / "tuner").glob("trial_*/sweep.json")}
    assert len(records) == 2

    again = run_cli("run", space, "--results-dir", results)
    assert again.returncode == 0, again.stderr[-3000:]
    assert state(run) == "finished"
    assert (run / "test.json").exists() and (run / "best_curves.png").exists()
    # The trials were kept, not run again.
    assert {p: p.read_bytes() for p in records} == records


@pytest.mark.parametrize("at", ["config.yaml", "status.json"])
def test_ctrl_c_before_the_first_trial_is_one_line(tmp_path, at):
    """Ctrl-C while the run folder is being prepared (the data is loaded just before)."""
    _, run, proc = run_with_fault(tiny_space(tmp_path), tmp_path, f"sigint-at:{at}", 130)
    assert "Interrupted" in proc.stderr
    assert rundir.run_state(RunDir(run)) == "interrupted"


# --- 10. A heartbeat from another host -------------------------------------------------


@pytest.mark.parametrize("host, pid, age, expected", [
    ("another-host", 1, 3600, "interrupted"),       # stale heartbeat: dead, wherever it ran
    ("another-host", 1, 0, "running"),              # fresh: alive, though the pid is not ours
    ("HERE", "DEAD", 0, "interrupted"),             # this host, and its pid is gone
    ("HERE", "SELF", 0, "running"),
    ("HERE", "SELF", 3600, "interrupted"),         # a live pid, but not the sweep's (reused)
])
def test_report_trusts_the_heartbeat(failed_run, tmp_path, capsys, host, pid, age, expected):
    run = copy_of(failed_run, tmp_path)
    host = socket.gethostname() if host == "HERE" else host
    pid = {"DEAD": dead_pid(), "SELF": os.getpid()}.get(pid, pid)
    trial = run / "tuner" / "trial_2" / "trial.json"
    trial.write_text(json.dumps({**json.loads(trial.read_text()), "status": "RUNNING"}))
    beat = time.time() - age
    (run / "status.json").write_text(json.dumps(
        {"state": "running", "pid": pid, "host": host, "time": beat - 60, "heartbeat": beat}))
    code, out, err = run_main(["report", run], capsys)
    assert code == 0, err
    assert f"sweep {expected};" in out
    assert trials_csv(run).set_index("trial_id").at["2", "status"] == expected.upper()


def test_a_sweep_beating_on_another_host_keeps_its_folder(failed_run, tmp_path):
    """A shared folder whose flock does not reach this host: the heartbeat is respected."""
    run = copy_of(failed_run, tmp_path)
    _, _, space = failed_run
    now = time.time()
    (run / "lock").write_text(json.dumps({"host": "another-host", "pid": 1, "started": now - 60}))
    (run / "status.json").write_text(json.dumps(
        {"state": "running", "pid": 1, "host": "another-host", "time": now - 60, "heartbeat": now}))
    before = tree(run)
    proc = run_cli("run", space, "--results-dir", run.parent, timeout=120)
    assert proc.returncode == 2, proc.stderr[-3000:]
    line = one_line(proc.stderr)
    assert "in use by process 1 on another-host" in line and "heartbeat is fresh" in line
    assert tree(run) == before


def test_export_takes_the_best_completed_trial_never_a_failed_one(failed_run, tmp_path):
    """Even when KerasTuner's own record of the failed trial looks best."""
    run = copy_of(failed_run, tmp_path)
    trials = trials_csv(run)
    failed = trials[trials.status == "FAILED"].trial_id.iloc[0]
    record = run / "tuner" / f"trial_{failed}" / "trial.json"
    trial = json.loads(record.read_text())
    trial["score"] = 1.0
    record.write_text(json.dumps(trial))
    proc = run_cli("export", run, "--trial", failed)
    assert proc.returncode == 2 and f"trial {failed} is FAILED" in proc.stderr, proc.stderr
    proc = run_cli("export", run)
    assert proc.returncode == 0, proc.stderr[-2000:]
    best = trials[trials.status == "COMPLETED"].sort_values("val_accuracy", kind="stable").trial_id.iloc[-1]
    card = json.loads((run / "export" / f"trial_{best}" / "model_card.json").read_text())
    assert card["trial_id"] == best != failed
    assert not (run / "export" / f"trial_{failed}").exists()
