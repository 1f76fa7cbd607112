"""The one metric table: what each metric is called, which way is better, how to label it.

Config (which objectives are allowed and their direction), tuning (KerasTuner's objective
and early stopping), results (best epoch, leaderboard order) and plots (axis labels) all
read it; nothing else decides whether a metric is maximised. No TensorFlow at import.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass


class TrialStatus(str, enum.Enum):
    """A trial's status in trials.csv: KerasTuner's own (trial.json), and this project's UNREADABLE.

    A str, so `TrialStatus.COMPLETED == "COMPLETED"` and pandas compares columns with it.
    """

    RUNNING = "RUNNING"
    IDLE = "IDLE"
    INVALID = "INVALID"
    STOPPED = "STOPPED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    INTERRUPTED = "INTERRUPTED"  # a RUNNING trial of a sweep that is no longer running
    UNREADABLE = "UNREADABLE"  # its trial.json cannot be read

    def __str__(self) -> str:
        return self.value


# The statuses of a trial that is over (its row no longer changes).
ENDED = (TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.INVALID)


@dataclass(frozen=True)
class Metric:
    """A per-epoch metric as Keras names it in `fit()`'s logs (without a `val_` prefix).

    Its Keras object is made by `sweep.model.keras_metrics.make` (the model package).
    """

    name: str
    direction: str  # "max" or "min"
    label: str  # what it measures, for axis labels
    fraction: bool = False  # a value in [0, 1] (plots scale their axis to it)


METRICS: dict[str, Metric] = {
    "accuracy": Metric("accuracy", "max", "accuracy (fraction correct)", fraction=True),
    "loss": Metric("loss", "min", "loss (cross-entropy, nats)"),
    "auc": Metric("auc", "max", "ROC AUC (macro one-vs-rest for 3+ classes)", fraction=True),
    "f1": Metric("f1", "max", "F1 score (macro over classes)", fraction=True),
    "precision": Metric("precision", "max",
                        "precision (of class 1; macro over classes for 3+)", fraction=True),
    "recall": Metric("recall", "max",
                     "recall (of class 1; macro over classes for 3+)", fraction=True),
}

# What every trial records, whatever its objective (the objective's metric is added).
ALWAYS = ("accuracy", "loss")

# Where a metric was measured, by the prefix of its column name.
SPLITS = {"val_": "validation", "test_": "test", "": "training"}

# Every objective a space may name: each metric on training and on validation data.
OBJECTIVES = tuple(f"{prefix}{m}" for prefix in ("val_", "") for m in METRICS)

# trials.csv / history.csv columns every run has, in their order there.
METRIC_COLUMNS = [f"{prefix}{m}" for prefix in ("val_", "") for m in ALWAYS]


def compiled(objective: str) -> list[str]:
    """The metrics a model compiles for `objective`: accuracy always, and the objective's own."""
    name = split(objective)[1].name
    return [m for m in dict.fromkeys(["accuracy", name]) if m != "loss"]


def metric_columns(objective: str) -> list[str]:
    """The metric columns of a run with this objective: METRIC_COLUMNS, then the objective's pair."""
    name = split(objective)[1].name
    extra = [f"{prefix}{name}" for prefix in ("val_", "")]
    return list(dict.fromkeys(METRIC_COLUMNS + extra))

# Columns that are better small though they are no metric (leaderboard `--sort`).
SMALLER_IS_BETTER = ("seconds", "fit_seconds", "overhead_seconds", "peak_rss_mb", "params")


def split(column: str) -> tuple[str, Metric]:
    """'val_loss' -> ('validation', loss). Raises KeyError for a column that is no metric."""
    for prefix, where in SPLITS.items():
        if column.startswith(prefix) and column[len(prefix):] in METRICS:
            return where, METRICS[column[len(prefix):]]
    raise KeyError(column)


def is_metric(column: str) -> bool:
    try:
        split(column)
    except KeyError:
        return False
    return True


def direction(column: str) -> str:
    """'max' or 'min': which way `column` (a metric on any split) improves."""
    return split(column)[1].direction


def maximize(column: str) -> bool:
    return direction(column) == "max"


def ascending(column: str) -> bool:
    """Sort order that puts the best first: metrics by direction, costs small first."""
    if is_metric(column):
        return not maximize(column)
    return column in SMALLER_IS_BETTER


def is_fraction(column: str) -> bool:
    """Whether `column` is a metric whose values lie in [0, 1]."""
    return is_metric(column) and split(column)[1].fraction


def label(column: str) -> str:
    """'val_accuracy' -> 'validation accuracy (fraction correct)'; other names unchanged."""
    try:
        where, metric = split(column)
    except KeyError:
        return column
    return f"{where} {metric.label}"


def better(column: str, a: float | None, b: float | None) -> bool:
    """Whether `a` is strictly better than `b` on `column` (a metric, or a cost such as seconds).

    A missing or non-finite value is never better, and any finite value beats one.
    """
    if a is None or not math.isfinite(a):
        return False
    if b is None or not math.isfinite(b):
        return True
    return a < b if ascending(column) else a > b


def best_index(column: str, values: Iterable[float | None]) -> int | None:
    """The position of the best value (the first of equals); None when none is finite.

    The one "best epoch" rule: the epoch whose weights KerasTuner keeps (it saves on a strict
    improvement), confirm keeps, and trials.csv reports.
    """
    best: int | None = None
    best_value: float | None = None
    for i, value in enumerate(values):
        try:
            v = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):  # None, pd.NA, a string
            v = None
        if better(column, v, best_value):
            best, best_value = i, v
    return best
