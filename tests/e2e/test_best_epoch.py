"""One best-epoch rule on a real sweep: trials.csv's best_epoch is the epoch KerasTuner kept.

KerasTuner checkpoints a trial's best epoch (trial.json's best_step, 0-based); trials.csv
reads its best epoch from the per-epoch record with `sweep.metrics.best_index`. Both must
name the same epoch, or a report, confirm and export would speak of different models.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sweep import metrics


def test_trials_csv_best_epoch_is_best_step_plus_one(finished_run):
    trials = pd.read_csv(finished_run / "trials.csv", dtype={"trial_id": str}).set_index("trial_id")
    done = trials[trials.status == metrics.TrialStatus.COMPLETED]
    assert len(done) == 3
    for tid, row in done.iterrows():
        trial_dir = finished_run / "tuner" / f"trial_{tid}"
        saved = json.loads((trial_dir / "trial.json").read_text())
        assert row.best_epoch == saved["best_step"] + 1, f"trial {tid}"
        epochs = pd.read_csv(trial_dir / "epochs.csv")
        assert row.best_epoch == metrics.best_index("val_accuracy", epochs.val_accuracy) + 1
        kept = saved["metrics"]["metrics"]["val_accuracy"]["observations"][0]["value"][0]
        assert row.val_accuracy == pytest.approx(kept)
