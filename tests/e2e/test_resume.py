"""Nothing lost: a killed sweep resumes, failed trials are recorded, same seed same sweep.

The sweeps here are tiny (synthetic CSV, max_length 32, a few trials of 2-3 epochs) but
real: KerasTuner, Keras and the run folder exactly as `sweep run` makes them.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import HUGE_LR, TIMEOUT, logged, make_examples, snapshot, start_cli, write_csv, write_space

from sweep import rundir
from sweep.cli import main
from sweep.rundir import RunDir

TRIALS, EPOCHS = 3, 2


def sweep_space(folder: Path, **sections) -> Path:
    """A three-trial random sweep over cell and width on 400 synthetic reviews."""
    csv = write_csv(folder / "reviews.csv", make_examples(400, seed=3))
    base = {
        "tuner": {"max_trials": TRIALS, "epochs": EPOCHS, "seed": 7},
        "hyperparameters": {"cell": ["gru", "lstm"], "hidden_units": [8, 16]},
    }
    for key, value in sections.items():
        base[key] = {**base.get(key, {}), **value}
    return write_space(folder / "space.yaml", f"csv:{csv}", **base)


def run_in_process(space: Path, results_dir: Path, *flags: str) -> int:
    return main(["run", str(space), "--results-dir", str(results_dir), *flags])


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The sweep run once, start to end, without interruption: its run folder."""
    folder = tmp_path_factory.mktemp("reference")
    space = sweep_space(folder)
    assert run_in_process(space, folder / "res") == 0
    return folder / "res" / "synthetic"


def tables(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    trials = pd.read_csv(run_dir / "trials.csv", dtype={"trial_id": str})
    history = pd.read_csv(run_dir / "history.csv", dtype={"trial_id": str})
    return trials.sort_values("trial_id").reset_index(drop=True), \
        history.sort_values(["trial_id", "epoch"]).reset_index(drop=True)


def assert_same_sweep(run_dir: Path, reference: Path) -> None:
    """Same hyperparameters in the same order, and the same metrics within 1e-6."""
    trials, history = tables(run_dir)
    ref_trials, ref_history = tables(reference)
    hps = ["trial_id", "cell", "hidden_units", "status"]
    pd.testing.assert_frame_equal(trials[hps], ref_trials[hps])
    assert list(history[["trial_id", "epoch"]].itertuples(index=False)) == \
        list(ref_history[["trial_id", "epoch"]].itertuples(index=False))
    metrics = ["loss", "accuracy", "val_loss", "val_accuracy"]
    diff = (history[metrics] - ref_history[metrics]).abs().to_numpy().max()
    assert diff <= 1e-6, f"metrics differ by {diff}"


# --- Reproducibility ------------------------------------------------------------------


# In CI, the same metrics from the same seed are test_ctrl_c_then_kill_then_resume's (below)
# and test_kill_resume.py's: a resumed sweep ends with the uninterrupted one's numbers.
@pytest.mark.battery
def test_same_seed_same_sweep(reference, tmp_path):
    assert run_in_process(sweep_space(tmp_path), tmp_path / "res", "--name", "again") == 0
    assert_same_sweep(tmp_path / "res" / "again", reference)
    trials, _ = tables(reference)
    # The sweep did vary: a comparison of four identical trials would prove little.
    assert trials.cell.nunique() == 2 or trials.hidden_units.nunique() == 2


def test_another_seed_another_sweep(reference, tmp_path):
    space = sweep_space(tmp_path, tuner={"seed": 8, "max_trials": 1, "epochs": 1})
    assert run_in_process(space, tmp_path / "res") == 0
    _, history = tables(tmp_path / "res" / "synthetic")
    _, ref_history = tables(reference)
    assert history.loc[0, "loss"] != ref_history.loc[0, "loss"]


# --- Kill and resume ------------------------------------------------------------------


class Sweep:
    """`python -m sweep run` in a subprocess, its output in files."""

    def __init__(self, space: Path, results_dir: Path, log: Path):
        self.run_dir = results_dir / "synthetic"
        self.log = log
        self.started = time.time()
        self.proc = start_cli("run", space, "--results-dir", results_dir, log=log)

    def trials(self) -> dict[str, dict]:
        """trial id -> {status, rows: epochs recorded, fresh: epochs.csv written by this process}."""
        out = {}
        for trial_dir in sorted((self.run_dir / "tuner").glob("trial_*")):
            try:
                trial = json.loads((trial_dir / "trial.json").read_text())
            except (OSError, ValueError):
                continue
            epochs = trial_dir / "epochs.csv"
            rows = len(epochs.read_text().strip().splitlines()[1:]) if epochs.exists() else 0
            fresh = epochs.exists() and epochs.stat().st_mtime > self.started
            out[trial["trial_id"]] = {"status": trial["status"], "rows": rows, "fresh": fresh}
        return out

    def stop_when(self, ready, sig: int) -> dict[str, dict]:
        """Freezes the sweep until `ready(trials)`, then sends `sig`; returns what was on disk."""
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            assert self.proc.poll() is None, f"the sweep ended first:\n{self.output()}"
            # SIGSTOP first, so what is checked is what the signal interrupts.
            self.proc.send_signal(signal.SIGSTOP)
            trials = self.trials()
            if ready(trials):
                self.proc.send_signal(sig)
                self.proc.send_signal(signal.SIGCONT)
                self.proc.wait(timeout=TIMEOUT)
                return trials
            self.proc.send_signal(signal.SIGCONT)
            time.sleep(0.1)
        self.proc.kill()
        pytest.fail(f"the sweep never reached the state to interrupt:\n{self.output()}")

    def wait(self) -> int:
        return self.proc.wait(timeout=TIMEOUT)

    def output(self) -> str:
        return logged(self.log)




# Signals against a live process: about one run in fifteen failed on an idle 2-core
# machine for a reason not yet pinned down (see the README's notes), so retry it once.
@pytest.mark.flaky(reruns=1)
def test_ctrl_c_then_kill_then_resume(reference, tmp_path, capsys):
    space = sweep_space(tmp_path)
    res = tmp_path / "res"
    run_dir = res / "synthetic"

    # 1. Ctrl-C once the first trial is done and the next one has begun.
    first = Sweep(space, res, tmp_path / "first")
    seen = first.stop_when(
        lambda t: any(v["status"] == "COMPLETED" for v in t.values())
        and any(v["status"] == "RUNNING" for v in t.values()),
        signal.SIGINT,
    )
    assert first.proc.returncode == 130, first.output()
    assert "Interrupted" in first.output() and "resume with the same command" in first.output()
    assert "Traceback" not in first.output()
    assert json.loads((run_dir / "status.json").read_text())["state"] == "interrupted"
    trials, _ = tables(run_dir)
    interrupted = [tid for tid, v in seen.items() if v["status"] == "RUNNING"]
    assert trials.set_index("trial_id").loc[interrupted[0], "status"] == "INTERRUPTED"
    assert "sweep interrupted" in (run_dir / "report.html").read_text()  # written as it stopped

    # 2. The same command, SIGKILLed in the middle of a trial it started itself.
    second = Sweep(space, res, tmp_path / "second")
    at_kill = second.stop_when(
        lambda t: any(v["status"] == "RUNNING" and v["fresh"] and v["rows"] >= 1 for v in t.values()),
        signal.SIGKILL,
    )
    assert second.proc.returncode == -signal.SIGKILL
    done = sorted(tid for tid, v in at_kill.items() if v["status"] == "COMPLETED")
    killed = [tid for tid, v in at_kill.items() if v["status"] == "RUNNING"]
    assert done and len(killed) == 1
    kept = snapshot(run_dir, done)

    # The killed folder reports itself interrupted, with the killed trial so marked.
    capsys.readouterr()
    assert main(["report", str(run_dir)]) == 0
    report = capsys.readouterr().out
    assert "sweep interrupted" in report
    trials, history = tables(run_dir)
    assert trials.set_index("trial_id").loc[killed[0], "status"] == "INTERRUPTED"
    assert not history.duplicated(["trial_id", "epoch"]).any()

    # 3. The same command again finishes the sweep.
    third = Sweep(space, res, tmp_path / "third")
    assert third.wait() == 0, third.output()
    assert "Resuming sweep" in third.output()
    for path, (content, mtime) in kept.items():
        assert path.read_bytes() == content, f"{path} changed: a completed trial was re-run"
        assert path.stat().st_mtime_ns == mtime
    trials, history = tables(run_dir)
    assert len(trials) == TRIALS and (trials.status == "COMPLETED").all()
    assert trials.trial_id.is_unique
    assert not history.duplicated(["trial_id", "epoch"]).any()
    per_trial = history.groupby("trial_id").epoch.agg(["min", "max", "count"])
    assert (per_trial["min"] == 1).all() and (per_trial["max"] == per_trial["count"]).all()
    assert (trials.set_index("trial_id").epochs_run == per_trial["count"]).all()
    # The killed trial was run again from its start, as if nothing had happened: one
    # value per epoch in KerasTuner's record too (it would average old and new runs).
    assert per_trial.loc[killed[0], "count"] >= 1
    record = json.loads((run_dir / "tuner" / f"trial_{killed[0]}" / "trial.json").read_text())
    observations = record["metrics"]["metrics"]["val_accuracy"]["observations"]
    assert [len(o["value"]) for o in observations] == [1] * len(observations)
    assert_same_sweep(run_dir, reference)
    assert rundir.run_state(RunDir(run_dir)) == "finished"
    assert (run_dir / "test.json").exists()


# --- Failed trials --------------------------------------------------------------------



def test_failed_trials_are_recorded_and_the_sweep_goes_on(failed_run):
    proc, run_dir, _ = failed_run
    trials, _ = tables(run_dir)
    assert len(trials) == 3
    failed = trials[trials.status == "FAILED"]
    completed = trials[trials.status == "COMPLETED"]
    assert len(failed) >= 1 and len(completed) >= 1
    assert (failed.learning_rate == HUGE_LR).all() and (completed.learning_rate != HUGE_LR).all()
    # The sweep went on after a failure.
    assert failed.trial_id.min() < completed.trial_id.max()
    # The reason, in one line; TerminateOnNaN stopped the trial in its first epoch.
    assert failed.reason.str.contains(r"loss became (?:nan|inf)", regex=True).all(), failed.reason
    assert (failed.epochs_run.fillna(0) <= 1).all()
    assert "FAILED" in proc.stdout and "loss became" in proc.stdout
    # The best trial, evaluated on test, is a completed one.
    assert json.loads((run_dir / "test.json").read_text())["trial_id"] in set(completed.trial_id)


# In CI: test_folder_safety.py's test_too_many_failures_fail_in_one_line_and_a_higher_limit_resumes
# (a real process) and test_api.py's test_too_many_failures_raise_run_failed.
@pytest.mark.battery
def test_too_many_failures_stop_the_sweep(tmp_path, capsys):
    space = sweep_space(
        tmp_path,
        tuner={"algorithm": "grid", "max_trials": 4, "epochs": 2, "max_consecutive_failed_trials": 2},
        hyperparameters={"cell": "simple_rnn", "learning_rate": HUGE_LR, "hidden_units": [4, 8, 12, 16]},
    )
    assert run_in_process(space, tmp_path / "res") == 1
    err = capsys.readouterr().err
    assert "stopped after 2 failed trials in a row" in err
    assert "max_consecutive_failed_trials" in err and "trials.csv" in err
    assert "Traceback" not in err
    run_dir = tmp_path / "res" / "synthetic"
    trials, _ = tables(run_dir)
    assert list(trials.status) == ["FAILED", "FAILED"]
    assert trials.reason.str.contains("loss became").all()
    assert rundir.run_state(RunDir(run_dir)) == "failed"
