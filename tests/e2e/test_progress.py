"""`sweep run`'s progress in a real process: plain lines into a pipe, the live line on a terminal."""

from __future__ import annotations

import os
import pty
import time

from helpers import ROOT, make_examples, start_cli, write_csv, write_space

from sweep.progress import ENV


def _space(tmp_path):
    data = write_csv(tmp_path / "data.csv", make_examples(300, seed=5))
    return write_space(tmp_path / "space.yaml", f"csv:{data}",
                       tuner={"algorithm": "random", "max_trials": 1, "epochs": 2},
                       hyperparameters={"cell": "gru", "vocab_size": 100, "embedding_dim": 8,
                                        "hidden_units": 8, "learning_rate": 0.01})


def test_a_pipe_gets_a_plain_line_per_epoch_and_no_escapes(finished_output):
    """The session's finished run printed into a pipe (3 trials of 2 epochs)."""
    stdout, stderr = finished_output
    lines = stdout.splitlines()
    epochs = [ln for ln in lines if ln.startswith("  trial 0 epoch ")]
    assert [ln.split(":")[0] for ln in epochs] == ["  trial 0 epoch 1/2", "  trial 0 epoch 2/2"]
    assert "sweep ~" in epochs[0] and "best val_accuracy=" in epochs[0]
    assert any(ln.startswith("[1/3] trial 0 COMPLETED") for ln in lines)  # the trial's line as before
    assert "\x1b" not in stdout + stderr and "\r" not in stdout


def test_a_terminal_gets_the_live_line(tmp_path):
    """On a pseudo-terminal: rich's line with the trial, epoch, batches and estimates."""
    main, side = pty.openpty()
    proc = start_cli("run", _space(tmp_path), "--results-dir", tmp_path / "results", cwd=ROOT,
                     env={"TERM": "xterm", "COLUMNS": "200", ENV: None}, stdout=side, stderr=side)
    os.close(side)
    out = b""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal's other side closed: the process is done
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    assert proc.wait(timeout=60) == 0, out.decode(errors="replace")[-3000:]
    text = out.decode(errors="replace")
    assert "trial 0 (1/1) preparing data and model" in text  # before the first epoch
    assert "trial 0 (1/1) epoch 2/2" in text and "left, best val_accuracy " in text
    assert "\x1b[" in text  # drawn in place
    assert "  trial 0 epoch 1/2:" not in text  # no plain epoch lines on a terminal
    assert "[1/1] trial 0 COMPLETED" in text and "Best trial 0" in text
