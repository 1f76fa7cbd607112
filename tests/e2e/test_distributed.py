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
import time
from pathlib import Path

import pytest
from helpers import run_main

from e2e.workers import DEADLINE, check_complete, finish, launch, ours, space_of_4

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
def test_bad_distribution_flags_exit_2(space_file: Path, tmp_path: Path, capsys, flags, message):
    code, _, err = run_main(["run", space_file, "--results-dir", tmp_path / "r", *flags], capsys)
    assert code == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_a_busy_port_is_refused_in_one_line(space_file: Path, tmp_path: Path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run_main(["run", space_file, "--results-dir", tmp_path / "r", "--role", "chief",
                                 "--oracle", f"127.0.0.1:{port}"], capsys)
    assert code == 2
    assert "Address already in use" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


# --- End to end: a chief and two workers (tests/e2e/workers.py) ----------------------


def test_chief_and_two_workers_run_each_trial_once(synthetic_csv: Path, tmp_path: Path):
    results = tmp_path / "results"
    proc = launch(space_of_4(tmp_path, synthetic_csv, epochs=2), results)
    out, err = finish(proc, str(tmp_path), DEADLINE)
    trials = check_complete(results, out, err, proc.returncode)
    assert trials.worker.nunique() == 2, trials[["trial_id", "worker"]]
    assert "[4/4]" in out  # the chief reports every trial as it ends
    for name in ("worker0", "worker1"):
        assert "the chief has no more trials" in (results / "synthetic/logs" / f"{name}.log").read_text()
    assert not ours(str(tmp_path))  # no process left behind


# In CI: test_chief_and_two_workers_run_each_trial_once (the launcher and its workers), and
# unit/search/test_launcher.py::test_supervisor_restarts_a_killed_worker_under_its_id.
@pytest.mark.battery
def test_a_worker_killed_mid_trial_is_replaced_and_the_sweep_completes(synthetic_csv: Path,
                                                                       tmp_path: Path):
    results = tmp_path / "results"
    # Three epochs: a wider window to catch worker1 mid-trial.
    proc = launch(space_of_4(tmp_path, synthetic_csv, epochs=3), results)
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
            for pid, argv in ours(str(tmp_path)).items():
                if argv[-2:] == ["--worker-id", "worker1"]:
                    os.kill(pid, signal.SIGKILL)
                    killed = trial
        time.sleep(0.1)
    out, err = finish(proc, str(tmp_path), max(1.0, deadline - time.monotonic()))
    assert killed is not None, f"worker1 never ran a trial\n{out}\n{err}"
    assert "worker1 was killed by SIGKILL; starting it again" in out
    trials = check_complete(results, out, err, proc.returncode)
    # The replacement, under the same id, finished the trial its predecessor began.
    assert trials.set_index("trial_id").at[killed, "worker"] == "worker1"
    assert not ours(str(tmp_path))
