"""A `--workers 2` sweep as a real process, and what the distributed tests check of it
(test_distributed.py, and test_tracking.py's workers that log to MLflow)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from helpers import start_cli, write_space

DEADLINE = 600  # seconds for one whole sweep; a hang fails the test after this
HPS = {"cell": ["gru", "lstm"], "vocab_size": 100, "embedding_dim": 8, "hidden_units": 8,
       "learning_rate": {"min": 0.003, "max": 0.03, "sampling": "log"}}


def launch(space: Path, results: Path, *flags: str) -> subprocess.Popen:
    """`sweep run SPACE --results-dir RESULTS --workers 2 FLAGS` in the background, piped."""
    return start_cli("run", space, "--results-dir", results, "--workers", "2", *flags,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def ours(marker: str) -> dict[int, list[str]]:
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


def finish(proc: subprocess.Popen, marker: str, timeout: float) -> tuple[str, str]:
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
        for pid in ours(marker):
            os.kill(pid, signal.SIGKILL)
        pytest.fail(f"the distributed sweep did not finish in {timeout}s\n{out}\n{err}")


def check_complete(results: Path, out: str, err: str, rc: int) -> pd.DataFrame:
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


def space_of_4(tmp_path: Path, csv: Path, epochs: int) -> Path:
    """4 trials, each with its own learning rate (so random search finds 4 distinct ones)."""
    return write_space(tmp_path / "space.yaml", f"csv:{csv}",
                       tuner={"max_trials": 4, "epochs": epochs}, hyperparameters=HPS)
