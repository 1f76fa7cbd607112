"""The report's axes: where a hyperparameter's values lie, ranges that fit the data, few readable ticks.

A hyperparameter whose values are numbers is drawn on a number axis, a range and a list of
choices alike; on a log axis where the saved space says so: a range with `sampling: log`, or
a list of positive numbers spaced more evenly by ratio than by difference (8, 16, ..., 1024;
0.003, 0.01, 0.03), which is what a list stepping in powers means. Only the values some
completed trial used set the axis's span (a choice that always diverged is not on it).
Anything else (cells, yes/no, poolings) is a category axis of the values used, in the space's
order. Ticks are at round numbers, or at a list's own values, thinned so that no two labels
touch at the width the report draws them. No TensorFlow, no plotly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sweep import metrics
from sweep.space.hyperparameters import Choice, HyperParameter, Range

CHAR_PX = 7.5  # width of a tick label's character at the report's 12 px font (a little generous)
LINE_PX = 17.0  # height of a tick label, with a little room
MAX_TICKS = 8


def number(value: float) -> str:
    """A tick label: 20000 -> '20000', 0.003 -> '0.003', 1e-05 -> '1e-5', 0.25 -> '0.25'."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e6:
        return str(int(value))
    text = f"{value:.3g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


@dataclass(frozen=True)
class Scale:
    """How one hyperparameter's axis places its values."""

    kind: str  # "log", "linear" or "category"
    categories: tuple = ()  # for "category": the values used, in the space's order

    @property
    def log(self) -> bool:
        return self.kind == "log"

    def unit(self, value: float) -> float:
        """A number in axis units (log10 on a log axis)."""
        return math.log10(value) if self.log else float(value)

    def positions(self, values: pd.Series) -> list[float]:
        """Where each value lies: log10 of it, itself, or its category's index."""
        if self.kind == "category":
            index = {str(c): i for i, c in enumerate(self.categories)}
            return [float(index.get(str(v), -1)) for v in values]
        return [self.unit(v) for v in values.astype(float)]


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def geometric(choices: list[float]) -> bool:
    """Whether positive choices step by ratio rather than by difference (two: a factor of 10 or more)."""
    v = sorted(choices)
    if len(v) < 2 or v[0] <= 0:
        return False
    if len(v) == 2:
        return v[1] / v[0] >= 10

    def unevenness(steps: np.ndarray) -> float:
        return float(np.std(steps) / np.mean(steps))

    return unevenness(np.diff(np.log(v))) < unevenness(np.diff(v))


def scale(spec: HyperParameter | None, values: pd.Series) -> Scale:
    """The axis of one hyperparameter: `spec` from the saved space, `values` those completed trials used."""
    used = values.dropna()
    numeric = pd.api.types.is_numeric_dtype(used) and not pd.api.types.is_bool_dtype(used)
    if isinstance(spec, Range):
        return Scale("log" if spec.sampling == "log" and (used > 0).all() else "linear")
    if isinstance(spec, Choice) and all(_is_number(v) for v in spec.values) and numeric:
        return Scale("log" if geometric(list(spec.values)) and (used > 0).all() else "linear")
    if spec is None and numeric:
        return Scale("linear")
    order = list(spec.values) if isinstance(spec, Choice) else []
    seen = {str(v) for v in used}
    rest = sorted({v for v in used if str(v) not in {str(o) for o in order}}, key=str)
    return Scale("category", tuple(v for v in order if str(v) in seen) + tuple(rest))


def padded(low: float, high: float, log: bool, fraction: float = 0.06) -> list[float]:
    """[low, high] in axis units with room around it; a single value gets a span of its own."""
    if high > low:
        pad = (high - low) * fraction
    else:
        pad = 0.5 if log else (abs(low) * 0.1 or 1.0)
    return [low - pad, high + pad]


def metric_range(values, column: str) -> list[float] | None:
    """A y range for a metric's values: around them, never below 0, a fraction's never above 1.

    No values (every trial failed): [0, 1] for a fraction, else None (plotly's own).
    """
    v = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").dropna()
    v = v[np.isfinite(v)]
    fraction = metrics.is_metric(column) and metrics.is_fraction(column)
    if v.empty:
        return [0.0, 1.0] if fraction else None
    low, high = float(v.min()), float(v.max())
    pad = max((high - low) * 0.08, 0.02 if fraction else abs(high) * 0.05 or 0.05)
    top = min(1.0, high + pad) if fraction else high + pad
    return [max(0.0, low - pad), top]


def wrap(label: str, room_px: float) -> str:
    """`label` broken into lines (plotly's <br>) after '_' and spaces, each as wide as room_px at most."""
    most = max(4, int(room_px // CHAR_PX))
    for words in (r"\([^)]*\)|[^_ ]+[_ ]?|[_ ]", r"[^_ ]+[_ ]?|[_ ]"):  # "(log scale)" whole if it fits
        lines = [""]
        for word in re.findall(words, label):
            if lines[-1] and len(lines[-1] + word.rstrip()) > most:
                lines.append("")
            lines[-1] += word
        if all(len(line.strip()) <= most for line in lines):
            break
    return "<br>".join(line.strip() for line in lines)


def count_axis(count: int, room_px: float) -> dict:
    """An axis of whole numbers 1..count (trials, epochs): integer ticks, as many as fit."""
    most = max(2, min(MAX_TICKS, int(room_px // (len(str(count)) * CHAR_PX + 24))))
    step = _nice_step(max(count - 1, 1) / most, integer=True)
    return {"range": [0.5, count + 0.5], "tick0": 0, "dtick": step}


def _nice_step(raw: float, integer: bool = False) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `raw`."""
    power = 10.0 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 2.5, 5, 10):
        step = m * power
        if step >= raw and (not integer or float(step).is_integer()):
            return max(step, 1.0) if integer else step
    return 10 * power


def _candidate_sets(low: float, high: float, log: bool) -> list[list[float]]:
    """Sets of round numbers between low and high (data units), finest first."""
    def within(values):
        return [v for v in values if unit(low) - 1e-9 <= unit(v) <= unit(high) + 1e-9]

    unit = math.log10 if log else float
    sets = []
    if not log:
        step = _nice_step((high - low) / MAX_TICKS)
        for _ in range(5):
            first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
            sets.append([round(k * step, 12) for k in range(first, last + 1)])
            step = _nice_step(step * 1.01)  # the next coarser round step
        return sets
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for mantissas in ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 5), (1, 3), (1,)):
        sets.append(within([float(f"{m * 10.0 ** d:.12g}") for d in decades for m in mantissas]))
    for every in (2, 3, 5, 10):
        sets.append(within([10.0 ** d for d in decades if d % every == 0]))
    return sets


def ticks(low: float, high: float, log: bool, room_px: float, vertical: bool = False,
          at: list[float] | None = None) -> tuple[list[float], list[str]]:
    """(values, labels) of ticks between low and high (data units) that do not touch on screen.

    The finest set of round numbers whose labels all fit (at least two of them), else the
    coarsest thinned; with `at`, those values, thinned where their labels would touch.

    Args:
        low, high: the axis's span, in data units.
        log: a log axis.
        room_px: the axis's length on screen (about).
        vertical: labels stacked along a vertical axis (their height counts, not their width).
        at: where ticks may go (a list's own choices); by default round numbers.
    """
    if high <= low:
        return [low], [number(low)]
    if at is not None:
        return _thinned(sorted(set(at)), low, high, log, room_px, vertical)
    sets = [s for s in _candidate_sets(low, high, log) if s]
    for values in sets:
        kept = _thinned(values, low, high, log, room_px, vertical)
        if len(values) >= 2 and len(values) <= MAX_TICKS and len(kept[0]) == len(values):
            return kept
    return _thinned(sets[-1] if sets else [low, high], low, high, log, room_px, vertical)


def _thinned(values: list[float], low: float, high: float, log: bool, room_px: float,
             vertical: bool) -> tuple[list[float], list[str]]:
    """`values` less those whose label would touch the one kept before it."""
    unit = math.log10 if log else float
    span = unit(high) - unit(low)
    kept: list[tuple[float, str, float, float]] = []  # value, label, position, size (px)
    for value in values:
        if not unit(low) - 1e-9 <= unit(value) <= unit(high) + 1e-9:
            continue
        label = number(value)
        size = LINE_PX if vertical else len(label) * CHAR_PX + 10
        where = (unit(value) - unit(low)) / span * room_px
        if not kept or where - kept[-1][2] >= (size + kept[-1][3]) / 2:
            kept.append((value, label, where, size))
    return [k[0] for k in kept], [k[1] for k in kept]
