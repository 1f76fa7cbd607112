"""The terminal's (and Jupyter's) live progress line, fitted to the console's width."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from sweep.space.config import SweepConfig

from sweep.progress.events import Say, SweepProgress, _Trial, duration


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
