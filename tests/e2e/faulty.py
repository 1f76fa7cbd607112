"""`python faulty.py FAULT sweep-args...`: runs `sweep` with a fault injected at a chosen point.

Faults (T: a trial id, such as 1; B: a batch number):
    batch:T:B          SIGKILL at batch B of trial T (mid-epoch)
    hold-sync:T:FILE   when live MLflow tracking is about to make trial T's run (once), write
                       FILE.held and wait until FILE exists
    after-trial:T      SIGKILL once trial T has ended and KerasTuner has saved it
    create-trial:T     SIGKILL after KerasTuner wrote trial T's new trial.json, before oracle.json
    end-trial:T        SIGKILL after trial T's finished trial.json, before oracle.json
    enospc:NAME[:N]    the N-th (default 1st) atomic write of a file named NAME fails with ENOSPC
    after-write:NAME[:N]  SIGKILL once the N-th (default 1st) atomic write of a file named NAME is done
    sigint-at:NAME     SIGINT (Ctrl-C) when a file named NAME is about to be written
    read-only:DIR      DIR and everything below it refuse writes (EROFS), even to root

Only tests use this: the faults are patched into KerasTuner and the harness here, so the
code under test is the code users run.
"""

from __future__ import annotations

import errno
import os
import signal
import sys


def _kill() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install(fault: str) -> None:
    kind, _, arg = fault.partition(":")
    if kind in ("batch", "after-trial", "create-trial", "end-trial"):
        _kerastuner_fault(kind, arg)
    elif kind in ("enospc", "sigint-at", "after-write"):
        _write_fault(kind, arg)
    elif kind == "hold-sync":
        _hold_sync(*arg.split(":", 1))
    elif kind == "read-only":
        _read_only(arg)
    else:
        raise SystemExit(f"unknown fault {fault!r}")


def _kerastuner_fault(kind: str, arg: str) -> None:
    from keras_tuner.src.engine import base_tuner, oracle, tuner

    trial_id, _, batch = arg.partition(":")

    def matches(tid) -> bool:
        return str(tid).lstrip("0") == trial_id.lstrip("0")

    if kind == "batch":
        original_batch = tuner.Tuner.on_batch_end

        def on_batch_end(self, trial, model, b, logs=None):
            original_batch(self, trial, model, b, logs)
            if matches(trial.trial_id) and b == int(batch):
                _kill()

        tuner.Tuner.on_batch_end = on_batch_end
    elif kind == "after-trial":
        original_end = base_tuner.BaseTuner.on_trial_end

        def on_trial_end(self, trial):
            original_end(self, trial)
            if matches(trial.trial_id):
                _kill()

        base_tuner.BaseTuner.on_trial_end = on_trial_end
    else:
        original_save = oracle.Oracle._save_trial
        wanted = "RUNNING" if kind == "create-trial" else "COMPLETED"

        def _save_trial(self, trial):
            original_save(self, trial)
            if matches(trial.trial_id) and trial.status == wanted and not trial.metrics.metrics:
                _kill()  # create: a new trial has no metrics yet
            if kind == "end-trial" and matches(trial.trial_id) and trial.status == wanted:
                _kill()

        oracle.Oracle._save_trial = _save_trial


def _hold(go: str) -> None:
    """Says it is held (GO.held) and waits for GO: a test acts while the sweep stands still."""
    import time

    with open(f"{go}.held", "w"):
        pass
    while not os.path.exists(go):
        time.sleep(0.2)


def _hold_sync(trial_id: str, go: str) -> None:
    from sweep.track import mlflow

    original = mlflow.Reconciler._run_for
    held = []

    def _run_for(self, exp_id, kind, key, name, slot, slot_key, tags, start_time=None):
        if kind == "trial" and key == trial_id and not slot.get(slot_key) and not held:
            held.append(True)
            _hold(go)
        return original(self, exp_id, kind, key, name, slot, slot_key, tags, start_time)

    mlflow.Reconciler._run_for = _run_for


def _write_fault(kind: str, arg: str) -> None:
    from sweep import rundir
    from sweep.rundir import atomic

    name, _, nth = arg.partition(":")
    count = {"n": 0}
    original = atomic.save_atomic

    def save_atomic(path, save):
        if os.path.basename(str(path)) == name:
            count["n"] += 1
            if kind == "sigint-at":
                os.kill(os.getpid(), signal.SIGINT)
            elif kind == "after-write" and count["n"] == int(nth or 1):
                original(path, save)
                _kill()
            elif count["n"] == int(nth or 1):
                def full(tmp):
                    save(tmp)  # the temporary file is written, then the disk is "full"
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

                return original(path, full)
        return original(path, save)

    atomic.save_atomic = save_atomic  # behind every writer (rundir.writes, write_atomic, write_json)
    rundir.save_atomic = save_atomic


def _read_only(folder: str) -> None:
    import builtins
    from pathlib import Path

    root = Path(folder).resolve()

    def inside(path) -> bool:
        return Path(os.path.abspath(os.fspath(path))).is_relative_to(root)

    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))

    real_mkdir, real_open, real_os_open = os.mkdir, builtins.open, os.open

    def mkdir(path, *args, **kwargs):
        if inside(path):
            refuse(path)
        return real_mkdir(path, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and any(c in mode for c in "wax+") and inside(file):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and inside(path):
            refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    os.mkdir, builtins.open, os.open = mkdir, open_, os_open


if __name__ == "__main__":
    # A shell starts background jobs with SIGINT ignored, and children inherit that: a
    # CI script run with `&` would make every Ctrl-C fault a no-op. Ctrl-C as at a terminal.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    install(sys.argv[1])
    from sweep.cli import main

    sys.exit(main(sys.argv[2:]))
