"""What a sweep shows while it trains: a live line on a terminal, plain lines elsewhere.

Every console line about trials during `sweep run` goes through one `SweepProgress`:

    terminal (stdout is a tty)   rich's live progress line for the running trial, and the
                                 sweep's own lines printed above it:
        trial 03 (4/20) epoch 2/5 ━━━━━━━━╸━━━━━━━ 120/313 0:00:41  trial ~0:01:22 left,
        sweep ~0:25:10 left, best val_accuracy 0.8123
    anything else (CI, a log)    the plain line per trial as before, plus one per epoch:
        trial 03 epoch 2/5: val_accuracy=0.8012 in 41.2s; trial ~0:01:22 left, sweep ~0:25:10 left;
        best val_accuracy=0.8123

The tuner (`tuning._SweepTunerMixin`) reports trial, epoch and batch events; `TrialPrinter`
says the trials that ended (from trials.csv). The estimates are deliberately simple: a
trial's time left from its last epoch's seconds (before its first epoch ends, from the
seconds per batch after the first, which traces the model); the sweep's from the mean
seconds of the trials that ended times the trials left, shared among the workers seen in
trials.csv in a distributed sweep (before any trial ends, the running one's projection).
`SWEEP_PROGRESS=live|plain` overrides the terminal test; Jupyter counts as a terminal (the
Python API). The live line fits the console's width (`fit_line`). No TensorFlow here.
"""

from __future__ import annotations

import importlib.util
import io
import math
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sweep import metrics

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from sweep.space.config import SweepConfig

Say = Callable[[str], None]  # how a sweep shows a line (print, a log's write, ...)
ENV = "SWEEP_PROGRESS"  # "live" or "plain"; unset: live exactly when stdout is a terminal


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
            done = trials[trials.status == "COMPLETED"].dropna(subset=[self.objective])
            if len(done):
                best = done.sort_values(self.objective, ascending=not self.maximize).iloc[0]
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
        if not math.isfinite(value):
            return
        if self.best is None or (value > self.best if self.maximize else value < self.best):
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


class LiveProgress(SweepProgress):
    """The terminal: rich's live progress line for the running trial, lines printed above it.

    Args:
        console: where rich draws (tests pass one with force_terminal=True on a StringIO).
        Others: as `SweepProgress`.
    """

    def __init__(self, cfg: SweepConfig, say: Say, *, console: Console | None = None,
                 **kwargs):
        from rich.progress import BarColumn, Progress, ProgressColumn
        from rich.text import Text

        super().__init__(cfg, say, **kwargs)
        state = self

        class Bar(BarColumn):
            """rich's bar, narrowed or left out when the console is too narrow for the line."""

            def render(self, task):
                self.bar_width = state.layout().get("bar", 0)
                return super().render(task) if self.bar_width else Text("")

        class Part(ProgressColumn):
            """One or more of the line's parts (`LiveProgress.parts`), those that fit the width."""

            def __init__(self, *names: str, style: str = "", sep: str = ", "):
                super().__init__()
                self.names, self.style, self.sep = names, style, sep

            def render(self, task) -> Text:
                shown = state.layout()
                texts = state.parts()
                line = self.sep.join(texts[n] for n in self.names if n in shown and texts[n])
                width = shown.get(self.names[0]) if self.names == ("description",) else None
                text = Text(line, style=self.style, no_wrap=True, overflow="ellipsis")
                if width is not None:
                    text.truncate(width, overflow="ellipsis")
                return text

        # transient: the live line goes when the sweep ends; the trial lines above it stay.
        self.progress = Progress(
            Part("description"), Bar(bar_width=BAR_WIDTH), Part("batches"),
            Part("elapsed", style="progress.elapsed"), Part("trial_left", "sweep_left", "best"),
            console=console, transient=True, refresh_per_second=4,
        )
        self.began = False  # a trial has started in this process
        self.task = self.progress.add_task(self.describe(), total=None)

    def __enter__(self) -> LiveProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def parts(self) -> dict[str, str]:
        """The live line's texts, by part (an empty one is not shown)."""
        t = self.trial
        trial = self.trial_left()
        in_epoch = t is not None and t.epoch_started is not None
        sweep = self.sweep_left()
        return {
            "description": self.describe(),
            "batches": f"{t.batch}/{self.batches() or '?'}" if t is not None and in_epoch else "",
            "elapsed": "" if t is None else duration(self.clock() - t.started),
            "trial_left": (f"trial ~{duration(trial)} left" if trial is not None and t is not None
                           and (in_epoch or trial > 0) else ""),
            "sweep_left": "" if sweep is None else f"sweep ~{duration(sweep)} left",
            "best": self.best_text(),
        }

    def layout(self) -> dict[str, int]:
        """The parts shown on this console, with their widths (`fit_line`)."""
        widths = {name: len(text) for name, text in self.parts().items()}
        widths["bar"] = BAR_WIDTH if self.trial is not None else 0
        return fit_line(widths, self.progress.console.width)

    def say(self, line: str) -> None:
        self.progress.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def describe(self) -> str:
        t = self.trial
        if t is None:
            started = self.began or self.ended or self.distributed
            return f"{self.ended}/{self.planned} trials ended" if started else "starting the first trial"
        where = f"trial {t.trial_id} ({t.number}/{self.planned})"
        if t.epoch is None:
            return f"{where} preparing data and model"
        return f"{where} epoch {t.epoch + 1}/{t.epochs}"

    def _update(self, **kwargs) -> None:
        self.progress.update(self.task, description=self.describe(), **kwargs)

    def trial_begin(self, trial_id: str, values: dict[str, Any]) -> None:
        super().trial_begin(trial_id, values)
        self.began = True
        self.progress.reset(self.task, total=None, description=self.describe())
        self.progress.refresh()  # shown at once: vectorizing a first vocabulary can take a while

    def epoch_begin(self, epoch: int) -> None:
        super().epoch_begin(epoch)
        self._update(completed=0, total=self.batches())
        self.progress.refresh()  # once an epoch: short epochs are shown too

    def batch_end(self, batch: int) -> None:
        super().batch_end(batch)
        self._update(completed=batch + 1, total=self.batches())

    def trial_end(self) -> None:
        super().trial_end()
        self._update(completed=0, total=None)

    def trials_ended(self, trials: pd.DataFrame) -> None:
        super().trials_ended(trials)
        self._update()

    def epoch_said(self, t: _Trial, value: float | None) -> None:
        self._update()  # the live line says it; no line per epoch on a terminal
        self.progress.refresh()


BAR_WIDTH = 24  # the live line's bar, at its widest
# The live line's parts, from the first to go when the console is too narrow to the last; the
# description (trial, epoch) stays, cut short if even it does not fit.
DROP_ORDER = ("trial_left", "elapsed", "batches", "best", "bar", "sweep_left")
_COLUMNS = (("description",), ("bar",), ("batches",), ("elapsed",), ("trial_left", "sweep_left", "best"))
MIN_BAR = 10  # narrower than this, the bar goes


def fit_line(widths: dict[str, int], width: int) -> dict[str, int]:
    """Which parts of the live line fit `width` columns, and how wide each is drawn.

    The parts are drawn in `_COLUMNS`' order, one space between columns (rich's grid) and
    ", " between the status parts. Too wide, the bar narrows to MIN_BAR, then parts go in
    DROP_ORDER; the description is cut to what is left. A line that fits never wraps, so a
    redraw leaves no stray line behind.

    Args:
        widths: each part's width (0: nothing to show); "bar" at its widest.
        width: the console's columns.

    Returns:
        The parts shown (width > 0), by name, with their widths.
    """
    shown = {n: w for n, w in widths.items() if w > 0}

    def total() -> int:
        columns = [sum(shown[n] for n in names if n in shown) + 2 * (sum(n in shown for n in names) - 1)
                   for names in _COLUMNS if any(n in shown for n in names)]
        # One column more than those shown: the last character of a full line wraps on some
        # terminals, so the line stays one short of the width.
        return sum(columns) + len(columns)

    if "bar" in shown and total() > width:
        shown["bar"] = max(MIN_BAR, shown["bar"] - (total() - width))
    for name in DROP_ORDER:
        if total() <= width:
            break
        shown.pop(name, None)
    if "description" in shown and total() > width:
        shown["description"] = max(1, shown["description"] - (total() - width))
    return shown


def for_console(cfg: SweepConfig, say: Say, *, live: bool | None = None,
                **kwargs) -> SweepProgress:
    """The progress for this console: live on a terminal (or SWEEP_PROGRESS=live), else plain.

    Args:
        cfg, say, kwargs: as `SweepProgress` (and `LiveProgress`'s console).
        live: force one or the other (None: decide from SWEEP_PROGRESS, then the terminal).
    """
    if live is None:
        live = wants_live(os.environ.get(ENV), sys.stdout)
    return LiveProgress(cfg, say, **kwargs) if live else SweepProgress(cfg, say, **kwargs)


def wants_live(setting: str | None, stream) -> bool:
    """SWEEP_PROGRESS=live|plain decides; unset, a terminal that is not TERM=dumb gets the live
    line, and so does Jupyter where ipywidgets is installed (rich draws its live line there in an
    output widget)."""
    if setting in ("live", "plain"):
        return setting == "live"
    if in_jupyter():
        return importlib.util.find_spec("ipywidgets") is not None
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def in_jupyter() -> bool:
    """Runs in a Jupyter kernel (rich's own test: IPython's ZMQ shell)."""
    from rich.console import Console

    return Console(file=io.StringIO()).is_jupyter


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


class TrialPrinter:
    """Says one line per trial that ended, once each: `[n/max] trial ID STATUS hps metric time`."""

    def __init__(self, cfg: SweepConfig, say: Say):
        self.cfg = cfg
        self.say = say
        self.varying = cfg.varying()
        self.seen: set[str] = set()

    @property
    def count(self) -> int:
        return len(self.seen)

    def mark_seen(self, trials: pd.DataFrame) -> None:
        self.seen.update(trials.trial_id)

    def print_new(self, trials: pd.DataFrame) -> None:
        for _, row in trials.iterrows():
            if row.trial_id not in self.seen:
                self.seen.add(row.trial_id)
                self.say(self.line(row))

    def line(self, row: pd.Series) -> str:
        objective = self.cfg.tuner.objective
        hps = " ".join(f"{k}={_short(row.get(k))}" for k in self.varying)
        metric, reason = row.get(objective), row.get("reason")
        if row.status in ("FAILED", "INVALID") and isinstance(reason, str):
            shown = reason  # its metrics are those of a broken run
        elif isinstance(metric, float) and not math.isnan(metric):
            shown = f"{objective}={metric:.4f}"
        else:
            shown = reason if isinstance(reason, str) else ""
        seconds = row.get("seconds")
        took = f"{seconds:.1f}s" if isinstance(seconds, float) and not math.isnan(seconds) else ""
        return (f"[{self.count}/{self.cfg.tuner.max_trials}] trial {row.trial_id} "
                f"{row.status:<9} {hps}  {shown}  {took}")


def _short(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)
