"""A language-model pretraining killed (SIGKILL) after its first epoch resumes from that epoch.

`python faulty.py after-write:pretrain.csv:1 sweep run SPACE` dies right after the LM's first
epoch is saved (its checkpoint, then the run folder's pretrain.csv); the plain command then
goes on at epoch 2 with the saved weights and Adam's state, rather than from scratch, and
the sweep ends as usual. Tiny CSV data: a few seconds of training in all.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
from helpers import ROOT, make_examples, write_csv, write_space

FAULTY = Path(__file__).with_name("faulty.py")
TIMEOUT = 420


def _sweep(space: Path, results: Path, cache: Path, fault: str | None = None) -> subprocess.CompletedProcess:
    head = [sys.executable, str(FAULTY), fault] if fault else [sys.executable, "-m", "sweep"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
           "RNN_SWEEP_CACHE": str(cache),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([*head, "run", str(space), "--results-dir", str(results)], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


def _manifest(cache: Path) -> dict:
    [weights] = (cache / "lm").glob("*.npz")
    with np.load(weights) as f:
        return json.loads(str(f["manifest"]))


def test_a_killed_pretraining_resumes_from_its_last_epoch(tmp_path):
    data = write_csv(tmp_path / "data.csv", make_examples(300))
    space = write_space(
        tmp_path / "space.yaml", f"csv:{data}", data={"max_length": 16},
        tuner={"max_trials": 1, "epochs": 1},
        hyperparameters={"cell": "gru", "vocab_size": 100, "embedding_dim": 8, "hidden_units": 8,
                         "learning_rate": 0.01, "embedding_init": "lm"},
        pretrain={"epochs": 3, "sequence_length": 8, "batch_size": 32, "sampled": 20})
    results, cache = tmp_path / "results", tmp_path / "cache"

    killed = _sweep(space, results, cache, fault="after-write:pretrain.csv:1")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    saved = _manifest(cache)
    assert [h["epoch"] for h in saved["history"]] == [1]

    resumed = _sweep(space, results, cache)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resuming at epoch 2 of 3" in resumed.stdout
    assert "Pretraining the language model" not in resumed.stdout
    done = _manifest(cache)
    assert done["resumed_at"] == [2]
    assert [h["epoch"] for h in done["history"]] == [1, 2, 3]
    assert done["history"][0] == saved["history"][0]  # epoch 1 as the killed process left it
    assert (results / "synthetic" / "pretrain.csv").read_text().count("\n") == 4  # header + 3 epochs
