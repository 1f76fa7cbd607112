"""A real `mlflow server` for the tracking tests, and ways to read a sweep back from it.

SQLite backend store and a local artifact root in a temporary folder, bound to 127.0.0.1 on
a free port; started with `python -m mlflow server` (the interpreter running the tests), ready
once /health answers, killed (its whole process group) at teardown. `restart()` brings it back
on the same port and store, for outage tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd

STARTUP_SECONDS = 180  # a busy two-core machine imports MLflow's server slowly


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MlflowServer:
    def __init__(self, folder: Path, port: int | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> MlflowServer:
        log = open(self.folder / "server.log", "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        # No background job runner (GenAI evaluation jobs): a handful of processes we never use.
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server",
             "--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}",
             "--artifacts-destination", str(self.folder / "artifacts"),
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log_tail = (self.folder / "server.log").read_text()[-2000:]
                raise RuntimeError(f"mlflow server exited: {log_tail}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"mlflow server did not answer /health within {STARTUP_SECONDS} s")

    def stop(self) -> None:
        """SIGKILL to the server and its workers (as a crash would)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


# --- Reading a sweep back ----------------------------------------------------------------------


def client(uri: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def sweep_runs(uri: str, experiment: str) -> tuple[object, dict[str, object], list[object]]:
    """(parent run, trial id -> its live trial run, every run of the experiment)."""
    c = client(uri)
    exp = c.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment!r}"
    runs = list(c.search_runs([exp.experiment_id], max_results=1000))
    parents = [r for r in runs if r.data.tags.get("rnn_sweep.kind") == "sweep"]
    assert len(parents) == 1, [r.info.run_name for r in parents]
    trials: dict[str, object] = {}
    for r in runs:
        tags = r.data.tags
        if tags.get("rnn_sweep.kind") == "trial" and tags.get("rnn_sweep.superseded") != "true":
            tid = tags["rnn_sweep.trial_id"]
            assert tid not in trials, f"trial {tid} has two live runs"
            trials[tid] = r
    return parents[0], trials, runs


def histories(uri: str, run_id: str, keys: list[str]) -> dict[str, list[tuple[int, float]]]:
    c = client(uri)
    return {k: sorted((m.step, m.value) for m in c.get_metric_history(run_id, k)) for k in keys}


def expected_history(history: pd.DataFrame, trial_id: str,
                     best_epoch: int | None = None) -> dict[str, list[tuple[int, float]]]:
    """history.csv's rows of one trial, as MLflow metric histories (step = epoch); with a
    completed trial's `best_epoch`, its metrics once more at the step after the last epoch."""
    rows = history[history.trial_id.astype(str) == trial_id].sort_values("epoch")
    out = {}
    for column in ("loss", "accuracy", "val_loss", "val_accuracy", "seconds"):
        key = "epoch_seconds" if column == "seconds" else column
        out[key] = [(int(e), float(v)) for e, v in zip(rows.epoch, rows[column])]
        if best_epoch is not None and key != "epoch_seconds":
            best = rows[rows.epoch == best_epoch][column]
            out[key].append((int(rows.epoch.max()) + 1, float(best.iloc[0])))
    return out


def content(uri: str, experiment: str) -> dict:
    """What a sweep's runs hold, without times and ids: for comparing two trackings."""
    parent, trials, _ = sweep_runs(uri, experiment)
    c = client(uri)
    keys = ["loss", "accuracy", "val_loss", "val_accuracy", "epoch_seconds"]
    skip = ("rnn_sweep.run_folder", "rnn_sweep.folder_id", "mlflow.parentRunId", "mlflow.user",
            "mlflow.source.name", "mlflow.source.type", "mlflow.runName", "rnn_sweep.state")
    out: dict = {"parent": {"params": parent.data.params, "metrics": parent.data.metrics,
                            "status": parent.info.status,
                            "tags": {k: v for k, v in parent.data.tags.items() if k not in skip},
                            "artifacts": sorted(_artifacts(c, parent.info.run_id))}}
    for tid, r in trials.items():
        out[tid] = {"params": r.data.params, "metrics": r.data.metrics, "status": r.info.status,
                    "tags": {k: v for k, v in r.data.tags.items() if k not in skip},
                    "history": histories(uri, r.info.run_id, keys)}
    return out


def _artifacts(c, run_id: str, path: str | None = None) -> list[str]:
    out = []
    for f in c.list_artifacts(run_id, path):
        out += _artifacts(c, run_id, f.path) if f.is_dir else [f.path]
    return out
