"""A sweep's status (status.json): running, finished, interrupted or failed, with a heartbeat."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from sweep.rundir.atomic import read_json, write_json
from sweep.rundir.layout import RunDir

HEARTBEAT_SECONDS = 30.0  # a running sweep refreshes status.json this often
STALE_AFTER = 4 * HEARTBEAT_SECONDS  # no heartbeat for this long: the sweep is dead
STATES = ("running", "finished", "interrupted", "failed")


def write_status(run: RunDir, state: str, **extra: Any) -> None:
    """Records whether the sweep is running, finished, interrupted or failed.

    Written whole, so a resumed run does not carry the last run's failure reason. The
    host tells a report on a copied folder not to trust the pid.
    """
    now = time.time()
    write_json(run.status, dict(state=state, pid=os.getpid(), host=socket.gethostname(),
                                time=now, heartbeat=now, **extra))


def run_state(run: RunDir) -> str:
    """'running', 'finished', 'interrupted' or 'failed' (a dead 'running' one is interrupted).

    A 'running' sweep is dead when its pid is gone (on the host that wrote status.json) or,
    on any host, when its heartbeat is older than STALE_AFTER.
    """
    status = read_json(run.status)
    if not isinstance(status, dict):
        return "interrupted"
    state = status.get("state", "interrupted")
    if state != "running":
        return state
    here = status.get("host") in (None, socket.gethostname())
    beat = status.get("heartbeat")
    stale = isinstance(beat, (int, float)) and time.time() - beat > STALE_AFTER
    if stale or (here and not pid_alive(status.get("pid"))):
        return "interrupted"
    return state


def pid_alive(pid: Any) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(int(pid), 0)
    except PermissionError:
        return True  # it exists, under another user
    except (OSError, TypeError, ValueError):
        return False
    return True
