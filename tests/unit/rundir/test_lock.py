"""One sweep per folder: the lock, taken over from the dead, shared with a launcher's children."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from sweep.errors import RunInUse
from sweep.rundir import RunDir, read_json, run_state, write_status
from sweep.rundir import lock as runlock


def test_a_held_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    run = RunDir(tmp_path / "run")
    with runlock.RunLock(run):
        holder = read_json(run.lock)
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(RunInUse, match=f"process {os.getpid()} on"):
            runlock.RunLock(run).acquire()
        with pytest.raises(RunInUse):
            runlock.check_not_in_use(run)
    runlock.check_not_in_use(run)  # released


def test_a_dead_holder_is_taken_over_with_a_note_and_a_clean_release_leaves_none(tmp_path):
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    run.lock.write_text(json.dumps({"host": socket.gethostname(), "pid": 999999, "started": 0}))
    with runlock.RunLock(run) as lock:
        assert lock.note and "999999" in lock.note
    with runlock.RunLock(run) as lock:
        assert lock.note is None


def test_a_launchers_children_share_its_lock(tmp_path, monkeypatch):
    run = RunDir(tmp_path / "run")
    with runlock.RunLock(run) as lock:
        monkeypatch.setenv(runlock.LOCK_TOKEN_ENV, lock.token)
        runlock.RunLock(run).acquire()  # no error: the token is the holder's
        monkeypatch.setenv(runlock.LOCK_TOKEN_ENV, "someone-else")
        with pytest.raises(RunInUse):
            runlock.RunLock(run).acquire()


def test_another_hosts_fresh_heartbeat_keeps_the_folder(tmp_path):
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    run.lock.write_text(json.dumps({"host": "elsewhere", "pid": 1, "started": 0}))
    run.status.write_text(json.dumps({"state": "running", "host": "elsewhere", "pid": 1,
                                      "heartbeat": time.time()}))
    with pytest.raises(RunInUse, match="heartbeat is fresh"):
        runlock.RunLock(run).acquire()
    run.status.write_text(json.dumps({"state": "running", "host": "elsewhere", "pid": 1,
                                      "heartbeat": time.time() - 3600}))
    assert run_state(run) == "interrupted"
    with runlock.RunLock(run) as lock:
        assert lock.note


def test_the_heartbeat_refreshes_a_running_status(tmp_path):
    run = RunDir(tmp_path / "run")
    write_status(run, "running")
    first = read_json(run.status)["heartbeat"]
    with runlock.Heartbeat(run, every=0.05):
        time.sleep(0.3)
    assert read_json(run.status)["heartbeat"] > first
    assert read_json(run.status)["state"] == "running"
