"""DataFrames -> PNGs, with matplotlib's object API (no pyplot global state).

Each function takes the tables `results` builds and writes one self-explanatory figure.
`plot_run` writes all that the run's data allows; inside `collecting()` the same calls keep
their figures instead of writing them (the Python API's `Run.plot`, read-only folders too).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sweep import metrics, rundir
from sweep.analysis import presentation as show
from sweep.analysis import results, verdict
from sweep.analysis.record import RunRecord
from sweep.rundir import RunDir, as_run, writes
from sweep.space.hyperparameters import HyperParameter
from sweep.space.registry import CELLS  # the cells' order and colours


def _cell_color(cell) -> str:
    """One colour per cell type, the same in every plot (by its place in the registry)."""
    return f"C{CELLS.rank(cell) % 10}"


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


_collected: ContextVar[dict[str, Figure] | None] = ContextVar("_collected", default=None)


@contextlib.contextmanager
def collecting() -> Iterator[dict[str, Figure]]:
    """Within it, plotting writes no file: each figure lands in the dict, by plot name."""
    made: dict[str, Figure] = {}
    token = _collected.set(made)
    try:
        yield made
    finally:
        _collected.reset(token)


def _save(fig: Figure, path: Path) -> Path:
    collected = _collected.get()
    if collected is not None:
        collected[path.stem] = fig
        return path
    # The Software chunk says who wrote it: `plot --out` rewrites only its own PNGs (rundir.writes).
    writes.save_output(path, writes.PLOT,
                       functools.partial(fig.savefig, metadata={"Software": writes.GENERATOR}))
    return path


def best_curves(trials: pd.DataFrame, history: pd.DataFrame, path: Path,
                objective: str = "val_accuracy", top: int = 3,
                hp_names: list[str] | None = None) -> Path | None:
    """Train vs validation loss and accuracy by epoch for the `top` best trials."""
    done = results.completed(trials, objective)
    if done.empty or history.empty:
        return None
    best = done.sort_values(objective, ascending=metrics.ascending(objective)).head(top)
    hp_names = hp_names or ["cell", "bidirectional"]
    fig = _figure(11, 4.6)
    axes = fig.subplots(1, 2)
    trial_handles = []
    for i, (_, row) in enumerate(best.iterrows()):
        color = f"C{i % 10}"
        h = history[history.trial_id == row.trial_id].sort_values("epoch")
        for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
            for name, style in ((metric, "--"), (f"val_{metric}", "-")):
                if name in h and h[name].notna().any():
                    ax.plot(h.epoch, h[name], style, color=color, marker="o", ms=3)
        trial_handles.append(Line2D([], [], color=color, marker="o", ms=4,
                                    label=show.trial_label(row, hp_names)))
    style_handles = [Line2D([], [], color="0.3", ls="--", label="train"),
                     Line2D([], [], color="0.3", ls="-", label="validation")]
    for ax, name in zip(axes, ("loss", "accuracy"), strict=True):
        ax.set(title=f"{name.capitalize()} ({show.better(name)})", xlabel="epoch", ylabel=metrics.label(name))
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    axes[0].legend(handles=style_handles, fontsize=8, loc="best")
    fig.legend(handles=trial_handles, loc="outside lower center", ncol=1, fontsize=8,
               frameon=False)
    fig.suptitle(f"Learning curves of the {len(best)} best trials by {metrics.label(objective)}")
    return _save(fig, path)


def hparams(trials: pd.DataFrame, path: Path, hp_names: list[str], objective: str = "val_accuracy",
            specs: Mapping[str, HyperParameter] | None = None) -> Path | None:
    """The objective against each hyperparameter that varied (`specs`: the saved space's, which
    say each one's order and scale)."""
    specs = specs or {}
    done = results.completed(trials, objective)
    names = [n for n in hp_names if n in done and done[n].nunique() > 1]
    if done.empty or not names:
        return None
    cols = min(3, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig = _figure(max(6.5, 4.2 * cols), 0.6 + 3.4 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    rng = np.random.default_rng(0)
    for ax, name in zip(axes, names, strict=False):
        values = done[name]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        log = numeric and show.scale(specs.get(name), values).log  # the space's sampling, not the name
        if numeric and values.nunique() > 4:
            ax.scatter(values, done[objective], s=18, alpha=0.8, color="C0")
            if log:
                ax.set_xscale("log")
        else:
            # Few values: a box per value, with every trial shown as a jittered dot.
            cats = show.value_order(name, values, specs.get(name))
            labels = [show.direction(c) if name == "bidirectional" else show.value(c) for c in cats]
            groups = [done[objective][values == c].to_numpy() for c in cats]
            ax.boxplot(groups, showfliers=False, widths=0.5,
                       medianprops={"color": "0.2"})
            for i, g in enumerate(groups, start=1):
                ax.scatter(i + rng.uniform(-0.12, 0.12, len(g)), g, s=16, alpha=0.8,
                           color="C0", zorder=3)
            ax.set_xticks(range(1, len(cats) + 1), labels)
        ax.set(xlabel=show.hp_title(name, bool(log) and values.nunique() > 4),
               ylabel=metrics.label(objective), title=name)
        ax.grid(alpha=0.3)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    fig.suptitle(f"{metrics.label(objective).capitalize()} against each hyperparameter "
                 f"that varied\n(one dot per completed trial; boxes: quartiles)")
    return _save(fig, path)


def cells(trials: pd.DataFrame, path: Path, objective: str = "val_accuracy") -> Path | None:
    """The objective for each cell x direction: SimpleRNN vs LSTM vs GRU at a glance."""
    done = results.completed(trials, objective)
    if done.empty or "cell" not in done:
        return None
    bidi = done["bidirectional"].fillna(False).astype(bool) if "bidirectional" in done else \
        pd.Series(False, index=done.index)
    keys = sorted({(c, b) for c, b in zip(done.cell, bidi, strict=True)},
                  key=lambda k: (CELLS.rank(k[0]), k[1]))
    fig = _figure(max(6, 1.6 * len(keys) + 2), 4.4)
    ax = fig.subplots()
    for i, (cell, b) in enumerate(keys):
        vals = done[objective][(done.cell == cell) & (bidi == b)].to_numpy()
        best = vals[metrics.best_index(objective, vals)]
        color = _cell_color(cell)
        ax.bar(i, best, color=color, alpha=0.6 if b else 0.35, width=0.6,
               hatch="//" if b else None, edgecolor=color,
               label="best trial" if i == 0 else None)
        ax.scatter(np.full(len(vals), i), vals, color=color, edgecolor="k", s=22, zorder=3,
                   label="each trial" if i == 0 else None)
        ax.annotate(f"{best:.3f}\n({len(vals)} trial{'s' if len(vals) > 1 else ''})",
                    (i, best), ha="center", va="bottom", xytext=(0, 4),
                    textcoords="offset points", fontsize=8)
    ax.set_xticks(range(len(keys)),
                  [f"{show.value(c)}\n{show.direction(b)}" for c, b in keys])
    if metrics.is_fraction(objective):
        lo = float(done[objective].min())
        # Room above the best bar for its label; the floor shows chance (0.5) for two classes.
        ax.set_ylim(max(0.0, min(0.5, lo) - 0.02), 1.08)
        ax.set_yticks(np.arange(0, 1.01, 0.1)[np.arange(0, 1.01, 0.1) >= ax.get_ylim()[0]])
    ax.set(xlabel="recurrent cell and direction", ylabel=metrics.label(objective),
           title=f"Best {metrics.label(objective)} by recurrent cell and direction")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    return _save(fig, path)


def length_accuracy(frame: pd.DataFrame | None, path: Path, max_length: int | None = None) -> Path | None:
    """Accuracy of the best model of each cell x direction by review length bucket, on the
    split the cells are compared on (validation; test in runs before 0.4)."""
    cells, split = verdict.length_view(frame)
    if cells is None or cells.empty:
        return None
    frame = cells
    fig = _figure(8, 4.6)
    ax = fig.subplots()
    buckets = frame.drop_duplicates("bucket").sort_values("bucket")
    ticks = [f"{r.min_tokens}-{r.max_tokens}\n({r.examples} reviews)" for r in buckets.itertuples()]
    bidi = frame["bidirectional"].fillna(False).astype(bool) if "bidirectional" in frame else \
        pd.Series(False, index=frame.index)
    for (cell, b), g in frame.groupby([frame.cell, bidi], sort=False):
        g = g.sort_values("bucket")
        ax.plot(g.bucket, g.accuracy, marker="o", color=_cell_color(cell), ls="--" if b else "-",
                label=f"{show.value(cell)} {show.direction(b)} (trial {g.trial_id.iloc[0]})")
    ax.set_xticks(buckets.bucket, ticks, fontsize=8)
    cut = f"; models read the first {max_length} tokens" if max_length else ""
    ax.set(xlabel=f"review length in tokens (quintiles of the {split} split{cut})",
           ylabel=f"{split} accuracy (fraction correct)",
           title=f"{split.capitalize()} accuracy by review length: best model of each cell and direction")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def plot_run(source: RunRecord | RunDir | str | Path, top: int = 3,
             out: RunDir | str | Path | None = None) -> list[Path]:
    """Writes every plot the run folder has data for; returns the files written.

    Args:
        source: the run, as read (`RunRecord`) or its folder (read here).
        top: trials in best_curves.png.
        out: the folder written (default: the run folder).
    """
    record = source if isinstance(source, RunRecord) else RunRecord.read(source)
    run = record.run
    target = as_run(out if out is not None else run)
    cfg, objective, varying = record.config, record.objective, record.varying
    trials, history = record.trials, record.history
    written = [
        best_curves(trials, history, target.plot("best_curves"), objective, top, varying or None),
        hparams(trials, target.plot("hparams"), varying, objective, cfg.hyperparameters),
        cells(trials, target.plot("cells"), objective),
    ]
    by_length = rundir.read_csv(run.length_accuracy_csv)
    if by_length is not None:
        written.append(length_accuracy(by_length, target.plot("length_accuracy"), cfg.data.max_length))
    return [p for p in written if p is not None]


def confirm_seeds(rows: pd.DataFrame, summary: pd.DataFrame, path: Path,
                  objective: str = "val_accuracy", hp_names: list[str] | None = None) -> Path | None:
    """`sweep confirm`: each repeat a dot, each configuration its mean and interval.

    Args:
        rows: confirm.csv's rows (trial_id, seed and the objective).
        summary: `sweep.analysis.confirm.summarize`'s table (with a `sweep` column: the trial's
            single-seed value, drawn as a cross).
        path: the PNG written.
        objective: the metric shown.
        hp_names: the hyperparameters named in each configuration's label.
    """
    shown = summary.dropna(subset=["mean"])
    if shown.empty:
        return None
    hp_names = hp_names or []
    fig = _figure(9, 1.9 + 0.9 * len(shown))
    ax = fig.subplots()
    rng = np.random.default_rng(0)
    for y, (_, conf) in enumerate(shown.iloc[::-1].iterrows()):  # the leader on top
        values = pd.to_numeric(rows.loc[rows.trial_id.astype(str) == conf.trial_id, objective],
                               errors="coerce").dropna()
        ax.scatter(values, y + rng.uniform(-0.12, 0.12, len(values)), s=22, color="C0", alpha=0.8,
                   zorder=3, label="each seed" if y == 0 else None)
        if pd.notna(conf.ci_low):
            ax.errorbar(conf["mean"], y, xerr=[[conf["mean"] - conf.ci_low], [conf.ci_high - conf["mean"]]],
                        fmt="o", color="0.15", ms=7, capsize=5, lw=1.6, zorder=4,
                        label="mean, 95% interval" if y == 0 else None)
        else:
            ax.plot(conf["mean"], y, "o", color="0.15", ms=7, zorder=4,
                    label="mean" if y == 0 else None)
        if pd.notna(conf.get("sweep")):
            ax.plot(conf["sweep"], y, "x", color="C3", ms=8, mew=2, zorder=5,
                    label="the sweep's own run" if y == 0 else None)
    labels = [f"{show.trial_label(conf, hp_names) if hp_names else f'trial {conf.trial_id}'}"
              f"\n(rank {conf['rank']} in the sweep)"
              for _, conf in shown.iloc[::-1].iterrows()]
    ax.set_yticks(range(len(shown)), labels, fontsize=8)
    ax.set_ylim(-0.6, len(shown) - 0.4)
    seeds = int(shown.seeds.max())
    ax.set(xlabel=f"{metrics.label(objective)} at the best epoch ({show.better(objective)})",
           title=f"The top {len(shown)} configurations, retrained with {seeds} new seeds each")
    ax.grid(axis="x", alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=8,
               frameon=False)
    return _save(fig, path)
