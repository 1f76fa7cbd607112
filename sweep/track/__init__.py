"""Tracking: a sweep's trials recorded in MLflow too, as a helper that never fails the sweep.

Switched on by `tracking: {mlflow: URI}` in the space, `--mlflow URI`, or MLFLOW_TRACKING_URI
in the environment (first found, in that order); off otherwise, and then MLflow is never
imported. The work happens in `sweep.track.mlflow` (the reconciler `sweep track` runs too, reading
the run folder through `sweep.track.contents`),
here on a background thread: the sweep only hands it a nudge after each trial, and waits
for it at the end at most `CLOSE_SECONDS`. A server that is down, slow or refusing costs
one warning; `sweep track RUN --mlflow URI` brings it up to date later.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sweep.errors import UsageError
from sweep.progress import Say
from sweep.rundir import RunDir
from sweep.rundir import lock as runlock
from sweep.space.config import SweepConfig

MISSING = "MLflow tracking needs MLflow: pip install 'rnn-sweep[mlflow]'"
CLOSE_SECONDS = 30.0  # the longest a sweep waits for its last records to reach the server


def public_uri(uri: str) -> str:
    """The URI without user name, password or query (what may be saved and shown)."""
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc:
        return uri.split("?", 1)[0]
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def redact(text: str, uri: str) -> str:
    """`text` (an error message) without the credentials a URI in it may carry."""
    return re.sub(r"//[^/@\s]+@", "//", text.replace(uri, public_uri(uri)))


def uri_for(cfg: SweepConfig | None, flag: str | None = None) -> str | None:
    """The tracking URI: --mlflow, else the space's tracking.mlflow, else MLFLOW_TRACKING_URI."""
    if flag:
        return flag
    if cfg is not None and cfg.tracking.mlflow:
        return cfg.tracking.mlflow
    return os.environ.get("MLFLOW_TRACKING_URI") or None


def experiment_for(cfg: SweepConfig | None) -> str | None:
    """tracking.experiment, else MLFLOW_EXPERIMENT_NAME; None: the sweep's name."""
    if cfg is not None and cfg.tracking.experiment:
        return cfg.tracking.experiment
    return os.environ.get("MLFLOW_EXPERIMENT_NAME") or None


def require_mlflow() -> None:
    """Raises UsageError (one line: how to install it) when MLflow is not installed."""
    if importlib.util.find_spec("mlflow") is None:
        raise UsageError(MISSING)


def check(cfg: SweepConfig | None, flag: str | None = None) -> str | None:
    """The URI tracking will use (None: off); refuses, before any work, when MLflow is missing."""
    uri = uri_for(cfg, flag)
    if uri is not None:
        from sweep.space.validation import check_tracking_uri

        check_tracking_uri(uri, "--mlflow" if flag else "tracking.mlflow" if cfg and cfg.tracking.mlflow
                           else "MLFLOW_TRACKING_URI")
        require_mlflow()
    return uri


class Off:
    """Tracking switched off: every call does nothing."""

    uri: str | None = None

    def update(self) -> None:
        pass

    def close(self, job: Callable[[Any], Any] | None = None, timeout: float = CLOSE_SECONDS) -> Any:
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Live(Off):
    """Syncs a run folder to a tracking server from a background thread.

    `update()` asks for a sync and returns at once (requests made while one runs are
    merged into the next); `close()` asks for the last one and waits for it at most
    `timeout` seconds. Any failure is said once through `say`, and the sweep goes on.
    With `announce` (a sweep), where it tracks is said at once (server and experiment), and
    its parent run once the first sync has made or found it.
    """

    def __init__(self, run: RunDir, uri: str, experiment: str | None, say: Say,
                 announce: str | None = None):
        self.uri: str = uri
        self.run, self.experiment, self.say = run, experiment, say
        self.shown = public_uri(uri)
        self.announce = announce is not None
        if announce is not None:
            say(f"MLflow: tracking at {self.shown}, experiment {announce!r}")
        self.warned = False
        self.failed: str | None = None
        self._wanted = threading.Event()
        self._job: Callable[[Any], Any] | None = None
        self._closing = False
        self._result: Any = None
        self._reconciler: Any = None
        self._thread = threading.Thread(target=self._loop, name="sweep-mlflow", daemon=True)
        self._thread.start()

    def update(self) -> None:
        self._wanted.set()

    def close(self, job: Callable[[Any], Any] | None = None, timeout: float = CLOSE_SECONDS) -> Any:
        """The last sync (and `job(reconciler)`, if given), waited for at most `timeout` s."""
        self._job = job
        self._closing = True
        self._wanted.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._warn(f"no answer within {timeout:.0f} s")
        return self._result

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            closing = self._closing
            try:
                # One process at a time (`sweep track` too); after another's turn, what this
                # one remembers of mlflow.json and the server is stale: read afresh.
                with runlock.turn(self.run.track_lock) as others_went:
                    if self._reconciler is None or others_went:
                        from sweep.track.mlflow import Reconciler

                        self._reconciler = Reconciler(self.run, self.uri, self.experiment)
                    if self._job is not None and closing:
                        self._result = self._job(self._reconciler)
                    else:
                        self._reconciler.sync()
                        self._say_parent(self._reconciler.state)
                self.failed = None
            except Exception as e:  # a helper's failure: said once, never the sweep's
                self._reconciler = None  # start afresh next time (the server may be back)
                self._warn(redact(" ".join(str(e).split()), self.uri)[:200] or type(e).__name__)
            if closing:
                return

    def _say_parent(self, state: dict) -> None:
        """The parent run, once: with its page in MLflow's UI for an http(s) server."""
        if not self.announce or not state.get("parent"):
            return
        self.announce = False
        ui = f"{self.shown.rstrip('/')}/#/experiments/{state.get('experiment_id')}/runs/{state['parent']}"
        page = f": {ui}" if self.shown.startswith(("http://", "https://")) else ""
        self.say(f"MLflow: parent run {state['parent']}{page}")

    def _warn(self, why: str) -> None:
        self.failed = why
        if not self.warned:
            self.warned = True
            self.say(f"Warning: MLflow tracking at {self.shown} failed ({why}); the sweep goes on. "
                     f"`sweep track {self.run} --mlflow {self.shown}` brings the server up to date.")


def live(run: RunDir, cfg: SweepConfig, say: Say, flag: str | None = None, announce: bool = True) -> Off:
    """`Live` tracking of `run` when switched on, else `Off`; `announce`: say where (see `Live`)."""
    uri = uri_for(cfg, flag)
    if uri is None:
        return Off()
    experiment = experiment_for(cfg)
    return Live(run, uri, experiment, say, (experiment or cfg.name) if announce else None)
