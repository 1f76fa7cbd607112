"""The report's charts: DataFrames -> Plotly figures (plain dicts of data and layout).

Each function takes the tables `sweep.analysis.results` builds and returns one figure, or
None when the run has nothing to show there yet; `sweep.analysis.report_html` places them
on the page, where plotly.js draws them. Figures are written as Plotly's JSON schema
directly (no plotly Python objects, whose validation costs seconds on 200 trials).
No TensorFlow.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sweep import metrics
from sweep.analysis import presentation as show
from sweep.analysis import report_axes as axes
from sweep.analysis import results, verdict
from sweep.analysis.importance import Importance
from sweep.metrics import TrialStatus
from sweep.space.hyperparameters import HyperParameter, Range
from sweep.space.registry import CELLS  # the cells' order and labels

Figure = dict
HIGHLIGHT = "#d62728"  # the selected trial, in every chart
POINTS = "#1f77b4"
# By the cell's place in the registry (Plotly's first three for the built-ins; no HIGHLIGHT red)
CELL_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
OTHER_CELL = "#9467bd"  # a cell no registry here knows
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12}
PLOT_PX = 1050  # a chart's plotting width on the page (1200 px less padding and margins), for ticks


def _cell_color(cell) -> str:
    """One colour per cell, the same in every chart."""
    return CELL_COLORS[CELLS.rank(cell) % len(CELL_COLORS)] if cell in CELLS else OTHER_CELL


def _layout(title: str, height: int = 420, **extra) -> dict:
    return {"title": {"text": title, "font": {"size": 15}}, "height": height, "font": FONT,
            "margin": {"l": 70, "r": 30, "t": 60, "b": 60}, "hovermode": "closest",
            "plot_bgcolor": "#fafafa", **extra}


def tidy(figure: Figure) -> Figure:
    """No zero lines: most axes here do not start at zero."""
    layout = figure["layout"]
    layout.setdefault("xaxis", {})
    layout.setdefault("yaxis", {})
    for key, axis in layout.items():
        if key.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            axis.setdefault("zeroline", False)
    return figure


def _order(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials in the order they ran: numeric ids by number, others as text."""
    ids = pd.to_numeric(trials.trial_id, errors="coerce")
    return trials.assign(_n=ids.fillna(math.inf)).sort_values(["_n", "trial_id"]).drop(columns="_n")


def history(trials: pd.DataFrame, objective: str, hp_names: list[str], selected: str | None) -> Figure | None:
    """Each trial's value and the best so far, against trial number and against time."""
    ran = _order(trials[trials.status.isin(metrics.ENDED)])
    if ran.empty:
        return None
    values = pd.to_numeric(ran[objective], errors="coerce").where(ran.status.eq(TrialStatus.COMPLETED))
    number = np.arange(1, len(ran) + 1)
    seconds = pd.to_numeric(ran.seconds, errors="coerce").fillna(0.0).cumsum()
    unit, per = time_unit(float(seconds.max()))
    seconds = seconds / per
    # Carried over failed trials (which have no value), so the line has no gaps.
    best = (values.cummax() if metrics.maximize(objective) else values.cummin()).ffill()
    text = [show.trial_label(r, hp_names) for _, r in ran.iterrows()]
    data = []
    for axis, x in (("x", number), ("x2", seconds)):
        first = axis == "x"
        data.append({"type": "scatter", "mode": "markers", "x": list(x), "y": list(values),
                     "text": text, "name": "each trial", "xaxis": axis, "yaxis": "y",
                     "marker": {"color": POINTS, "size": 7, "opacity": 0.7}, "showlegend": first,
                     "legendgroup": "each", "hovertemplate": "%{text}<br>%{y:.4f}<extra></extra>"})
        data.append({"type": "scatter", "mode": "lines", "x": list(x), "y": list(best),
                     "name": "best so far", "xaxis": axis, "yaxis": "y", "line": {"shape": "hv",
                     "color": HIGHLIGHT, "width": 2}, "showlegend": first, "legendgroup": "best",
                     "hoverinfo": "skip"})
    return {"data": data, "layout": _layout(
        "Optimization history: each completed trial's value and the best so far", 400,
        xaxis={"domain": [0, 0.47], "title": {"text": "trial, in the order they started"},
               **axes.count_axis(len(ran), PLOT_PX * 0.47)},
        xaxis2={"domain": [0.53, 1], "title": {"text": "training time so far, trials one after "
                                               f"another ({unit})"},
                "range": [0, float(seconds.max()) * 1.06 or 1.0], "nticks": 7},
        yaxis={"title": {"text": show.metric_title(objective, "<br>")},
               "range": axes.metric_range(values, objective)},
        legend={"orientation": "h", "y": -0.22})}


def time_unit(seconds: float) -> tuple[str, float]:
    """The unit a span of time reads best in: ('seconds', 1), ('minutes', 60) or ('hours', 3600)."""
    return ("seconds", 1.0) if seconds < 120 else ("minutes", 60.0) if seconds < 7200 else ("hours", 3600.0)


PARALLEL_AXIS_PX = 290  # the height of a parallel-coordinates axis (460 less the margins)


def _axis(values: pd.Series, name: str, spec: HyperParameter | None) -> dict:
    """One parallel-coordinates axis: numbers (in powers of ten on a log axis), or categories by index.

    Its span and ticks are those of the values completed trials used.
    """
    scale = axes.scale(spec, values)
    if scale.kind == "category":
        cats = scale.categories
        return {"label": name, "values": scale.positions(values), "tickvals": list(range(len(cats))),
                "ticktext": [show.value(c) for c in cats], "range": [-0.3, len(cats) - 0.7]}
    v = values.astype(float)
    at = sorted(set(v)) if not isinstance(spec, Range) else None  # a list's own values
    tickvals, ticktext = axes.ticks(float(v.min()), float(v.max()), scale.log, PARALLEL_AXIS_PX,
                                    vertical=True, at=at)
    low, high = scale.unit(v.min()), scale.unit(v.max())
    return {"label": f"{name} (log scale)" if scale.log else name, "values": scale.positions(v),
            "tickvals": [scale.unit(t) for t in tickvals], "ticktext": ticktext,
            "range": axes.padded(low, high, scale.log, 0.0)}


def parallel(trials: pd.DataFrame, objective: str, hp_names: list[str],
             specs: dict[str, HyperParameter]) -> Figure | None:
    """Parallel coordinates of the hyperparameters and the objective; drag on an axis to filter.

    `layout.meta.trial_ids` names each line's trial: the page filters its leaderboard by them.
    """
    done = results.completed(trials, objective)
    names = [n for n in hp_names if n in done]
    if done.empty or not names:
        return None
    dims = [_axis(done[n], n, specs.get(n)) for n in names]
    dims.append({"label": metrics.label(objective), "values": list(done[objective])})
    room = (PLOT_PX - 100) / max(len(dims) - 1, 1) - 12  # the axes' titles sit side by side
    for d in dims:
        d["label"] = axes.wrap(d["label"], room)
    lines = max(d["label"].count("<br>") for d in dims)
    maximize = metrics.maximize(objective)
    # Titles of several lines go below the axes: lines are added downwards, over the ticks on top.
    side = {"labelside": "bottom"} if lines else {}
    below = 40 + 16 * lines if lines else 0
    return {"data": [{"type": "parcoords", "dimensions": dims, **side,
                      "line": {"color": list(done[objective]), "colorscale": "Viridis",
                               "reversescale": not maximize, "showscale": True,
                               "colorbar": {"title": {"text": objective}}}}],
            "layout": _layout("Hyperparameters and the objective, one line per completed trial "
                              "(drag along an axis to keep only the trials in that range)",
                              460 + below, margin={"l": 80, "r": 80, "t": 130, "b": 40 + below},
                              meta={"trial_ids": [str(t) for t in done.trial_id]})}


def importance(result: Importance, objective: str) -> Figure | None:
    """Each hyperparameter's share with its bootstrap interval, largest on top."""
    table = result.table
    if table.empty:
        return None
    shown = table.iloc[::-1]
    return {"data": [{"type": "bar", "orientation": "h", "x": list(shown.share),
                      "y": list(shown.hyperparameter), "marker": {"color": POINTS},
                      "error_x": {"type": "data", "array": list(shown.high - shown.share),
                                  "arrayminus": list(shown.share - shown.low), "color": "#333"},
                      "customdata": list(zip(shown.low, shown.high)),
                      "hovertemplate": "%{y}: %{x:.0%} of the variance (10th-90th percentile "
                                       "%{customdata[0]:.0%} to %{customdata[1]:.0%})<extra></extra>"}],
            "layout": _layout(f"Share of the variance of {metrics.label(objective)} explained by each "
                              f"hyperparameter ({result.trials} completed trials)",
                              max(260, 70 + 34 * len(table)),
                              xaxis={"title": {"text": "share (fANOVA); bars: 10th to 90th percentile "
                                               f"over {result.resamples} bootstrap resamples"},
                                     "tickformat": ".0%", "rangemode": "tozero"},
                              margin={"l": 140, "r": 30, "t": 60, "b": 60})}


def per_hyperparameter(trials: pd.DataFrame, objective: str, hp_names: list[str],
                       specs: dict[str, HyperParameter], selected: str | None) -> Figure | None:
    """The objective against each hyperparameter that varied: one panel each.

    Numbers on a number axis (log where the space's is), over the values completed trials used.
    """
    done = results.completed(trials, objective)
    names = [n for n in hp_names if n in done and done[n].nunique() > 1]
    if done.empty or not names:
        return None
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    gap_x, gap_y = 0.08, 0.5 / max(rows, 1) / 2
    data, layout = [], _layout(f"{metrics.label(objective).capitalize()} against each hyperparameter "
                               "that varied (one dot per completed trial)", 60 + 300 * rows)
    text = [show.trial_label(r, hp_names) for _, r in done.iterrows()]
    is_best = done.trial_id.astype(str) == str(selected)
    rng = np.random.default_rng(0)
    for i, name in enumerate(names):
        r, c = divmod(i, cols)
        k = "" if i == 0 else str(i + 1)
        width = (1 - gap_x * (cols - 1)) / cols
        height = (1 - gap_y * (rows - 1)) / rows
        x0, y1 = c * (width + gap_x), 1 - r * (height + gap_y)
        values = done[name]
        scale = axes.scale(specs.get(name), values)
        axis: dict = {"domain": [x0, x0 + width], "anchor": f"y{k}",
                      "title": {"text": show.hp_title(name, scale.log)}}
        spread = rng.uniform(-0.15, 0.15, len(values))  # jitter, so equal values do not hide
        if scale.kind != "category":  # the values themselves, on a number axis
            x = list(values.astype(float))
            at = sorted(set(x)) if not isinstance(specs.get(name), Range) else None  # a list's values
            low, high = float(min(x)), float(max(x))
            tickvals, ticktext = axes.ticks(low, high, scale.log, PLOT_PX * width, at=at)
            axis.update(type=scale.kind, tickvals=tickvals, ticktext=ticktext,
                        range=axes.padded(scale.unit(low), scale.unit(high), scale.log))
        else:
            x = list(np.array(scale.positions(values)) + spread)
            axis.update(tickvals=list(range(len(scale.categories))),
                        ticktext=[show.value(v) for v in scale.categories],
                        range=[-0.5, len(scale.categories) - 0.5])
        layout[f"xaxis{k}"] = axis
        layout[f"yaxis{k}"] = {"domain": [y1 - height, y1], "anchor": f"x{k}",
                               "title": {"text": objective if c == 0 else ""},
                               "range": axes.metric_range(done[objective], objective)}
        colors = [HIGHLIGHT if b else POINTS for b in is_best]
        data.append({"type": "scatter", "mode": "markers", "x": x, "y": list(done[objective]),
                     "xaxis": f"x{k}", "yaxis": f"y{k}", "text": text, "showlegend": False,
                     "marker": {"color": colors, "size": 7, "opacity": 0.75},
                     "hovertemplate": "%{text}<br>" + objective + " %{y:.4f}<extra></extra>"})
    return {"data": data, "layout": layout}


def curves(trials: pd.DataFrame, history: pd.DataFrame, objective: str, hp_names: list[str],
           selected: str | None) -> Figure | None:
    """Validation objective and loss by epoch of every completed trial, the selected one highlighted."""
    done = results.completed(trials, objective)
    if done.empty or history.empty:
        return None
    panels = [objective] + [c for c in ("val_loss",) if c != objective and c in history]
    data = []
    by_trial = {str(k): g.sort_values("epoch") for k, g in history.groupby("trial_id", sort=False)}
    for _, row in done.iterrows():
        h = by_trial.get(str(row.trial_id))
        if h is None:
            continue
        mine = row.trial_id == selected
        for p, column in enumerate(panels):
            if column not in h:
                continue
            k = "" if p == 0 else str(p + 1)
            data.append({
                "type": "scatter", "mode": "lines+markers", "x": list(h.epoch),
                "y": list(pd.to_numeric(h[column], errors="coerce")), "xaxis": f"x{k}", "yaxis": f"y{k}",
                "name": f"selected: trial {row.trial_id}" if mine else f"trial {row.trial_id}",
                "legendgroup": row.trial_id, "showlegend": bool(mine and p == 0),
                "line": {"color": HIGHLIGHT if mine else "rgba(31,119,180,0.35)",
                         "width": 3 if mine else 1},
                "marker": {"size": 5 if mine else 3},
                "hovertemplate": show.trial_label(row, hp_names) + "<br>epoch %{x}: " + column
                                 + " %{y:.4f}<extra></extra>"})
    data.sort(key=lambda t: t["showlegend"] or "selected" in t["name"])  # the selected one on top
    layout = _layout("Learning curves of every completed trial (selected trial in red; hover to "
                     "identify one)", 420, legend={"orientation": "h", "y": -0.2})
    width = 1 / len(panels)
    epochs = int(pd.to_numeric(history.epoch, errors="coerce").max())
    for p, column in enumerate(panels):
        k = "" if p == 0 else str(p + 1)
        shown = [y for t in data if t["yaxis"] == f"y{k}" for y in t["y"]]
        layout[f"xaxis{k}"] = {"domain": [p * width + (0.05 if p else 0), (p + 1) * width - 0.03],
                               "anchor": f"y{k}", "title": {"text": "epoch"},
                               **axes.count_axis(epochs, PLOT_PX * (width - 0.08))}
        layout[f"yaxis{k}"] = {"anchor": f"x{k}", "title": {"text": metrics.label(column)},
                               "range": axes.metric_range(shown, column)}
    return {"data": data, "layout": layout}


def cells(trials: pd.DataFrame, objective: str, hp_names: list[str]) -> Figure | None:
    """The objective of each trial by cell and direction, the best of each marked."""
    done = results.completed(trials, objective)
    if done.empty or "cell" not in done:
        return None
    bidi = done["bidirectional"].fillna(False).astype(bool) if "bidirectional" in done else \
        pd.Series(False, index=done.index)
    keys = sorted({(c, b) for c, b in zip(done.cell, bidi)},
                  key=lambda k: (CELLS.rank(k[0]), k[1]))
    data = []
    for cell, b in keys:
        group = done[(done.cell == cell) & (bidi == b)]
        data.append({"type": "box", "name": f"{show.value(cell)}<br>{show.direction(b)}",
                     "y": list(group[objective]), "boxpoints": "all", "jitter": 0.4, "pointpos": 0,
                     "marker": {"color": _cell_color(cell), "size": 6},
                     "text": [show.trial_label(r, hp_names) for _, r in group.iterrows()],
                     "hovertemplate": "%{text}<br>%{y:.4f}<extra></extra>", "showlegend": False})
    return {"data": data, "layout": _layout(
        f"{metrics.label(objective).capitalize()} by recurrent cell and direction (each dot a trial)",
        400, yaxis={"title": {"text": show.metric_title(objective, "<br>")},
                    "range": axes.metric_range(done[objective], objective)},
        xaxis={"title": {"text": "recurrent cell and direction"}})}


def by_length(frame: pd.DataFrame | None, max_length: int | None) -> Figure | None:
    """Accuracy of the best model of each cell x direction by review length (length_accuracy.csv),
    on the split the cells are compared on (validation; test in runs before 0.4)."""
    frame, split = verdict.length_view(frame)
    if frame is None or frame.empty:
        return None
    buckets = frame.drop_duplicates("bucket").sort_values("bucket")
    ticks = [f"{r.min_tokens}-{r.max_tokens}<br>({r.examples} reviews)" for r in buckets.itertuples()]
    bidi = frame["bidirectional"].fillna(False).astype(bool) if "bidirectional" in frame else \
        pd.Series(False, index=frame.index)
    data = []
    for (cell, b), g in frame.groupby([frame.cell, bidi], sort=False):
        g = g.sort_values("bucket")
        way = show.direction(b)
        data.append({"type": "scatter", "mode": "lines+markers", "x": list(g.bucket),
                     "y": list(g.accuracy), "line": {"color": _cell_color(cell),
                                                     "dash": "dash" if b else "solid"},
                     "name": f"{show.value(cell)} {way} (trial {g.trial_id.iloc[0]})",
                     "hovertemplate": "%{y:.3f}<extra>%{fullData.name}</extra>"})
    cut = f"; models read the first {max_length} tokens" if max_length else ""
    return {"data": data, "layout": _layout(
        f"{split.capitalize()} accuracy by review length: the best model of each cell and direction", 400,
        xaxis={"tickvals": list(buckets.bucket), "ticktext": ticks,
               "title": {"text": f"review length in tokens (quintiles of the {split} split{cut})"}},
        yaxis={"title": {"text": f"{split} accuracy (fraction correct),<br>{show.better('accuracy')}"},
               "range": axes.metric_range(frame.accuracy, "test_accuracy")},
        legend={"orientation": "h", "y": -0.3})}
