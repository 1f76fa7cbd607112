"""Shared fixtures: tiny synthetic text data, space files, a checked-in run and one trained here.

The helpers behind them are in helpers.py (`from helpers import ...`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import ROOT, make_examples, run_cli, write_csv, write_space


@pytest.fixture
def synthetic_csv(tmp_path: Path) -> Path:
    """A 600-row two-class CSV (text, label) with a learnable cue word."""
    return write_csv(tmp_path / "synthetic.csv", make_examples(600))


@pytest.fixture
def csv_path(tmp_path: Path) -> Path:
    """A 60-row CSV, for tests that refuse a space or flag before anything trains."""
    return write_csv(tmp_path / "reviews.csv", make_examples(60))


@pytest.fixture
def space_file(tmp_path: Path, synthetic_csv: Path) -> Path:
    return write_space(tmp_path / "space.yaml", f"csv:{synthetic_csv}")


SMALL_RUN = ROOT / "tests" / "data" / "small_run"


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny finished run made by this code and checked in (tests/data/make_small_run.py).

    3 trials (grid over the cells, 2 epochs) on `make_examples(400, seed=3)`, saved as
    `csv:synthetic.csv`; no PNGs, cache or TensorBoard logs. Copied once per session out of
    the checkout (a report rewrites its CSVs); tests must not modify it (use `small_run_copy`).
    """
    return Path(shutil.copytree(SMALL_RUN, tmp_path_factory.mktemp("small_run") / "synthetic"))


@pytest.fixture
def small_run_copy(small_run: Path, tmp_path: Path) -> Path:
    """A copy of `small_run`, free to change."""
    return Path(shutil.copytree(small_run, tmp_path / "copy" / "synthetic"))


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real, tiny, finished run trained in this session (3 trials, --tensorboard), for the
    end-to-end tests; unit tests read `small_run` instead. Copy it to change it.

    Made once per session; tests must not modify it (copy it with shutil.copytree, or
    use `run_copy`).
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


@pytest.fixture
def run_copy(finished_run: Path, tmp_path: Path) -> Path:
    """A copy of `finished_run`, free to change."""
    return Path(shutil.copytree(finished_run, tmp_path / "copy" / "synthetic"))
