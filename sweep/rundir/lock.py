"""One sweep per run folder: the run lock, and the heartbeat that shows the sweep is alive.

The run folder's layout and files are `sweep.rundir`'s; this module holds what a live
sweep keeps on them while it runs. No TensorFlow.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sweep.errors import RunInUse
from sweep.rundir.atomic import read_json, write_json
from sweep.rundir.layout import RunDir
from sweep.rundir.status import HEARTBEAT_SECONDS, STALE_AFTER

LOCK_TOKEN_ENV = "SWEEP_RUN_LOCK_TOKEN"  # a launcher's children share its lock
# The run folders this process holds (their lock, a worker's lock, or its launcher's for it), by
# real path: what it may write over (`holds`, the write rule's `rundir.writes.save_run_file`).
_HELD: collections.Counter[str] = collections.Counter()


def holds(run: RunDir) -> bool:
    """Whether this process holds `run`: its lock, a worker lock of it, or its launcher's lock."""
    return _HELD[os.path.realpath(run.path)] > 0


def describe_holder(holder: dict) -> str:
    started = holder.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if started else "?"
    return f"process {holder.get('pid')} on {holder.get('host')} (since {when})"


def check_not_in_use(run: RunDir) -> None:
    """Raises RunInUse when a live sweep holds `run` (a quick check before loading data)."""
    if run.lock.exists():
        RunLock(run).acquire(take=False)


class RunLock:
    """One sweep owns a run folder: an exclusive `flock` on RUN/lock, held for the whole run.

    The file says who holds it (host, pid, start time). The kernel drops the lock when
    its process dies, however it dies, so a lock left by a dead process is taken over
    (with a note). A lock file of another host whose sweep still beats its heartbeat is
    respected even where the shared filesystem does not carry flocks across hosts.
    The `--workers` launcher holds the lock for its chief and workers, which find its
    token in their environment.
    """

    def __init__(self, run: RunDir, path: Path | None = None, what: str | None = None):
        self.run = run
        self.path = path or run.lock
        self.what = what or str(run)  # what is in use, for the message
        self.fd: int | None = None
        self.token: str | None = None  # handed to a launcher's children
        self.note: str | None = None  # set when a dead process's lock was taken over
        self._holding = False  # counted in _HELD

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self, take: bool = True) -> None:
        """Takes the lock (making the folder); raises RunInUse when a live sweep has it.

        With `take=False` only checks that it could be taken, and leaves it as it was.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        path = self.path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        holder = read_json(path) or {}
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if holder.get("token") and holder.get("token") == os.environ.get(LOCK_TOKEN_ENV):
                if take:
                    self._hold()
                return  # our launcher holds it for us
            raise RunInUse(f"{self.what} is in use by {describe_holder(holder)}; wait for it to "
                           "finish or stop it") from None
        elsewhere = holder.get("host") not in (None, socket.gethostname())
        if elsewhere and self.path == self.run.lock and _beating(self.run):
            os.close(fd)
            raise RunInUse(f"{self.what} is in use by {describe_holder(holder)} (its heartbeat is "
                           "fresh); wait for it to finish or stop it")
        if not take:
            os.close(fd)
            return
        if holder.get("pid") and holder.get("pid") != os.getpid():
            self.note = f"took over the lock of {describe_holder(holder)}, which is no longer running"
        self.fd = fd
        self.token = f"{socket.gethostname()}-{os.getpid()}-{time.time_ns()}"
        text = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(),
                           "token": self.token})
        os.ftruncate(fd, 0)
        os.pwrite(fd, text.encode(), 0)
        os.fsync(fd)
        self._hold()

    def _hold(self) -> None:
        if not self._holding:
            _HELD[os.path.realpath(self.run.path)] += 1
            self._holding = True

    def release(self) -> None:
        if self._holding:
            _HELD[os.path.realpath(self.run.path)] -= 1
            self._holding = False
        if self.fd is not None:
            # Emptied first: a holder named in the file is one that died holding it.
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            os.close(self.fd)  # closing drops the flock
            self.fd = None


def _beating(run: RunDir) -> bool:
    status = read_json(run.status)
    beat = status.get("heartbeat") if isinstance(status, dict) else None
    return isinstance(beat, (int, float)) and time.time() - beat < STALE_AFTER


class Heartbeat:
    """Refreshes status.json's `heartbeat` every HEARTBEAT_SECONDS while a sweep runs.

    A report on any host shows a 'running' sweep whose heartbeat is older than
    STALE_AFTER as interrupted (the pid check works only on the sweep's own host).
    """

    def __init__(self, run: RunDir, every: float = HEARTBEAT_SECONDS):
        self.run = run
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="sweep-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            status = read_json(self.run.status)
            if isinstance(status, dict) and status.get("state") == "running":
                with contextlib.suppress(OSError):
                    write_json(self.run.status, {**status, "heartbeat": time.time()})


@contextlib.contextmanager
def turn(path: Path, waiting: Callable[[], None] | None = None) -> Iterator[bool]:
    """One process at a time for a read-modify-write that several make on a run's files
    (MLflow tracking's mlflow.json and the server's runs: the live sweep and `sweep track`).

    Yields whether another process has taken a turn since this one's last (what this one
    remembers of those files is stale then). `waiting` is called once when another process
    holds the turn. A folder that cannot be written (a read-only copy) has no other writer:
    the turn is free.
    """
    me = f"{socket.gethostname()}-{os.getpid()}"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(fd, fcntl.LOCK_EX)
        last = os.pread(fd, 256, 0).decode(errors="replace")
        try:
            yield last != me
        finally:
            os.ftruncate(fd, 0)  # this process wrote last, whether its turn ended well or not
            os.pwrite(fd, me.encode(), 0)
    finally:
        os.close(fd)  # releases the flock
