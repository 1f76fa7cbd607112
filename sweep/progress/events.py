"""The events a sweep reports while it trains, and the plain-line progress (`SweepProgress`)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sweep import metrics
from sweep.metrics import TrialStatus

if TYPE_CHECKING:
    import pandas as pd

    from sweep.space.config import SweepConfig


Say = Callable[[str], None]  # how a sweep shows a line (print, a log's write, ...)


class TrialEvents:
    """What the tuner reports while it trains; these do nothing (no console attached)."""

    def trial_begin(self, trial_id: str, values: dict[str, Any]) -> None:
        """A trial starts (before its data is vectorized and its model built)."""

    def epoch_begin(self, epoch: int) -> None:
        """Keras' epoch index, from the trial's initial epoch (Hyperband) upwards."""

    def batch_end(self, batch: int) -> None:
        """A training batch ended; `batch` counts from 0 within the epoch."""

    def epoch_end(self, epoch: int, logs: dict[str, Any] | None) -> None:
        """An epoch ended with Keras' logs (its metrics)."""

    def trial_end(self) -> None:
        """The running trial is over (completed, failed or stopped)."""


class _Trial:
    """The running trial, as far as this process sees it."""

    def __init__(self, trial_id: str, number: int, first_epoch: int, epochs: int, now: float):
        self.trial_id = trial_id
        self.number = number  # its place in the sweep, from 1
        self.first_epoch = first_epoch  # Hyperband resumes trials at a later epoch
        self.epochs = epochs
        self.started = now
        self.epoch: int | None = None  # the epoch under way or last ended
        self.epoch_started: float | None = None  # None between epochs
        self.batch = 0  # batches ended in the current epoch
        self.first_batch_end: float | None = None  # the first batch also traces the model
        self.epoch_seconds: list[float] = []


class SweepProgress(TrialEvents):
    """Tracks the sweep and its running trial; says the plain lines (not a terminal).

    Args:
        cfg: the sweep's space (objective, trial and epoch counts).
        say: where a line goes.
        batches_hint: an estimate of the training batches per epoch, until one epoch is seen.
        distributed: trials are shared among workers (the sweep's time left is divided
            among the workers seen in trials.csv).
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(self, cfg: SweepConfig, say: Say, *, batches_hint: int | None = None,
                 distributed: bool = False, clock: Callable[[], float] = time.monotonic):
        self.objective = cfg.tuner.objective
        self.maximize = metrics.maximize(self.objective)
        self.default_epochs = cfg.tuner.epochs
        self.planned = planned_trials(cfg)
        self._say = say
        self.batches_hint = batches_hint
        self.batches_seen: int | None = None  # batches in the last whole epoch
        self.distributed = distributed
        self.clock = clock
        self.ended = 0
        self.mean_seconds: float | None = None
        self.workers = 1
        self.best: float | None = None
        self.best_trial: str | None = None
        self.trial: _Trial | None = None

    # --- Lifecycle: a no-op here; the terminal shows its live line in between ----------

    def __enter__(self) -> SweepProgress:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def say(self, line: str) -> None:
        """One line for the console (a trial that ended, a note)."""
        self._say(line)

    # --- Events -----------------------------------------------------------------------

    def trial_begin(self, trial_id: str, values: dict[str, Any]) -> None:
        epochs = int(values.get("tuner/epochs", self.default_epochs))
        first = int(values.get("tuner/initial_epoch", 0))
        self.trial = _Trial(str(trial_id), self.ended + 1, first, epochs, self.clock())

    def epoch_begin(self, epoch: int) -> None:
        if (t := self.trial) is not None:
            t.epoch, t.epoch_started, t.batch, t.first_batch_end = epoch, self.clock(), 0, None

    def batch_end(self, batch: int) -> None:
        if (t := self.trial) is not None:
            t.batch = batch + 1
            if t.first_batch_end is None:
                t.first_batch_end = self.clock()

    def epoch_end(self, epoch: int, logs: dict[str, Any] | None) -> None:
        t = self.trial
        if t is None:
            return
        if t.epoch_started is not None:
            t.epoch_seconds.append(self.clock() - t.epoch_started)
        t.epoch, t.epoch_started = epoch, None
        if t.batch:
            self.batches_seen = t.batch
        value = (logs or {}).get(self.objective)
        if value is not None:
            self._offer_best(float(value), t.trial_id)
        self.epoch_said(t, None if value is None else float(value))

    def trial_end(self) -> None:
        self.trial = None

    def trials_ended(self, trials: pd.DataFrame) -> None:
        """The sweep's ended trials (trials.csv rows), all of them: counts, mean time, best."""
        self.ended = len(trials)
        if "seconds" in trials:
            seconds = trials.seconds.dropna()
            self.mean_seconds = float(seconds.mean()) if len(seconds) else None
        if self.distributed and "worker" in trials:
            self.workers = max(1, trials.worker.dropna().nunique())
        if self.objective in trials and "status" in trials:
            done = trials[trials.status == TrialStatus.COMPLETED]
            at = metrics.best_index(self.objective, done[self.objective])
            if at is not None:
                best = done.iloc[at]
                self._offer_best(float(best[self.objective]), str(best.trial_id))

    # --- Estimates --------------------------------------------------------------------

    def batches(self) -> int | None:
        """Training batches in the current epoch: seen in a whole epoch, else the hint."""
        guess = self.batches_seen or self.batches_hint
        t = self.trial
        if t is not None and guess is not None and t.batch > guess:
            return t.batch  # bucketed batches outnumber the hint; the bar grows with them
        return guess

    def trial_left(self) -> float | None:
        """Seconds until the running trial's last epoch ends (early stopping may come sooner)."""
        t = self.trial
        if t is None or t.epoch is None:
            return None
        in_epoch = t.epoch_started is not None
        batches = self.batches()
        if t.epoch_seconds:
            # The last whole epoch, validation included (the first one also traced the model).
            per_epoch = t.epoch_seconds[-1]
            fraction = min(t.batch / batches, 1.0) if in_epoch and batches else 0.0
            this_epoch = per_epoch * (1 - fraction) if in_epoch else 0.0
        elif in_epoch and batches and t.batch >= 2 and t.first_batch_end is not None:
            # The first epoch: from the batches after the first (which traced the model).
            per_batch = (self.clock() - t.first_batch_end) / (t.batch - 1)
            per_epoch = per_batch * batches
            this_epoch = per_batch * max(batches - t.batch, 0)
        else:
            return None
        return this_epoch + per_epoch * max(t.epochs - t.epoch - 1, 0)

    def sweep_left(self) -> float | None:
        """Seconds until the sweep's last planned trial ends."""
        t = self.trial
        running_left = self.trial_left()
        mean = self.mean_seconds
        if mean is None and t is not None and running_left is not None:
            mean = self.clock() - t.started + running_left  # the first trial: its own projection
        waiting = max(self.planned - self.ended - (1 if t is not None else 0), 0)
        if mean is None:
            return 0.0 if waiting == 0 and t is None else None
        if t is not None and running_left is None:
            running_left = max(mean - (self.clock() - t.started), 0.0)  # a trial like the others
        return (running_left or 0.0) + waiting * mean / self.workers

    def best_text(self, sep: str = " ") -> str:
        return "" if self.best is None else f"best {self.objective}{sep}{self.best:.4f}"

    def _offer_best(self, value: float, trial_id: str) -> None:
        if metrics.better(self.objective, value, self.best):
            self.best, self.best_trial = value, trial_id

    # --- Plain lines ------------------------------------------------------------------

    def epoch_said(self, t: _Trial, value: float | None) -> None:
        """One plain line per epoch: `trial ID epoch e/E: objective in s; time left; best`."""
        shown = f"{self.objective}={value:.4f}" if value is not None else "no objective"
        took = f" in {t.epoch_seconds[-1]:.1f}s" if t.epoch_seconds else ""
        left = "; ".join(filter(None, [self.left_text(), self.best_text("=")]))
        self.say(f"  trial {t.trial_id} epoch {t.epoch + 1 if t.epoch is not None else '?'}/{t.epochs}: "
                 f"{shown}{took}" + (f"; {left}" if left else ""))

    def left_text(self) -> str:
        trial, sweep = self.trial_left(), self.sweep_left()
        parts = []
        t = self.trial
        if trial is not None and t is not None and (t.epoch_started is not None or trial > 0):
            parts.append(f"trial ~{duration(trial)} left")
        if sweep is not None:
            parts.append(f"sweep ~{duration(sweep)} left")
        return ", ".join(parts)


def planned_trials(cfg: SweepConfig) -> int:
    """max_trials, or the grid's size when a grid search has fewer points."""
    from sweep.space.hyperparameters import Choice, Range

    if cfg.tuner.algorithm != "grid":
        return cfg.tuner.max_trials
    size = 1
    for spec in cfg.hyperparameters.values():
        if isinstance(spec, Choice):
            size *= len(spec.values)
        elif isinstance(spec, Range) and spec.step:
            size *= int(math.floor((spec.max - spec.min) / spec.step + 1e-9)) + 1
    return min(cfg.tuner.max_trials, size)


def duration(seconds: float) -> str:
    """H:MM:SS, as rich shows elapsed time."""
    return str(timedelta(seconds=max(0, round(seconds))))
