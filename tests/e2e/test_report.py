"""`sweep report` on a real sweep: while it runs, and after it is killed mid-way."""

from __future__ import annotations

import signal
import subprocess
import time

import pandas as pd
import pytest
from helpers import board, make_examples, report, start_cli, write_csv, write_space


# In CI: test_resume.py's test_ctrl_c_then_kill_then_resume reports a SIGKILLed sweep, and
# test_folder_safety.py's test_report_trusts_the_heartbeat a running one.
@pytest.mark.battery
def test_report_on_a_sweep_killed_mid_way(tmp_path, capsys):
    """A real sweep: reported while it runs, then after a SIGKILL (no chance to clean up)."""
    data = write_csv(tmp_path / "data.csv", make_examples(400, seed=5))
    space = write_space(
        tmp_path / "space.yaml", f"csv:{data}",
        tuner={"algorithm": "grid", "max_trials": 3, "epochs": 8, "early_stopping_patience": 8},
        hyperparameters={"cell": ["simple_rnn", "lstm", "gru"], "vocab_size": 100,
                         "embedding_dim": 8, "hidden_units": 8, "learning_rate": 0.01},
    )
    run_dir = tmp_path / "results" / "synthetic"
    proc = start_cli("run", space, "--results-dir", run_dir.parent, cwd=tmp_path,
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        # Wait until trial 0 is done and trial 1 has recorded an epoch.
        second = run_dir / "tuner" / "trial_1" / "epochs.csv"
        deadline = time.monotonic() + 300
        while not (second.exists() and len(second.read_text().splitlines()) >= 2):
            assert proc.poll() is None, proc.stderr.read()[-2000:]
            assert time.monotonic() < deadline, "the sweep did not reach trial 1"
            time.sleep(0.1)

        code, out, _ = report(capsys, run_dir)
        assert code == 0 and "sweep running" in out
        live = pd.read_csv(run_dir / "trials.csv", dtype={"trial_id": str})
        assert "RUNNING" in set(live.status) and "COMPLETED" in set(live.status)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()

    code, out, _ = report(capsys, run_dir)
    assert code == 0
    assert "sweep interrupted" in out
    trials = pd.read_csv(run_dir / "trials.csv", dtype={"trial_id": str}).set_index("trial_id")
    assert trials.at["0", "status"] == "COMPLETED"
    assert "INTERRUPTED" in set(trials.status) and "RUNNING" not in set(trials.status)
    interrupted = trials.index[trials.status == "INTERRUPTED"]
    assert board(out).set_index("trial_id").at[interrupted[0], "status"] == "INTERRUPTED"
