"""The live line (sweep.progress.live) and the choice of live or plain lines for a console."""

from __future__ import annotations

import io

import pytest

from sweep import progress
from unit.progress.fakes import Clock, batches, cfg, ended


def test_live_line_on_a_terminal():
    out = io.StringIO()
    from rich.console import Console

    console = Console(file=out, force_terminal=True, width=200, color_system=None)
    said: list[str] = []
    clock = Clock()
    p = progress.LiveProgress(cfg(), said.append, console=console, batches_hint=10, clock=clock)
    with p:
        p.trials_ended(ended([]))
        p.trial_begin("00", {})
        p.progress.refresh()
        assert "trial 00 (1/4) preparing data and model" in out.getvalue()
        clock.now = 2.0
        batches(p, clock, epoch=0, n=10)
        p.epoch_end(0, {"val_accuracy": 0.75})
        batches(p, clock, epoch=1, n=4)
        p.say("[1/4] a line above the live one")
        p.progress.refresh()
        p.trial_end()
        assert p.describe() == "0/4 trials ended"
    text = out.getvalue()
    last = text.split("trial 00 (1/4) epoch 2/3")[-1].splitlines()[0]
    assert "4/10 0:00:16 " in last  # batches of the epoch under way, the trial's time so far
    # 6 s of its second epoch and 10 s of the third left; the sweep's three other
    # trials like this one (16 s so far + 16 s).
    assert "trial ~0:00:16 left, sweep ~0:01:52 left, best val_accuracy 0.7500" in last
    assert "[1/4] a line above the live one" in text
    assert "\x1b[" in text  # drawn in place with terminal control codes
    assert "val_accuracy=0.7500 in" not in text and said == []  # no plain epoch line here


def test_the_console_decides_live_or_plain(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("TERM", "xterm")
    assert progress.wants_live(None, Tty()) and not progress.wants_live(None, io.StringIO())
    assert not progress.wants_live("plain", Tty()) and progress.wants_live("live", io.StringIO())
    monkeypatch.setenv("TERM", "dumb")
    assert not progress.wants_live(None, Tty())
    # Jupyter (sweep.run in a notebook): live when ipywidgets can draw it, else plain lines.
    assert not progress.in_jupyter()
    monkeypatch.setattr(progress, "in_jupyter", lambda: True)
    found = {"ipywidgets": object()}
    monkeypatch.setattr(progress.importlib.util, "find_spec", lambda name: found.get(name))
    assert progress.wants_live(None, io.StringIO())
    found.clear()
    assert not progress.wants_live(None, io.StringIO())
    monkeypatch.setenv(progress.ENV, "plain")
    assert type(progress.for_console(cfg(), print)) is progress.SweepProgress
    assert isinstance(progress.for_console(cfg(), print, live=True, console=None), progress.LiveProgress)


def _live_mid_epoch(width: int) -> tuple[progress.LiveProgress, io.StringIO]:
    """A live line at trial 00's second epoch, 4 of 10 batches in, on a `width`-column console."""
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=width, color_system=None)
    clock = Clock()
    p = progress.LiveProgress(cfg(), lambda line: None, console=console, batches_hint=10, clock=clock)
    p.trials_ended(ended([]))
    p.trial_begin("00", {})
    clock.now = 2.0
    batches(p, clock, epoch=0, n=10)
    p.epoch_end(0, {"val_accuracy": 0.75})
    batches(p, clock, epoch=1, n=4)
    return p, out


def _drawn(p: progress.LiveProgress) -> list[str]:
    """The live line as rich lays it out on its console: one string per screen line."""
    console = p.progress.console
    table = p.progress.make_tasks_table(p.progress.tasks)
    return ["".join(seg.text for seg in line).rstrip() for line in console.render_lines(table, pad=False)]


@pytest.mark.parametrize("width", [40, 60, 80, 100, 120, 132, 200])
def test_the_live_line_fits_the_console_and_never_wraps(width):
    p, _ = _live_mid_epoch(width)
    lines = _drawn(p)
    assert len(lines) == 1 and len(lines[0]) < width, lines
    assert lines[0].startswith("trial 00 (1/4) epoch 2/3"[: width - 2])


def test_a_narrower_console_drops_the_least_useful_parts_first():
    full = "trial ~0:00:16 left, sweep ~0:01:52 left, best val_accuracy 0.7500"
    assert full in _drawn(_live_mid_epoch(200)[0])[0]
    # 120 columns (where the line used to wrap): everything, on a narrower bar.
    line = _drawn(_live_mid_epoch(120)[0])[0]
    assert full in line and "4/10" in line and "0:00:16 trial" in line
    # 100: the trial's own time left goes first, then its time so far.
    line = _drawn(_live_mid_epoch(100)[0])[0]
    assert "trial ~" not in line and "sweep ~0:01:52 left, best val_accuracy 0.7500" in line
    line = _drawn(_live_mid_epoch(80)[0])[0]
    assert "0:00:16" not in line and "sweep ~0:01:52 left" in line
    # 60: the batch count and the best go; 50: the bar; the sweep's time left stays.
    line = _drawn(_live_mid_epoch(60)[0])[0]
    assert "sweep ~0:01:52 left" in line and "best" not in line and "4/10" not in line and "━" in line
    line = _drawn(_live_mid_epoch(50)[0])[0]
    assert line.endswith("sweep ~0:01:52 left") and "━" not in line


def test_fit_line_keeps_what_fits_and_cuts_only_the_description():
    widths = {"description": 24, "bar": 24, "batches": 4, "elapsed": 7, "trial_left": 19,
              "sweep_left": 19, "best": 26}
    assert progress.fit_line(widths, 200) == widths
    assert progress.fit_line(widths, 120) == {**widths, "bar": 12}
    assert progress.fit_line({**widths, "batches": 0}, 200).keys() == widths.keys() - {"batches"}
    assert progress.fit_line(widths, 10) == {"description": 9}


def test_a_live_redraw_in_a_120_column_terminal_leaves_no_stray_lines():
    p, out = _live_mid_epoch(120)
    with p:
        p.progress.refresh()
        p.say("[1/4] a line above the live one")
        p.progress.refresh()
    text = out.getvalue()
    assert not any(line.strip().startswith(("val_accuracy", "0.7500")) for line in text.splitlines())
