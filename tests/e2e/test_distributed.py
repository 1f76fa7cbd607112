"""Distributed sweeps on KerasTuner's chief/worker oracle, on loopback, as real processes.

The end-to-end tests start real processes (a chief and two workers) on a tiny synthetic
sweep; every wait has a deadline, so a stalled chief fails the test instead of hanging.
The roles, addresses and supervisor on their own are in unit/test_distributed.py and
unit/test_launcher.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import ROOT, run_cli, write_space

DEADLINE = 600  # seconds for one whole sweep; a hang fails the test after this
HPS = {"cell": ["gru", "lstm"], "vocab_size": 100, "embedding_dim": 8, "hidden_units": 8,
       "learning_rate": {"min": 0.003, "max": 0.03, "sampling": "log"}}


# --- Flags refused by `sweep run` ---------------------------------------------------


@pytest.mark.parametrize("flags, message", [
    (["--role", "worker"], "needs --oracle"),
    (["--role", "worker", "--oracle", "h:80"], "needs --worker-id"),
    (["--role", "chief", "--oracle", "h"], "HOST:PORT"),
    (["--role", "chief", "--oracle", "h:70000"], "HOST:PORT"),
    (["--oracle", "h:80"], "need --role"),
    (["--workers", "2", "--role", "chief", "--oracle", "h:80"], "leave out --role"),
    (["--role", "worker", "--oracle", "h:80", "--worker-id", "chief2"], "not containing 'chief'"),
    (["--role", "worker", "--oracle", "h:80", "--worker-id", "w0", "--overwrite"], "must not delete"),
    (["--workers", "0"], "positive integer"),
])
def test_bad_distribution_flags_exit_2(space_file: Path, tmp_path: Path, flags, message):
    result = run_cli("run", str(space_file), "--results-dir", str(tmp_path / "r"), *flags, timeout=60)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_a_busy_port_is_refused_in_one_line(space_file: Path, tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("run", str(space_file), "--results-dir", str(tmp_path / "r"),
                         "--role", "chief", "--oracle", f"127.0.0.1:{port}", timeout=60)
    assert result.returncode == 2
    assert "Address already in use" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


# --- End to end: a chief and two workers --------------------------------------------


def _launch(space: Path, results: Path, *flags: str) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return subprocess.Popen(
        [sys.executable, "-m", "sweep", "run", str(space), "--results-dir", str(results),
         "--workers", "2", *flags],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _ours(marker: str) -> dict[int, list[str]]:
    """Live processes whose command line mentions `marker` (this test's folder)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").rstrip("\0").split("\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(marker in a for a in argv):
            found[int(entry.name)] = argv
    return found


def _finish(proc: subprocess.Popen, marker: str, timeout: float) -> tuple[str, str]:
    """Waits for the launcher; on a hang, stops it and everything it started, then fails."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # passed on to the chief and workers
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        for pid in _ours(marker):
            os.kill(pid, signal.SIGKILL)
        pytest.fail(f"the distributed sweep did not finish in {timeout}s\n{out}\n{err}")


def _check_complete(results: Path, out: str, err: str, rc: int) -> pd.DataFrame:
    run = results / "synthetic"
    assert rc == 0, f"{out}\n{err}"
    trials = pd.read_csv(run / "trials.csv", dtype={"trial_id": str})
    assert sorted(trials.trial_id) == ["0", "1", "2", "3"]  # each trial once
    assert (trials.status == "COMPLETED").all()
    assert set(trials.worker) <= {"worker0", "worker1"}
    history = pd.read_csv(run / "history.csv", dtype={"trial_id": str})
    assert set(history.trial_id) == {"0", "1", "2", "3"}
    assert json.loads((run / "status.json").read_text())["state"] == "finished"
    assert json.loads((run / "test.json").read_text())["trial_id"] in set(trials.trial_id)
    # The chief saved its oracle after the last trial: nothing left to re-run on a resume.
    assert json.loads((run / "tuner" / "oracle.json").read_text())["ongoing_trials"] == {}
    return trials


def _space(tmp_path: Path, csv: Path, epochs: int) -> Path:
    """4 trials, each with its own learning rate (so random search finds 4 distinct ones)."""
    return write_space(tmp_path / "space.yaml", f"csv:{csv}",
                       tuner={"max_trials": 4, "epochs": epochs}, hyperparameters=HPS)


@pytest.mark.slow
def test_chief_and_two_workers_run_each_trial_once(synthetic_csv: Path, tmp_path: Path):
    results = tmp_path / "results"
    proc = _launch(_space(tmp_path, synthetic_csv, epochs=2), results)
    out, err = _finish(proc, str(tmp_path), DEADLINE)
    trials = _check_complete(results, out, err, proc.returncode)
    assert trials.worker.nunique() == 2, trials[["trial_id", "worker"]]
    assert "[4/4]" in out  # the chief reports every trial as it ends
    for name in ("worker0", "worker1"):
        assert "the chief has no more trials" in (results / "synthetic/logs" / f"{name}.log").read_text()
    assert not _ours(str(tmp_path))  # no process left behind


@pytest.mark.slow
def test_a_worker_killed_mid_trial_is_replaced_and_the_sweep_completes(synthetic_csv: Path,
                                                                       tmp_path: Path):
    results = tmp_path / "results"
    # Three epochs: a wider window to catch worker1 mid-trial.
    proc = _launch(_space(tmp_path, synthetic_csv, epochs=3), results)
    tuner = results / "synthetic" / "tuner"
    killed = None
    deadline = time.monotonic() + DEADLINE
    while killed is None and proc.poll() is None and time.monotonic() < deadline:
        # Mid-trial: the oracle has handed worker1 a trial that has begun and not ended.
        try:
            trial = json.loads((tuner / "oracle.json").read_text())["ongoing_trials"].get("worker1")
        except (OSError, ValueError, KeyError):
            trial = None
        if trial and (tuner / f"trial_{trial}" / "epochs.csv").exists() \
                and not (tuner / f"trial_{trial}" / "sweep.json").exists():
            for pid, argv in _ours(str(tmp_path)).items():
                if argv[-2:] == ["--worker-id", "worker1"]:
                    os.kill(pid, signal.SIGKILL)
                    killed = trial
        time.sleep(0.1)
    out, err = _finish(proc, str(tmp_path), max(1.0, deadline - time.monotonic()))
    assert killed is not None, f"worker1 never ran a trial\n{out}\n{err}"
    assert "worker1 was killed by SIGKILL; starting it again" in out
    trials = _check_complete(results, out, err, proc.returncode)
    # The replacement, under the same id, finished the trial its predecessor began.
    assert trials.set_index("trial_id").at[killed, "worker"] == "worker1"
    assert not _ours(str(tmp_path))
