"""Shared fixtures: tiny synthetic text data, space files, a checked-in run, and the runs
trained once per test session that the end-to-end tests share (`finished_run`, `failed_run`,
`exported`); and the markers every test gets from where it is (`e2e`) or what it reads (`imdb`).

The helpers behind them are in helpers.py (`from helpers import ...`): one way to run `sweep`
as a real process (`run_cli`, `start_cli` in the background), and the checks of what it
printed (`refused`, `one_line`, `no_traceback`). Test modules import from helpers.py, never
from each other.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import (
    CPU,
    HUGE_LR,
    IMDB_PREPARED,
    ROOT,
    SHARED_TFDS,
    make_examples,
    output,
    run_cli,
    write_csv,
    write_space,
)

E2E = ROOT / "tests" / "e2e"


@pytest.fixture(autouse=True)
def _environment_kept() -> Iterator[None]:
    """Every test ends with os.environ as it began: an in-process `sweep run --role chief` sets
    KerasTuner's KERASTUNER_* variables, and a later in-process sweep would wait on that oracle."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`e2e` on every test under tests/e2e; the `imdb` tests skipped when ../shared has no IMDB."""
    no_imdb = pytest.mark.skip(reason=f"the offline IMDB is not at {SHARED_TFDS}")
    for item in items:
        if item.path.is_relative_to(E2E):
            item.add_marker(pytest.mark.e2e)
        if not IMDB_PREPARED and item.get_closest_marker("imdb"):
            item.add_marker(no_imdb)


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
    """A real, tiny, finished run trained in this session by `sweep run` in a subprocess, for
    the end-to-end tests; unit tests read `small_run` instead.

    A grid over the three cells (3 trials, 2 epochs, --tensorboard) on `make_examples(400,
    seed=3)` in `ROOT/synthetic.csv`, ROOT being `finished_run.parent.parent`. Made once per
    session; tests must not modify it (copy it with shutil.copytree, or use `run_copy`).
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
    assert proc.returncode == 0, output(proc)
    # What it printed into a pipe, for the tests of a sweep's output (`finished_output`).
    (root / "sweep.out").write_text(proc.stdout)
    (root / "sweep.err").write_text(proc.stderr)
    return root / "results" / "synthetic"


@pytest.fixture(scope="session")
def finished_output(finished_run: Path) -> tuple[str, str]:
    """The stdout and stderr of the `sweep run` that made `finished_run` (into pipes)."""
    root = finished_run.parent.parent
    return (root / "sweep.out").read_text(), (root / "sweep.err").read_text()


@pytest.fixture
def run_copy(finished_run: Path, tmp_path: Path) -> Path:
    """A copy of `finished_run`, free to change."""
    return Path(shutil.copytree(finished_run, tmp_path / "copy" / "synthetic"))


FAILED_RUN_HPS = {"cell": ["lstm", "gru"], "vocab_size": 100, "embedding_dim": 8, "hidden_units": 8,
                  "learning_rate": [HUGE_LR, 3e-3]}


@pytest.fixture(scope="session")
def failed_run(tmp_path_factory: pytest.TempPathFactory):
    """A real finished run with a failed trial, made once per session by `sweep run` in a subprocess.

    A grid cell [lstm, gru] x learning_rate [1e38, 3e-3], 3 trials of 1 epoch, on
    `make_examples(300, seed=1)`: the trials at 1e38 FAILED, one cell has only a failed trial,
    and `--max-trials 4` resumes it into the grid's 4th point.
    Returns (the finished process, the run folder, the space file); copy the folder before
    changing anything in it.
    """
    folder = tmp_path_factory.mktemp("failed_run")
    data = write_csv(folder / "reviews.csv", make_examples(300, seed=1))
    space = write_space(folder / "space.yaml", f"csv:{data}",
                        tuner={"algorithm": "grid", "max_trials": 3, "epochs": 1, "seed": 1},
                        hyperparameters=dict(FAILED_RUN_HPS))
    proc = run_cli("run", space, "--results-dir", folder / "results")
    assert proc.returncode == 0, output(proc)
    return proc, folder / "results" / "synthetic", space


@pytest.fixture(scope="session")
def exported(finished_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sweep export --out` of `finished_run`'s best trial, made once per session (read only)."""
    out = tmp_path_factory.mktemp("exported") / "model"
    proc = run_cli("export", finished_run, "--out", out)
    assert proc.returncode == 0, output(proc)
    return out


@pytest.fixture(scope="session")
def confirmed(finished_run: Path, tmp_path_factory: pytest.TempPathFactory):
    """A copy of `finished_run` after `sweep confirm --top 2 --seeds 2` (a subprocess, on CPU),
    made once per session. Returns (the run folder, the finished process); copy it to change it."""
    run = Path(shutil.copytree(finished_run, tmp_path_factory.mktemp("confirmed") / "synthetic"))
    proc = run_cli("confirm", run, "--top", 2, "--seeds", 2, env=CPU)
    assert proc.returncode == 0, output(proc)
    return run, proc
