"""One plain line per trial that ended (`[n/max] trial ID STATUS hps metric time`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sweep.metrics import TrialStatus

if TYPE_CHECKING:
    import pandas as pd

    from sweep.space.config import SweepConfig

from sweep.progress.events import Say


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
        if row.status in (TrialStatus.FAILED, TrialStatus.INVALID) and isinstance(reason, str):
            shown = reason  # its metrics are those of a broken run
        elif isinstance(metric, float) and not math.isnan(metric):
            shown = f"{objective}={metric:.4f}"
        else:
            shown = reason if isinstance(reason, str) else ""
        seconds = row.get("seconds")
        took = f"{seconds:.1f}s" if isinstance(seconds, float) and not math.isnan(seconds) else ""
        return printable(f"[{self.count}/{self.cfg.tuner.max_trials}] trial {row.trial_id} "
                         f"{row.status:<9} {hps}  {shown}  {took}")


# C0 and C1 control characters but the line break and the tab: an escape sequence in a class
# name, a file name or a failure's reason must not clear, retitle or recolour the terminal.
_CONTROL = dict.fromkeys(c for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if chr(c) not in "\n\t")


def printable(text: object) -> str:
    """`text` as it may be printed to a terminal: control characters (ESC, BEL, ...) removed."""
    return str(text).translate(_CONTROL)


def _short(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)
