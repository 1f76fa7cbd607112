"""The run's console lines: one per trial that ended, once each, failed ones with their reason."""

from __future__ import annotations

import pandas as pd

from sweep import lifecycle
from sweep.space import config


def _cfg() -> config.SweepConfig:
    return config.from_dict({"name": "t", "tuner": {"max_trials": 4},
                             "hyperparameters": {"cell": ["lstm", "gru"], "learning_rate": 0.01}})


def test_each_ended_trial_is_said_once_in_order():
    said: list[str] = []
    printer = lifecycle.TrialPrinter(_cfg(), said.append)
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
    printer = lifecycle.TrialPrinter(_cfg(), said.append)
    done = pd.DataFrame([{"trial_id": "0", "status": "COMPLETED", "cell": "lstm"}])
    printer.mark_seen(done)
    printer.print_new(done)
    assert said == [] and printer.count == 1


def test_classes_are_listed_up_to_ten():
    assert lifecycle.describe_classes(["neg", "pos"]) == "2 classes (neg, pos)"
    assert lifecycle.describe_classes([str(i) for i in range(12)]).endswith("8, 9, ... (2 more))")
