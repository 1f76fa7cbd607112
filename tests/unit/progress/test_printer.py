"""One line per trial that ended (sweep.progress.printer)."""

from __future__ import annotations

import pandas as pd

from sweep import progress
from sweep.space import config


def _printer_cfg() -> config.SweepConfig:
    return config.from_dict({"name": "t", "tuner": {"max_trials": 4},
                             "hyperparameters": {"cell": ["lstm", "gru"], "learning_rate": 0.01}})


def test_each_ended_trial_is_said_once_in_order():
    said: list[str] = []
    printer = progress.TrialPrinter(_printer_cfg(), said.append)
    trials = pd.DataFrame([
        {"trial_id": "0", "status": "COMPLETED", "cell": "lstm", "val_accuracy": 0.81234,
         "seconds": 2.5, "reason": None},
        {"trial_id": "1", "status": "FAILED", "cell": "gru", "val_accuracy": float("nan"),
         "seconds": 1.0, "reason": "loss became nan at epoch 1"},
    ])
    printer.print_new(trials)
    printer.print_new(trials)
    assert said == ["[1/4] trial 0 COMPLETED cell=lstm  val_accuracy=0.8123  2.5s",
                    "[2/4] trial 1 FAILED    cell=gru  loss became nan at epoch 1  1.0s"]


def test_trials_seen_before_a_resume_are_not_said_again():
    said: list[str] = []
    printer = progress.TrialPrinter(_printer_cfg(), said.append)
    done = pd.DataFrame([{"trial_id": "0", "status": "COMPLETED", "cell": "lstm"}])
    printer.mark_seen(done)
    printer.print_new(done)
    assert said == [] and printer.count == 1


def test_printable_removes_control_characters_from_data_but_keeps_lines():
    assert progress.printable("\x1b[2J\x1b[31mneg\x07 \x9b1m") == "[2J[31mneg 1m"
    assert progress.printable("a\tb\nc") == "a\tb\nc"
    failed = pd.Series({"trial_id": "0", "status": "FAILED", "cell": "gru\x1b]0;x\x07",
                        "reason": "boom\x1b[2J", "seconds": 1.0})
    line = progress.TrialPrinter(_printer_cfg(), print).line(failed)
    assert "\x1b" not in line and "\x07" not in line and "boom[2J" in line
