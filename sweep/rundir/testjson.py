"""test.json's records beside the selected trial's score: `sweep confirm`'s configuration and
the linear baseline, each under its own key, kept when the selected trial is scored again.

    {"trial_id": ..., "test_accuracy": ..., ...,     (sweep.train.evaluation)
     "confirmed": {...},                             (sweep confirm: its leader on test)
     "confirm_plan": {"top", "seeds", "resplit"},    (the last sweep confirm's question)
     "baseline": {...}}                              (sweep.search.baseline, via the lifecycle)
"""

from __future__ import annotations

from sweep.rundir.atomic import read_json
from sweep.rundir.layout import RunDir
from sweep.rundir.writes import write_run_json

CONFIRMED = "confirmed"  # `sweep confirm`'s configuration
CONFIRM_PLAN = "confirm_plan"  # what the last `sweep confirm` asked: the repeats its summary covers
BASELINE = "baseline"  # the linear baseline
KEPT = (CONFIRMED, CONFIRM_PLAN, BASELINE)  # records of their own, kept when the selected trial is rescored


def record_confirmed(run: RunDir, entry: dict) -> None:
    """Adds `sweep confirm`'s result to test.json under CONFIRMED, keeping the rest as it is."""
    _record(run, CONFIRMED, entry)


def record_confirm_plan(run: RunDir, plan: dict) -> None:
    """Saves what a `sweep confirm` asks (top, seeds, resplit) before it trains: every reader
    summarises those repeats of confirm.csv (`sweep.analysis.confirm.planned`)."""
    _record(run, CONFIRM_PLAN, plan)


def record_baseline(run: RunDir, entry: dict) -> None:
    """Adds the linear baseline's result to test.json under BASELINE, keeping the rest as it is."""
    _record(run, BASELINE, entry)


def saved_baseline(run: RunDir, fingerprint: str) -> dict | None:
    """The baseline test.json holds for this data (same splits), else None."""
    test = read_json(run.test_json)
    entry = test.get(BASELINE) if isinstance(test, dict) else None
    return entry if isinstance(entry, dict) and entry.get("fingerprint") == fingerprint else None


def _record(run: RunDir, key: str, entry: dict) -> None:
    test = read_json(run.test_json)
    write_run_json(run, run.test_json, {**(test if isinstance(test, dict) else {}), key: entry})
