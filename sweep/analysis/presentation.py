"""How trials are shown, the same in the PNGs (plots.py), report.html (report_figures.py,
report_html.py) and the console: labels, number formats, direction words, the order of a
hyperparameter's values and whether its axis is logarithmic.

An axis is logarithmic because the saved space says so (`sampling: log`, or a list of choices
stepping by ratio: `report_axes.scale`), never because of a hyperparameter's name; values are
ordered as the space lists them (cells in the registry's order where the space does not say).
No matplotlib, no plotly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sweep import metrics
from sweep.analysis.report_axes import number, scale
from sweep.space.hyperparameters import HyperParameter
from sweep.space.registry import CELLS

# What a hyperparameter's number counts, for axis titles.
HP_UNITS = {
    "vocab_size": "tokens", "embedding_dim": "dimensions", "hidden_units": "units per direction",
    "learning_rate": "Adam", "lr_decay": "factor per epoch", "num_layers": "layers",
    "dropout": "rate", "embedding_dropout": "rate", "clipnorm": "max gradient norm",
    "encoder_lr_scale": "fraction of the learning rate",
}


def better(metric: str) -> str:
    """'higher is better' or 'lower is better', from the metric table."""
    return f"{'higher' if metrics.maximize(metric) else 'lower'} is better"


def metric_title(metric: str, sep: str = ", ") -> str:
    """'validation accuracy (fraction correct), higher is better' (`sep` '<br>' for a y axis)."""
    return f"{metrics.label(metric)}{sep}{better(metric)}"


def value(v) -> str:
    """A hyperparameter value as a person reads it: yes/no, 0.003, 20000, LSTM."""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return number(float(v))
    return CELLS.label(v)


def direction(bidirectional) -> str:
    """'bidirectional' or 'one-way'."""
    return "bidirectional" if bool(bidirectional) else "one-way"


def trial_label(row: pd.Series, hp_names: list[str]) -> str:
    """'trial 007: cell=LSTM, bidirectional=yes, learning_rate=0.00123': legends and hover text."""
    return f"trial {row['trial_id']}: " + ", ".join(f"{n}={value(row.get(n))}" for n in hp_names)


def hp_title(name: str, log: bool = False) -> str:
    """'learning_rate (Adam, log scale)': "log scale" where the axis is one."""
    words = ", ".join(w for w in (HP_UNITS.get(name, ""), "log scale" if log else "") if w)
    return f"{name} ({words})" if words else name


def value_order(name: str, values: pd.Series, spec: HyperParameter | None = None) -> list:
    """The values used, in the order a reader expects: the space's list, else numbers by value,
    cells by the registry, anything else as text."""
    shown = scale(spec, values)
    if shown.kind == "category" and spec is not None:
        return list(shown.categories)
    unique = list(values.dropna().unique())
    if name == "cell":
        return sorted(unique, key=CELLS.rank)
    numeric = all(isinstance(v, (int, float, np.number)) for v in unique)
    return sorted(unique) if numeric else sorted(unique, key=str)
