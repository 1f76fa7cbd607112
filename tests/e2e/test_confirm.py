"""`sweep confirm` on a real finished run, in subprocesses: K x S rows, test.json's confirmed
entry, and a confirm SIGKILLed after its first row that resumes into the same rows.

The run is conftest's `finished_run` (3 trials, a grid over the cell), confirmed once per
session by conftest's `confirmed` (--top 2 --seeds 2); every other confirm works on a copy.
The subprocesses run on CPU, where training is deterministic, so a resumed confirm must give
the uninterrupted one's numbers exactly.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from helpers import CPU, output, run_cli

TOP, SEEDS = 2, 2  # conftest's `confirmed`
KEY = ["trial_id", "seed", "split_seed"]
# Everything but the time a repeat took.
SAME = ["trial_id", "rank", "repeat", "seed", "split_seed", "val_accuracy", "val_loss", "accuracy",
        "loss", "best_epoch", "epochs_run", "cell"]


def confirm(run_dir: Path, *flags: str, fault: str | None = None) -> subprocess.CompletedProcess:
    return run_cli("confirm", run_dir, "--top", TOP, "--seeds", SEEDS, *flags, fault=fault, env=CPU)


def copy_of(run: Path, folder: Path) -> Path:
    return Path(shutil.copytree(run, folder / "synthetic"))


def rows(run_dir: Path) -> pd.DataFrame:
    frame = pd.read_csv(run_dir / "confirm.csv", dtype={"trial_id": str})
    return frame.sort_values(KEY).reset_index(drop=True)


def test_confirm_writes_a_row_per_configuration_and_seed(confirmed, finished_run):
    run_dir, proc = confirmed
    table = rows(run_dir)
    trials = pd.read_csv(finished_run / "trials.csv", dtype={"trial_id": str})
    top = trials.sort_values("val_accuracy", ascending=False, kind="stable").trial_id.head(TOP)
    assert len(table) == TOP * SEEDS
    assert set(table.trial_id) == set(top)
    assert table.groupby("trial_id").seed.nunique().eq(SEEDS).all()
    assert table.seed.nunique() == SEEDS  # the same seeds for every configuration
    assert not set(table.seed) & {3 + int(t) for t in trials.trial_id}  # none is a trial's own
    assert table.val_accuracy.between(0, 1).all() and table.reason.isna().all()
    assert (table.best_epoch <= table.epochs_run).all() and (table.seconds > 0).all()
    # The hyperparameters are those of the trial each row confirms.
    cells = trials.set_index("trial_id").cell
    assert (table.cell == table.trial_id.map(cells)).all()
    for r in table.itertuples():
        assert (run_dir / "confirm" / f"trial_{r.trial_id}-seed_{r.seed}-split_{r.split_seed}.npz").is_file()
    assert (run_dir / "confirm.png").stat().st_size > 10_000
    assert "95% interval" in proc.stdout and "intervals" in proc.stdout
    # Two repeats: the interval is said to be not informative, and no overlap verdict is drawn.
    assert "not informative" in proc.stdout, proc.stdout
    assert "do not overlap" not in proc.stdout and "intervals overlap" not in proc.stdout
    for low, high in zip(*_intervals(proc.stdout), strict=True):
        assert 0 <= low <= high <= 1
    # report.html is refreshed with the confirm results (the sweep's own had none).
    page = (run_dir / "report.html").read_text()
    assert 'id="confirm-table"' in page and "sweep confirm: the top configurations" in page
    assert 'id="confirm-table"' not in (finished_run / "report.html").read_text()


def test_the_best_mean_is_scored_on_test_beside_the_single_seed_winner(confirmed, finished_run):
    run_dir, proc = confirmed
    before = json.loads((finished_run / "test.json").read_text())
    test = json.loads((run_dir / "test.json").read_text())
    confirmed_entry = test.pop("confirmed")
    assert test.pop("confirm_plan") == {"top": 2, "seeds": 2, "resplit": False}  # what it asked
    assert test == before  # the single-seed winner as it was
    table = rows(run_dir)
    means = table.groupby("trial_id").val_accuracy.mean()
    assert confirmed_entry["trial_id"] == means.idxmax()
    assert confirmed_entry["mean"] == pytest.approx(means.max())
    assert sorted(confirmed_entry["seeds"]) == sorted(table.seed.unique())
    by_seed = confirmed_entry["by_seed"]
    assert len(by_seed) == SEEDS and all(0 <= s["test_accuracy"] <= 1 for s in by_seed)
    assert confirmed_entry["test_accuracy"] == pytest.approx(
        sum(s["test_accuracy"] for s in by_seed) / SEEDS)
    assert confirmed_entry["test_examples"] == before["test_examples"]
    assert f"Best mean: trial {confirmed_entry['trial_id']}" in proc.stdout
    # `sweep report` still reads the folder, the winner's test accuracy included.
    (run_dir / "trials.csv").unlink()
    report = run_cli("report", run_dir)
    assert report.returncode == 0, output(report)
    trials = pd.read_csv(run_dir / "trials.csv", dtype={"trial_id": str})
    assert trials.set_index("trial_id").test_accuracy.dropna().to_dict() == \
        {before["trial_id"]: before["test_accuracy"]}


def test_a_confirm_killed_after_its_first_row_resumes_into_the_same_rows(confirmed, finished_run,
                                                                         tmp_path):
    reference, _ = confirmed
    run_dir = copy_of(finished_run, tmp_path)
    killed = confirm(run_dir, fault="after-write:confirm.csv:1")
    assert killed.returncode == -signal.SIGKILL, output(killed)
    assert len(rows(run_dir)) == 1  # the first row, whole
    first = rows(run_dir).iloc[0]

    resumed = confirm(run_dir)
    assert resumed.returncode == 0, output(resumed)
    assert f"{TOP * SEEDS - 1} to train" in resumed.stdout  # the first row was not trained again
    pd.testing.assert_frame_equal(rows(run_dir)[SAME], rows(reference)[SAME])
    again = rows(run_dir).set_index(KEY).loc[tuple(first[KEY])]
    assert again.seconds == first.seconds  # kept as written, not retrained
    test = json.loads((run_dir / "test.json").read_text())["confirmed"]
    ref_test = json.loads((reference / "test.json").read_text())["confirmed"]
    assert test == ref_test


@pytest.mark.battery  # `make test-battery`: extending reuses the resume path tested above
def test_more_seeds_extend_what_is_there(confirmed, tmp_path):
    reference, _ = confirmed
    run_dir = copy_of(reference, tmp_path)
    proc = run_cli("confirm", run_dir, "--top", 1, "--seeds", SEEDS + 1, env=CPU)
    assert proc.returncode == 0, output(proc)
    assert "1 to train" in proc.stdout
    table = rows(run_dir)
    assert len(table) == TOP * SEEDS + 1  # every earlier row kept
    pd.testing.assert_frame_equal(
        table.merge(rows(reference)[KEY])[SAME], rows(reference)[SAME])


@pytest.mark.battery
def test_resplit_draws_a_new_validation_split_per_seed(confirmed, tmp_path):
    reference, _ = confirmed
    run_dir = copy_of(reference, tmp_path)
    caches = set((run_dir / "cache").glob("tokens-*.npz"))
    proc = run_cli("confirm", run_dir, "--top", 1, "--seeds", SEEDS, "--resplit", env=CPU)
    assert proc.returncode == 0, output(proc)
    assert f"{SEEDS} to train" in proc.stdout  # rows of another split are other rows
    new = rows(run_dir).merge(rows(reference)[KEY], how="left", indicator=True)
    new = new[new._merge == "left_only"]
    assert len(new) == SEEDS and (new.split_seed == new.seed).all()
    # Each split's text vectorized anew (the cache is keyed by the split).
    assert len(set((run_dir / "cache").glob("tokens-*.npz")) - caches) == SEEDS
    assert json.loads((run_dir / "test.json").read_text())["confirmed"]["resplit"] is True


def _intervals(out: str) -> tuple[list[float], list[float]]:
    """The printed table's ci_low and ci_high columns."""
    lines = out.splitlines()
    head = next(i for i, ln in enumerate(lines) if "ci_low" in ln.split())
    cols = lines[head].split()
    lows, highs = [], []
    for ln in lines[head + 1:]:
        if not ln.strip():
            break
        cells = ln.split()
        if len(cells) == len(cols) and cells[cols.index("ci_low")]:
            lows.append(float(cells[cols.index("ci_low")]))
            highs.append(float(cells[cols.index("ci_high")]))
    return lows, highs
