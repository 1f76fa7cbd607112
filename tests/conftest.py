"""Shared fixtures: tiny synthetic text data with a learnable signal, and space files."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
SHARED_TFDS = ROOT.parent / "shared" / "tensorflow_datasets"
IMDB_PREPARED = (SHARED_TFDS / "imdb_reviews" / "plain_text" / "1.0.0" / "dataset_info.json").exists()

requires_imdb = pytest.mark.skipif(
    not IMDB_PREPARED, reason=f"the offline IMDB is not at {SHARED_TFDS}"
)

FILLER = [f"w{i}" for i in range(40)]
CUES = {0: ["awful", "boring", "worst"], 1: ["great", "superb", "loved"], 2: ["okay", "fine", "average"]}


def make_examples(n: int, num_classes: int = 2, seed: int = 0) -> list[tuple[str, int]]:
    """Random filler words with a class cue word planted somewhere: learnable, not trivial."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        label = int(rng.integers(num_classes))
        words = list(rng.choice(FILLER, size=int(rng.integers(5, 30))))
        words.insert(int(rng.integers(len(words) + 1)), str(rng.choice(CUES[label])))
        rows.append((" ".join(words), label))
    return rows


def write_csv(path: Path, rows: list[tuple[str, object]], header=("text", "label")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def synthetic_csv(tmp_path: Path) -> Path:
    """A 600-row two-class CSV (text, label) with a learnable cue word."""
    return write_csv(tmp_path / "synthetic.csv", make_examples(600))


def write_space(path: Path, source: str, **sections) -> Path:
    """A small, fast space file; `sections` override data/tuner/hyperparameters keys."""
    space = {
        "name": "synthetic",
        "data": {"source": source, "max_length": 32, "batch_size": 32, "validation_split": 0.2},
        "tuner": {"algorithm": "random", "max_trials": 2, "epochs": 3, "seed": 1},
        "hyperparameters": {
            "cell": ["gru", "lstm"],
            "vocab_size": 100,
            "embedding_dim": 16,
            "hidden_units": 16,
            "learning_rate": 0.01,
        },
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(space.get(key), dict):
            space[key].update(value)
        else:
            space[key] = value
    path.write_text(yaml.safe_dump(space, sort_keys=False))
    return path


@pytest.fixture
def space_file(tmp_path: Path, synthetic_csv: Path) -> Path:
    return write_space(tmp_path / "space.yaml", f"csv:{synthetic_csv}")


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600, env: dict | None = None):
    """Runs `python -m sweep ARGS` in a subprocess; returns the CompletedProcess."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    if IMDB_PREPARED:
        full_env.setdefault("TFDS_DATA_DIR", str(SHARED_TFDS))
    full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), full_env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "sweep", *args], cwd=cwd, env=full_env,
        capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real, tiny, finished run (3 trials, --tensorboard): read it, copy it to change it.

    Made once per session; tests must not modify it (copy it with shutil.copytree).
    """
    root = tmp_path_factory.mktemp("finished_run")
    data = write_csv(root / "synthetic.csv", make_examples(400, seed=3))
    space = write_space(
        root / "space.yaml", f"csv:{data}",
        tuner={"algorithm": "grid", "max_trials": 3, "epochs": 2},
        hyperparameters={"cell": ["simple_rnn", "lstm", "gru"], "vocab_size": 100,
                         "embedding_dim": 8, "hidden_units": 8, "learning_rate": 0.01},
    )
    proc = run_cli("run", str(space), "--results-dir", str(root / "results"), "--tensorboard",
                   cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return root / "results" / "synthetic"
