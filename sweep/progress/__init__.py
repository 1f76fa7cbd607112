"""What a sweep shows while it trains: a live line on a terminal, plain lines elsewhere.

Every console line about trials during `sweep run` goes through one `SweepProgress`:

    terminal (stdout is a tty)   rich's live progress line for the running trial, and the
                                 sweep's own lines printed above it:
        trial 03 (4/20) epoch 2/5 ━━━━━━━━╸━━━━━━━ 120/313 0:00:41  trial ~0:01:22 left,
        sweep ~0:25:10 left, best val_accuracy 0.8123
    anything else (CI, a log)    the plain line per trial as before, plus one per epoch:
        trial 03 epoch 2/5: val_accuracy=0.8012 in 41.2s; trial ~0:01:22 left, sweep ~0:25:10 left;
        best val_accuracy=0.8123

The tuner (`tuning.SweepTunerMixin`) reports trial, epoch and batch events; `TrialPrinter`
says the trials that ended (from trials.csv). The estimates are deliberately simple: a
trial's time left from its last epoch's seconds (before its first epoch ends, from the
seconds per batch after the first, which traces the model); the sweep's from the mean
seconds of the trials that ended times the trials left, shared among the workers seen in
trials.csv in a distributed sweep (before any trial ends, the running one's projection).
`SWEEP_PROGRESS=live|plain` overrides the terminal test; Jupyter counts as a terminal (the
Python API). The live line fits the console's width (`fit_line`). No TensorFlow here.

    events    what the tuner reports (TrialEvents) and the plain-line progress (SweepProgress)
    live      the live line (LiveProgress, fit_line)
    printer   one line per trial that ended (TrialPrinter)
    quiet     TensorFlow's native log and warnings held back (the commands and the API)
"""

from __future__ import annotations

import importlib.util
import io
import os
import sys
from typing import TYPE_CHECKING

from sweep.progress.events import Say, SweepProgress, TrialEvents, duration, planned_trials
from sweep.progress.live import BAR_WIDTH, DROP_ORDER, MIN_BAR, LiveProgress, fit_line
from sweep.progress.printer import TrialPrinter, printable

if TYPE_CHECKING:
    from sweep.space.config import SweepConfig

__all__ = ["BAR_WIDTH", "DROP_ORDER", "ENV", "MIN_BAR", "LiveProgress", "Say", "SweepProgress",
           "TrialEvents", "TrialPrinter", "duration", "fit_line", "for_console", "in_jupyter",
           "planned_trials", "printable", "wants_live"]

ENV = "SWEEP_PROGRESS"  # "live" or "plain"; unset: live exactly when stdout is a terminal


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
