"""What the progress tests share: a hand-moved clock, a small space, trials.csv's ended rows."""

from __future__ import annotations

import pandas as pd

from sweep import progress
from sweep.space import config


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def cfg(objective: str = "val_accuracy", **tuner) -> config.SweepConfig:
    return config.from_dict({"name": "t", "tuner": {"max_trials": 4, "epochs": 3, "objective": objective,
                                                    **tuner},
                             "hyperparameters": {"cell": ["lstm", "gru"], "learning_rate": 0.01}})


def half_an_epoch(p: progress.SweepProgress, clock: Clock) -> None:
    """Trial 00 starts at 0 s, prepares for 2 s, then runs 5 of 10 batches at 1 s each."""
    p.trial_begin("00", {})
    clock.now = 2.0
    batches(p, clock, epoch=0, n=5)


def batches(p: progress.SweepProgress, clock: Clock, epoch: int, n: int) -> None:
    """Epoch `epoch` begins and runs `n` batches of 1 s each."""
    p.epoch_begin(epoch)
    for batch in range(n):
        clock.now += 1
        p.batch_end(batch)


def ended(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["trial_id", "status", "val_accuracy", "val_loss", "seconds", "worker"])

