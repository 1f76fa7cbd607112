"""`sweep run SPACE --workers N`: a chief and N workers on this machine, supervised.

    launcher ──> chief   (--role chief  --oracle 127.0.0.1:PORT)      serves the oracle,
            ├─> worker0 (--role worker --oracle ... --worker-id worker0) writes trials.csv,
            └─> worker1 ...                                              evaluates the best

All of them share one run folder; workers log to RUN/logs/<id>.log. A worker killed by a
signal (OOM killer, preemption) is started again under the same id, and KerasTuner's
oracle hands it its unfinished trial. The roles themselves are `sweep.search.distributed`'s.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sweep import rundir
from sweep.rundir import RunDir, writes
from sweep.rundir import lock as runlock
from sweep.search.distributed import CHIEF_ID


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]




def visible_gpus() -> list[str]:
    """The GPUs workers may share out: CUDA_VISIBLE_DEVICES if set, else nvidia-smi's."""
    given = os.environ.get("CUDA_VISIBLE_DEVICES")
    if given is not None:
        return [g.strip() for g in given.split(",") if g.strip() and g.strip() != "-1"]
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        out = subprocess.run([smi, "--query-gpu=index", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def child_argv(argv: list[str]) -> list[str]:
    """The `sweep` arguments (`run SPACE ...`) without `--workers N`, for the processes."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            out.append(arg)
    return out


def device_env(index: int | None, gpus: list[str], workers: int) -> dict[str, str]:
    """CUDA_VISIBLE_DEVICES for worker `index` (None: the chief), round-robin over `gpus`."""
    if not gpus:
        return {}
    env = {"CUDA_VISIBLE_DEVICES": gpus[0 if index is None else index % len(gpus)]}
    if index is None or workers > len(gpus):
        # The chief only evaluates at the end, and workers sharing a GPU must not each
        # take all its memory (TF's default).
        env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    return env


def _default_sigint() -> None:
    """In a child, before exec: SIGINT back to its default action.

    A launcher started in the background (`sweep run ... &`, nohup) has SIGINT ignored, and
    children inherit that; the chief would then sit through its stop request.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class Child:
    """A chief or worker process the launcher starts, watches and restarts."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path | None = None
    proc: subprocess.Popen | None = None
    restarts: int = 0
    rc: int | None = None  # final exit status, once it is done for good

    def start(self) -> None:
        env = {**os.environ, **self.env}
        if self.log is None:
            self.proc = subprocess.Popen(self.argv, env=env, start_new_session=True,
                                         preexec_fn=_default_sigint)
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            # Own session: a Ctrl-C reaches only the launcher, which passes it on once.
            self.proc = subprocess.Popen(self.argv, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_default_sigint)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)


def _describe(rc: int) -> str:
    if rc < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-rc).name}"
    return f"exited with status {rc}"


def _tail(path: Path | None, lines: int = 5) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text(errors="replace").strip().splitlines()[-lines:]
    return "".join(f"\n    {line}" for line in text)


def launch_local(argv: list[str], workers: int, run: RunDir, *, overwrite: bool = False,
                 max_restarts: int = 2, grace: float = 30.0, python: str = sys.executable) -> int:
    """Runs a chief and `workers` workers on loopback for one sweep; returns the exit status.

    The chief is started first and the workers once it listens (so a chief given
    --overwrite has cleared the run folder before a worker writes in it). A worker
    killed by a signal is started again under the same id, up to `max_restarts` times
    (it then resumes its trial); a worker that exits with an error is not.

    Args:
        argv: the `sweep` arguments (`run SPACE ...`), `--workers N` left out or not.
        workers: how many workers.
        run: the run folder: its lock is held for the chief and workers, its logs/ gets
            the workers' logs.
        overwrite: whether the chief was asked to replace the run (checked here first).
        max_restarts: restarts allowed per worker id.
        grace: seconds children get to stop after a Ctrl-C before they are killed.
        python: the interpreter for the children.

    Returns:
        0 when the chief finished the sweep and every worker exited 0; the chief's status
        when it failed; 1 when a worker failed for good; 130 when interrupted.
    """
    if overwrite:
        rundir.check_overwritable(run)
    else:
        writes.check_run_folder(run)  # before its lock file goes into a folder that is not a run
    with runlock.RunLock(run) as lock:
        if lock.note:
            print(f"Note: {lock.note}.", flush=True)
        os.environ[runlock.LOCK_TOKEN_ENV] = lock.token or ""
        return _launch(argv, workers, run, max_restarts, grace, python)


def _launch(argv: list[str], workers: int, run: RunDir, max_restarts: int, grace: float,
            python: str) -> int:
    base = [python, "-m", "sweep", *child_argv(argv)]
    port = free_port()
    address = f"127.0.0.1:{port}"
    gpus = visible_gpus()
    chief = Child(CHIEF_ID, base + ["--role", "chief", "--oracle", address],
                   device_env(None, gpus, workers))
    worker_argv = [a for a in base if a != "--overwrite"]
    worker_procs = [
        Child(f"worker{i}",
               worker_argv + ["--role", "worker", "--oracle", address, "--worker-id", f"worker{i}"],
               device_env(i, gpus, workers), log=run.worker_log(f"worker{i}"))
        for i in range(workers)
    ]
    everyone = [chief, *worker_procs]
    interrupts = 0

    def on_signal(signum, frame) -> None:
        nonlocal interrupts
        interrupts += 1
        for child in everyone:
            child.signal(signal.SIGINT if interrupts == 1 else signal.SIGKILL)

    handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        chief.start()
        while chief.running and not interrupts and not _listening(port):
            time.sleep(0.3)
        if not chief.running:  # its own error is on the console already
            return _exit_status(chief)
        if not interrupts:
            for w in worker_procs:
                w.start()
            where = f" on GPUs {','.join(gpus)}" if gpus else ""
            print(f"Chief listening on {address}; started {workers} workers{where} "
                  f"(logs: {run.logs}/)", flush=True)
        return supervise(chief, worker_procs, max_restarts, grace, lambda: interrupts)
    finally:
        for child in everyone:  # nothing is left behind, whatever happened
            child.signal(signal.SIGKILL)
            if child.proc is not None:
                child.proc.wait()
        for s, h in handlers.items():
            signal.signal(s, h)


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def supervise(chief: Child, worker_procs: list[Child], max_restarts: int, grace: float,
              interrupted: Callable[[], int]) -> int:
    """Waits for the chief and workers, restarting killed workers; returns the exit status."""
    deadline: float | None = None  # when whatever still runs gets killed
    gave_up = False
    while True:
        for w in worker_procs:
            if w.rc is not None or w.proc is None or w.running:
                continue
            rc = w.proc.returncode
            if rc < 0 and not interrupted() and chief.running and w.restarts < max_restarts:
                w.restarts += 1
                print(f"sweep: {w.name} {_describe(rc)}; starting it again under the same id to "
                      f"finish its trial (restart {w.restarts} of {max_restarts})", flush=True)
                w.start()
                continue
            w.rc = rc
            if rc != 0 and not interrupted():
                print(f"sweep: {w.name} {_describe(rc)}; see {w.log}{_tail(w.log)}",
                      file=sys.stderr, flush=True)
        workers_done = all(w.rc is not None or w.proc is None for w in worker_procs)
        if not chief.running and workers_done:
            break
        if deadline is None:
            if interrupted() or not chief.running:
                # Stopping (Ctrl-C, already passed on), or the chief is done and the
                # workers, told to stop by its oracle, are exiting.
                deadline = time.monotonic() + grace
            elif workers_done and any(w.rc for w in worker_procs):
                # A worker is gone for good: its trial stays "ongoing" in the oracle,
                # and the chief would wait for it for ever.
                print("sweep: stopping the chief, as a worker failed; run the same command "
                      "again to resume (KerasTuner re-runs the unfinished trial)",
                      file=sys.stderr, flush=True)
                chief.signal(signal.SIGINT)
                gave_up = True
                deadline = time.monotonic() + grace
        elif time.monotonic() > deadline:
            for child in (chief, *worker_procs):
                child.signal(signal.SIGKILL)
        time.sleep(0.3)
    if interrupted():
        return 130
    if gave_up or any(w.rc for w in worker_procs):
        return 1
    return _exit_status(chief)


def _exit_status(child: Child) -> int:
    """A finished child's exit status; 1 when it was killed by a signal."""
    rc = child.proc.returncode if child.proc is not None else 1
    return rc if rc >= 0 else 1
