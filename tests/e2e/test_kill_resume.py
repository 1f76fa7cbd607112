"""Kill and resume, for every tuner and every point a SIGKILL can land.

Each case runs a tiny sweep under `faulty.py`, which SIGKILLs it at one point of one trial:

    mid_epoch     in the middle of the trial's first epoch
    after_trial   once the trial ended and KerasTuner saved it, before the next one
    create_trial  between create_trial's writes: trial.json (RUNNING) is on disk, oracle.json
                  does not know the trial (an orphan)
    end_trial     between end_trial's writes: trial.json says COMPLETED, oracle.json still
                  lists the trial as under way

then resumes it with the plain command (`python -m sweep run SPACE --results-dir DIR`), and
checks that it ends exactly as the same sweep run without a kill: the same trials (ids,
hyperparameters, all COMPLETED, none lost, none run twice) with the same metrics (the
subprocesses run on CPU, where training is deterministic). The trials that had ended before
the kill keep their files as they were (they are not run again).

The full matrix (4 tuners x 4 kill points) is marked `battery` (`make test-battery`); two
cases run in CI, the two kill points whose repair is ours, on the two tuners whose resume
needed it: grid x create_trial (an orphan trial, and KerasTuner #1055: the grid walk lost on
reload) and hyperband x end_trial (trial.json ended, oracle.json not; Hyperband's bracket
state is the most involved). A kill mid-trial is proven in CI by test_resume.py's Ctrl-C then
kill, and random and Bayesian sweeps by test_tuners.py.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from helpers import CPU, make_examples, output, run_cli, snapshot, write_csv, write_space

ALGORITHMS = ["random", "grid", "bayesian", "hyperband"]
# The kill points, as faulty.py faults of trial {t}.
FAULTS = {
    "mid_epoch": "batch:{t}:1",
    "after_trial": "after-trial:{t}",
    "create_trial": "create-trial:{t}",
    "end_trial": "end-trial:{t}",
}
# The trial killed: earlier ones have ended. Hyperband's trial 3 is the second round of
# its bracket (it goes on from trial 0's checkpoint), where its state is most involved.
KILLED_TRIAL = {"random": "1", "grid": "1", "bayesian": "1", "hyperband": "3"}
CI_CASES = {("grid", "create_trial"), ("hyperband", "end_trial")}
CASES = [
    pytest.param(algorithm, point, id=f"{algorithm}-{point}",
                 marks=() if (algorithm, point) in CI_CASES else pytest.mark.battery)
    for algorithm in ALGORITHMS for point in FAULTS
]

# Six points (cell x learning_rate); four trials of two epochs (Hyperband: max_epochs 3,
# factor 3, four trials: three of 1 epoch, then the best of them goes on for 2 more).
HYPERPARAMETERS = {"cell": ["gru", "lstm"], "learning_rate": [0.003, 0.01, 0.03],
                   "vocab_size": 100, "embedding_dim": 8, "hidden_units": 8}
METRICS = ["val_accuracy", "val_loss"]
HISTORY_METRICS = ["loss", "accuracy", "val_loss", "val_accuracy"]


# Seeds whose four trials cover at least three points (checked by `reference`); KerasTuner
# draws a seed per hyperparameter, so a hyperparameter added to the harness moves the draws.
SEEDS = {"bayesian": 1}


def tuner_section(algorithm: str) -> dict:
    seed = SEEDS.get(algorithm, 3)
    if algorithm == "hyperband":
        return {"algorithm": algorithm, "max_trials": 4, "epochs": 3, "hyperband_factor": 3, "seed": seed}
    return {"algorithm": algorithm, "max_trials": 4, "epochs": 2, "seed": seed}


def sweep(space: Path, results: Path, fault: str | None = None) -> subprocess.CompletedProcess:
    """`sweep run SPACE --results-dir RESULTS` (under `fault`), on CPU: deterministic metrics."""
    return run_cli("run", space, "--results-dir", results, fault=fault, env=CPU)


# --- Reading a run folder ---------------------------------------------------------------


def trial_files(run_dir: Path) -> dict[str, dict]:
    """trial id -> its trial.json."""
    out = {}
    for path in sorted((run_dir / "tuner").glob("trial_*/trial.json")):
        trial = json.loads(path.read_text())
        out[trial["trial_id"]] = trial
    return out


def oracle_state(run_dir: Path) -> dict:
    return json.loads((run_dir / "tuner" / "oracle.json").read_text())




def tables(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    trials = pd.read_csv(run_dir / "trials.csv", dtype={"trial_id": str})
    history = pd.read_csv(run_dir / "history.csv", dtype={"trial_id": str})
    return (trials.sort_values("trial_id").set_index("trial_id"),
            history.sort_values(["trial_id", "epoch"]).reset_index(drop=True))


# --- Fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("kill_resume_data") / "reviews.csv",
                     make_examples(300, seed=11))


def space_for(folder: Path, data_csv: Path, algorithm: str) -> Path:
    return write_space(folder / f"{algorithm}.yaml", f"csv:{data_csv}",
                       data={"max_length": 32}, tuner=tuner_section(algorithm),
                       hyperparameters=HYPERPARAMETERS)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data_csv):
    """algorithm -> the run folder of its sweep, run once without a kill (made on demand).

    One after the other: run beside the killed sweep, on a busy two-core machine, the whole
    was slower.
    """
    built: dict[str, Path] = {}

    def get(algorithm: str) -> Path:
        if algorithm not in built:
            folder = tmp_path_factory.mktemp(f"reference_{algorithm}")
            proc = sweep(space_for(folder, data_csv, algorithm), folder / "res")
            assert proc.returncode == 0, f"the uninterrupted {algorithm} sweep failed:\n{output(proc)}"
            run_dir = folder / "res" / "synthetic"
            trials = trial_files(run_dir)
            # A sweep that did vary, over enough trials to kill one in the middle.
            assert len(trials) == tuner_section(algorithm)["max_trials"], sorted(trials)
            values = [t["hyperparameters"]["values"] for t in trials.values()]
            points = {(v["cell"], v["learning_rate"]) for v in values}
            assert len(points) >= 3, points
            built[algorithm] = run_dir
        return built[algorithm]

    return get


# --- The check at the kill: the fault landed where it was meant to -----------------------


def check_killed_state(point: str, killed: str, run_dir: Path) -> None:
    trials = trial_files(run_dir)
    oracle = oracle_state(run_dir)
    ongoing = set(oracle["ongoing_trials"].values())
    earlier = [tid for tid in trials if int(tid) < int(killed)]
    assert len(earlier) == int(killed), sorted(trials)
    assert all(trials[tid]["status"] == "COMPLETED" for tid in earlier), \
        {tid: trials[tid]["status"] for tid in earlier}
    assert all(int(tid) <= int(killed) for tid in trials), f"a trial after {killed} began: {sorted(trials)}"
    assert killed in trials, sorted(trials)
    status = trials[killed]["status"]
    if point == "mid_epoch":
        assert status == "RUNNING" and killed in oracle["start_order"] and killed in ongoing
    elif point == "after_trial":
        assert status == "COMPLETED" and killed in oracle["end_order"] and killed not in ongoing
    elif point == "create_trial":  # an orphan: on disk, unknown to oracle.json
        assert status == "RUNNING" and killed not in oracle["start_order"] and killed not in ongoing
    elif point == "end_trial":  # ended in trial.json, under way in oracle.json
        assert status == "COMPLETED" and killed in ongoing and killed not in oracle["end_order"]


# --- The battery --------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm, point", CASES)
def test_killed_sweep_resumes_as_if_never_killed(algorithm, point, reference, data_csv, tmp_path):
    ref_dir = reference(algorithm)
    space = space_for(tmp_path, data_csv, algorithm)
    results = tmp_path / "res"
    run_dir = results / "synthetic"
    killed = KILLED_TRIAL[algorithm]

    # 1. The sweep, SIGKILLed at the chosen point.
    proc = sweep(space, results, fault=FAULTS[point].format(t=killed))
    assert proc.returncode == -signal.SIGKILL, f"the sweep was not killed:\n{output(proc)}"
    check_killed_state(point, killed, run_dir)
    ended = [tid for tid, t in trial_files(run_dir).items() if t["status"] == "COMPLETED"]
    kept = snapshot(run_dir, ended)
    kept_seconds = {tid: json.loads(kept[run_dir / "tuner" / f"trial_{tid}" / "sweep.json"][0])["seconds"]
                    for tid in ended}

    # 2. The same command, without the fault, finishes it.
    proc = sweep(space, results)
    assert proc.returncode == 0, output(proc)
    assert "Resuming sweep" in proc.stdout, output(proc)
    if point == "create_trial":
        assert f"trial {killed} was created but never started" in proc.stdout, output(proc)
    if point == "end_trial":
        assert f"trial {killed} had ended (COMPLETED); it is not run again" in proc.stdout, output(proc)
    assert json.loads((run_dir / "status.json").read_text())["state"] == "finished"

    # Nothing that had ended ran again: its files are untouched, its time is the first run's.
    for path, (content, mtime) in kept.items():
        assert path.read_bytes() == content and path.stat().st_mtime_ns == mtime, \
            f"{path.relative_to(run_dir)} was rewritten: a trial that had ended ran again"
    trials, history = tables(run_dir)
    for tid, seconds in kept_seconds.items():
        assert trials.loc[tid, "seconds"] == seconds, f"trial {tid}'s seconds changed"

    # The same trials as the sweep never killed: ids, values, status, metrics.
    ref_trials, ref_history = tables(ref_dir)
    assert list(trials.index) == list(ref_trials.index)
    assert (trials.status == "COMPLETED").all(), trials.status.to_dict()
    got, want = trial_files(run_dir), trial_files(ref_dir)
    assert {tid: t["hyperparameters"]["values"] for tid, t in got.items()} == \
        {tid: t["hyperparameters"]["values"] for tid, t in want.items()}
    diff = (trials[METRICS] - ref_trials[METRICS]).abs().max().max()
    assert diff <= 1e-6, f"metrics differ from the uninterrupted sweep by {diff}:\n" \
        f"{trials[METRICS]}\n{ref_trials[METRICS]}"
    # Epoch by epoch too, once each: the re-run trial started over, nothing doubled.
    assert list(history[["trial_id", "epoch"]].itertuples(index=False)) == \
        list(ref_history[["trial_id", "epoch"]].itertuples(index=False))
    diff = (history[HISTORY_METRICS] - ref_history[HISTORY_METRICS]).abs().max().max()
    assert diff <= 1e-6, f"per-epoch metrics differ from the uninterrupted sweep by {diff}"
    # And so the same winner on test.
    test, ref_test = (json.loads((d / "test.json").read_text()) for d in (run_dir, ref_dir))
    assert test["trial_id"] == ref_test["trial_id"]
    assert abs(test["test_accuracy"] - ref_test["test_accuracy"]) <= 1e-6
