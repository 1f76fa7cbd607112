"""The oracle mixin: a time budget and known starting points, in front of KerasTuner's oracles."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sweep.metrics import TrialStatus

if TYPE_CHECKING:
    _Oracle = Any  # KerasTuner's Oracle, which the mixin is mixed in front of (no types)
else:
    _Oracle = object


class SweepOracleMixin(_Oracle):
    """A time budget and known starting points, in front of one of KerasTuner's oracles.

    Both live in `populate_space`, the method KerasTuner's oracles override to propose a
    trial, so they work alike for every algorithm and for a distributed chief's oracle:

    - budget: once `max_seconds` of search time is spent, no trial is proposed (STOPPED);
      the trial running goes on to its end. Search time is counted across resumes: each
      run of the search adds its time since `start_clock` (saved with the oracle).
    - start_from: each new configuration the oracle proposes (not a Hyperband promotion)
      takes the next known starting point's values; what it leaves out keeps the oracle's
      draw. How many were handed out is saved, so a resume does not hand them out again.
    """

    def __init__(self, *args, max_seconds: float | None = None,
                 start_from: list[dict] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sweep_max_seconds = max_seconds
        self.sweep_start_from = [dict(entry) for entry in start_from or []]
        self.sweep_started = 0  # start_from entries handed out
        self.sweep_seconds_before = 0.0  # search seconds of earlier runs of this sweep
        self.sweep_clock: float | None = None
        self.budget_spent = False

    def start_clock(self) -> None:
        self.sweep_clock = time.monotonic()

    def seconds_used(self) -> float:
        running = 0.0 if self.sweep_clock is None else time.monotonic() - self.sweep_clock
        return self.sweep_seconds_before + running

    def populate_space(self, trial_id):
        if self.sweep_max_seconds is not None and self.seconds_used() >= self.sweep_max_seconds:
            self.budget_spent = True
            return {"status": TrialStatus.STOPPED.value}
        response = super().populate_space(trial_id)
        values = response.get("values")
        if (response.get("status") == TrialStatus.RUNNING and values is not None
                and self.sweep_started < len(self.sweep_start_from)
                and "tuner/trial_id" not in values):
            values.update(self.sweep_start_from[self.sweep_started])
            self.sweep_started += 1
        return response

    def get_state(self):
        state = super().get_state()
        state["sweep"] = {"start_from_used": self.sweep_started,
                          "search_seconds": round(self.seconds_used(), 3)}
        return state

    def set_state(self, state):
        super().set_state(state)
        saved = state.get("sweep") or {}
        self.sweep_started = int(saved.get("start_from_used", 0))
        self.sweep_seconds_before = float(saved.get("search_seconds", 0.0))


def oracle_class(base):
    """One of KerasTuner's oracles, with `SweepOracleMixin` in front."""
    return type(f"Sweep{base.__name__}", (SweepOracleMixin, base), {})
