"""Stopping trials whose learning curves fall behind: a median pruner for any tuner.

Hyperband stops weak configurations by its brackets; random search and Bayesian optimisation
train every trial to the end. `MedianPruner` gives them the rule of Optuna's MedianPruner
(Golovin et al., 2017, "Google Vizier"): after each epoch, a trial whose best objective so far
is worse than the median of the earlier trials' best at the same epoch stops there. It keeps
its best epoch's weights and is ranked like any completed trial; trials.csv's `pruned` says
where and why it stopped. Pruned trials do not count towards the median (as in Optuna, only
trials that ran their course set the bar), and nothing is pruned before `startup` trials have
ended or at a trial's last epoch (stopping there saves nothing).

The curves come from the trial folders (`epochs.csv`, `sweep.json`), so a resumed sweep
prunes exactly as before it stopped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sweep import metrics
from sweep.metrics import TrialStatus
from sweep.rundir import RunDir, read_csv, read_json

STARTUP_TRIALS = 2  # trials that must have run their course before anything is pruned


class MedianPruner:
    """The median rule over the run's earlier trials.

    Args:
        run: the run folder (its trial folders hold the curves).
        objective: the column compared; its direction comes from the metric table.
        epochs: a trial's epochs: the last one is never pruned.
        startup: unpruned trials needed before the rule applies.
    """

    def __init__(self, run: RunDir, objective: str, epochs: int, startup: int = STARTUP_TRIALS):
        self.run, self.objective, self.epochs, self.startup = run, objective, epochs, startup
        self.curves: list[np.ndarray] = []

    def load(self, exclude: str | None = None) -> None:
        """Reads the best-so-far curves of every completed, unpruned trial but `exclude`."""
        self.curves = []
        for trial_dir in self.run.trial_dirs():
            if RunDir.trial_id_of(trial_dir) == exclude:
                continue
            trial = read_json(RunDir.trial_json(trial_dir))
            record = read_json(RunDir.trial_record(trial_dir))
            if not isinstance(trial, dict) or trial.get("status") != TrialStatus.COMPLETED \
                    or (isinstance(record, dict) and record.get("pruned")):
                continue
            epochs = read_csv(RunDir.epochs_csv(trial_dir))
            if epochs is None or self.objective not in epochs or epochs.empty:
                continue
            values = pd.to_numeric(epochs[self.objective], errors="coerce").to_numpy(dtype=float)
            self.curves.append(self._best_so_far(values))

    def check(self, values: list[float]) -> str | None:
        """Why the trial whose objective by epoch is `values` should stop now, or None."""
        epoch = len(values)
        if epoch >= self.epochs or len(self.curves) < self.startup:
            return None
        mine = self._best_so_far(np.asarray(values, dtype=float))[-1]
        others = [c[epoch - 1] for c in self.curves if len(c) >= epoch]
        if len(others) < self.startup or not np.isfinite(mine):
            return None
        median = float(np.median(others))
        if metrics.better(self.objective, median, mine):
            return (f"epoch {epoch}: {self.objective} {mine:.4f} behind the median {median:.4f} of "
                    f"{len(others)} earlier trials at that epoch")
        return None

    def _best_so_far(self, values: np.ndarray) -> np.ndarray:
        filled = np.where(np.isfinite(values), values, -np.inf if self._max else np.inf)
        return np.maximum.accumulate(filled) if self._max else np.minimum.accumulate(filled)

    @property
    def _max(self) -> bool:
        return metrics.direction(self.objective) == "max"
