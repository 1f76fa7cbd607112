"""What `sweep run` shows while it trains: plain lines off a terminal, rich's live line on one."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from sweep import progress
from sweep.space import config


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _cfg(objective: str = "val_accuracy", **tuner) -> config.SweepConfig:
    return config.from_dict({"name": "t", "tuner": {"max_trials": 4, "epochs": 3, "objective": objective,
                                                    **tuner},
                             "hyperparameters": {"cell": ["lstm", "gru"], "learning_rate": 0.01}})


def _half_an_epoch(p: progress.SweepProgress, clock: Clock) -> None:
    """Trial 00 starts at 0 s, prepares for 2 s, then runs 5 of 10 batches at 1 s each."""
    p.trial_begin("00", {})
    clock.now = 2.0
    p.epoch_begin(0)
    for batch in range(5):
        clock.now += 1
        p.batch_end(batch)


def _ended(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["trial_id", "status", "val_accuracy", "val_loss", "seconds", "worker"])


def test_plain_lines_say_each_epoch_with_the_time_left_and_the_best():
    said: list[str] = []
    clock = Clock()
    p = progress.SweepProgress(_cfg(), said.append, batches_hint=10, clock=clock)
    p.trials_ended(_ended([]))
    _half_an_epoch(p, clock)
    # Half the epoch took 5 s: 5 s left in it, 2 x 10 s after it; the sweep's other three
    # trials each like this one (7 s so far + 25 s).
    assert p.trial_left() == pytest.approx(25)
    assert p.sweep_left() == pytest.approx(25 + 3 * 32)
    assert said == []  # nothing per batch
    for batch in range(5, 10):
        clock.now += 1
        p.batch_end(batch)
    p.epoch_end(0, {"val_accuracy": 0.75, "loss": 0.5})
    assert said == ["  trial 00 epoch 1/3: val_accuracy=0.7500 in 10.0s; trial ~0:00:20 left, "
                    "sweep ~0:01:56 left; best val_accuracy=0.7500"]
    assert p.batches() == 10


def test_the_sweeps_time_left_comes_from_the_trials_that_ended():
    clock = Clock()
    p = progress.SweepProgress(_cfg(), lambda line: None, clock=clock)
    p.trials_ended(_ended([
        {"trial_id": "00", "status": "COMPLETED", "val_accuracy": 0.8, "seconds": 40.0, "worker": "tuner0"},
        {"trial_id": "01", "status": "FAILED", "val_accuracy": 0.9, "seconds": 20.0, "worker": "tuner0"},
    ]))
    assert p.sweep_left() == pytest.approx(2 * 30)  # two trials left, 30 s each on average
    assert (p.best, p.best_trial) == (0.8, "00")  # a failed trial's metrics do not count
    p.trial_begin("02", {})
    clock.now = 10.0  # no batch yet: the running trial is taken as an average one
    assert p.trial_left() is None and p.sweep_left() == pytest.approx(20 + 30)


def test_the_best_follows_the_objectives_direction():
    clock = Clock()
    p = progress.SweepProgress(_cfg("val_loss"), lambda line: None, clock=clock)
    p.trials_ended(_ended([
        {"trial_id": "00", "status": "COMPLETED", "val_loss": 0.5, "seconds": 1.0},
        {"trial_id": "01", "status": "COMPLETED", "val_loss": 0.3, "seconds": 1.0},
    ]))
    assert (p.best, p.best_trial) == (0.3, "01")
    p.trial_begin("02", {})
    p.epoch_begin(0)
    p.epoch_end(0, {"val_loss": 0.4})
    p.epoch_end(1, {"val_loss": float("nan")})
    assert p.best == 0.3
    p.epoch_end(2, {"val_loss": 0.2})
    assert (p.best, p.best_trial, p.best_text()) == (0.2, "02", "best val_loss 0.2000")


def test_distributed_workers_share_the_trials_left():
    p = progress.SweepProgress(_cfg(max_trials=6), lambda line: None, distributed=True, clock=Clock())
    p.trials_ended(_ended([
        {"trial_id": "00", "status": "COMPLETED", "val_accuracy": 0.8, "seconds": 10.0, "worker": "w1"},
        {"trial_id": "01", "status": "COMPLETED", "val_accuracy": 0.7, "seconds": 30.0, "worker": "w2"},
    ]))
    assert p.workers == 2 and p.sweep_left() == pytest.approx(4 * 20 / 2)


def test_a_hyperband_trial_counts_its_own_epochs():
    said: list[str] = []
    clock = Clock()
    p = progress.SweepProgress(_cfg(algorithm="hyperband"), said.append, batches_hint=4, clock=clock)
    p.trial_begin("05", {"tuner/epochs": 4, "tuner/initial_epoch": 2})
    p.epoch_begin(2)
    clock.now = 6.0
    p.epoch_end(2, {"val_accuracy": 0.6})
    assert said[0].startswith("  trial 05 epoch 3/4: val_accuracy=0.6000 in 6.0s; trial ~0:00:06 left")


def test_the_first_batch_which_traces_the_model_is_left_out_of_the_rate():
    clock = Clock()
    p = progress.SweepProgress(_cfg(epochs=1), lambda line: None, batches_hint=10, clock=clock)
    p.trial_begin("00", {})
    p.epoch_begin(0)
    clock.now = 5.0
    p.batch_end(0)
    assert p.trial_left() is None  # one batch tells nothing yet
    for batch in range(1, 5):
        clock.now += 0.5
        p.batch_end(batch)
    assert p.trial_left() == pytest.approx(5 * 0.5)


def test_the_batch_count_grows_past_the_hint():
    p = progress.SweepProgress(_cfg(), lambda line: None, batches_hint=3, clock=Clock())
    p.trial_begin("00", {})
    p.epoch_begin(0)
    for batch in range(5):
        p.batch_end(batch)
    assert p.batches() == 5  # bucketing adds partial batches the hint did not count
    p.epoch_end(0, {})
    assert p.batches() == 5  # seen: the next epochs' count


def test_a_grid_plans_no_more_trials_than_it_has_points():
    assert progress.planned_trials(_cfg(algorithm="grid", max_trials=10)) == 2
    assert progress.planned_trials(_cfg(max_trials=10)) == 10


def test_live_line_on_a_terminal():
    out = io.StringIO()
    from rich.console import Console

    console = Console(file=out, force_terminal=True, width=200, color_system=None)
    said: list[str] = []
    clock = Clock()
    p = progress.LiveProgress(_cfg(), said.append, console=console, batches_hint=10, clock=clock)
    with p:
        p.trials_ended(_ended([]))
        p.trial_begin("00", {})
        p.progress.refresh()
        assert "trial 00 (1/4) preparing data and model" in out.getvalue()
        clock.now = 2.0
        p.epoch_begin(0)
        for batch in range(10):
            clock.now += 1
            p.batch_end(batch)
        p.epoch_end(0, {"val_accuracy": 0.75})
        p.epoch_begin(1)
        for batch in range(4):
            clock.now += 1
            p.batch_end(batch)
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
    assert type(progress.for_console(_cfg(), print)) is progress.SweepProgress
    assert isinstance(progress.for_console(_cfg(), print, live=True, console=None), progress.LiveProgress)


def _live_mid_epoch(width: int) -> tuple[progress.LiveProgress, io.StringIO]:
    """A live line at trial 00's second epoch, 4 of 10 batches in, on a `width`-column console."""
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=width, color_system=None)
    clock = Clock()
    p = progress.LiveProgress(_cfg(), lambda line: None, console=console, batches_hint=10, clock=clock)
    p.trials_ended(_ended([]))
    p.trial_begin("00", {})
    clock.now = 2.0
    p.epoch_begin(0)
    for batch in range(10):
        clock.now += 1
        p.batch_end(batch)
    p.epoch_end(0, {"val_accuracy": 0.75})
    p.epoch_begin(1)
    for batch in range(4):
        clock.now += 1
        p.batch_end(batch)
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


# --- One line per trial that ended (TrialPrinter) ----------------------------------------


def _printer_cfg() -> config.SweepConfig:
    return config.from_dict({"name": "t", "tuner": {"max_trials": 4},
                             "hyperparameters": {"cell": ["lstm", "gru"], "learning_rate": 0.01}})


def test_each_ended_trial_is_said_once_in_order():
    said: list[str] = []
    printer = progress.TrialPrinter(_printer_cfg(), said.append)
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
    printer = progress.TrialPrinter(_printer_cfg(), said.append)
    done = pd.DataFrame([{"trial_id": "0", "status": "COMPLETED", "cell": "lstm"}])
    printer.mark_seen(done)
    printer.print_new(done)
    assert said == [] and printer.count == 1
