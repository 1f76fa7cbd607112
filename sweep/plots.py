"""DataFrames -> PNGs, with matplotlib's object API (no pyplot global state).

Each function takes the tables `results` builds and writes one self-explanatory figure.
`plot_run` writes all that the run's data allows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sweep import results

CELL_LABELS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp)
    tmp.replace(path)
    return path


def _trial_label(row: pd.Series, hp_names: list[str]) -> str:
    parts = []
    for n in hp_names:
        v = row.get(n)
        if n == "cell":
            parts.append(CELL_LABELS.get(v, str(v)))
        elif n == "bidirectional":
            parts.append("bi" if v else "uni")
        elif isinstance(v, float):
            parts.append(f"{n}={v:.2g}")
        else:
            parts.append(f"{n}={v}")
    return f"trial {row['trial_id']}: " + ", ".join(parts)


def best_curves(trials: pd.DataFrame, history: pd.DataFrame, path: Path,
                objective: str = "val_accuracy", top: int = 3,
                hp_names: list[str] | None = None) -> Path | None:
    """Train vs validation loss and accuracy by epoch for the `top` best trials."""
    done = trials[trials.status == "COMPLETED"].dropna(subset=[objective])
    if done.empty or history.empty:
        return None
    best = done.sort_values(objective, ascending="loss" in objective).head(top)
    hp_names = hp_names or ["cell", "bidirectional"]
    fig = _figure(11, 4.4)
    axes = fig.subplots(1, 2)
    colors = [f"C{i}" for i in range(top)]
    for color, (_, row) in zip(colors, best.iterrows()):
        h = history[history.trial_id == row.trial_id].sort_values("epoch")
        label = _trial_label(row, hp_names)
        for ax, metric in zip(axes, ("loss", "accuracy")):
            if metric in h and h[metric].notna().any():
                ax.plot(h.epoch, h[metric], "--", color=color, marker="o", ms=3,
                        label=f"{label} (train)")
            if f"val_{metric}" in h and h[f"val_{metric}"].notna().any():
                ax.plot(h.epoch, h[f"val_{metric}"], "-", color=color, marker="o", ms=3,
                        label=f"{label} (validation)")
    axes[0].set(title="Loss", xlabel="epoch", ylabel="cross-entropy (nats)")
    axes[1].set(title="Accuracy", xlabel="epoch", ylabel="accuracy (fraction correct)")
    for ax in axes:
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=7, frameon=False)
    fig.suptitle(f"Learning curves of the {len(best)} best trials by {objective} "
                 "(dashed: train, solid: validation)")
    return _save(fig, path)


def hparams(trials: pd.DataFrame, path: Path, hp_names: list[str],
            objective: str = "val_accuracy") -> Path | None:
    """The objective against each hyperparameter that varied."""
    done = trials[trials.status == "COMPLETED"].dropna(subset=[objective])
    names = [n for n in hp_names if n in done and done[n].nunique() > 1]
    if done.empty or not names:
        return None
    cols = min(3, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig = _figure(4.2 * cols, 3.4 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    rng = np.random.default_rng(0)
    for ax, name in zip(axes, names):
        values = done[name]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if numeric and values.nunique() > 4:
            ax.scatter(values, done[objective], s=18, alpha=0.8)
            if name == "learning_rate":
                ax.set_xscale("log")
        else:
            cats = sorted(values.unique(), key=str)
            labels = [CELL_LABELS.get(c, str(c)) if name == "cell" else str(c) for c in cats]
            groups = [done[objective][values == c].to_numpy() for c in cats]
            ax.boxplot(groups, showfliers=False, widths=0.5)
            for i, g in enumerate(groups, start=1):
                ax.scatter(i + rng.uniform(-0.12, 0.12, len(g)), g, s=14, alpha=0.8, zorder=3)
            ax.set_xticks(range(1, len(cats) + 1), labels)
        unit = " (log scale)" if name == "learning_rate" else ""
        ax.set(xlabel=f"{name}{unit}", ylabel=objective, title=name)
        ax.grid(alpha=0.3)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    fig.suptitle(f"{objective} of each completed trial against each hyperparameter that varied")
    return _save(fig, path)


def cells(trials: pd.DataFrame, path: Path, objective: str = "val_accuracy") -> Path | None:
    """The objective for each cell x direction: SimpleRNN vs LSTM vs GRU at a glance."""
    done = trials[trials.status == "COMPLETED"].dropna(subset=[objective])
    if done.empty or "cell" not in done:
        return None
    bidi = done["bidirectional"].fillna(False).astype(bool) if "bidirectional" in done else \
        pd.Series(False, index=done.index)
    keys = sorted({(c, b) for c, b in zip(done.cell, bidi)},
                  key=lambda k: (list(CELL_LABELS).index(k[0]) if k[0] in CELL_LABELS else 9, k[1]))
    fig = _figure(max(5, 1.6 * len(keys) + 2), 4.2)
    ax = fig.subplots()
    for i, (cell, b) in enumerate(keys):
        vals = done[objective][(done.cell == cell) & (bidi == b)].to_numpy()
        color = f"C{list(CELL_LABELS).index(cell) if cell in CELL_LABELS else 3}"
        ax.bar(i, vals.max(), color=color, alpha=0.35 if not b else 0.6, width=0.6,
               label="best" if i == 0 else None)
        ax.scatter(np.full(len(vals), i), vals, color=color, edgecolor="k", s=22, zorder=3,
                   label="each trial" if i == 0 else None)
        ax.annotate(f"{vals.max():.3f}", (i, vals.max()), ha="center", va="bottom",
                    xytext=(0, 3), textcoords="offset points", fontsize=8)
    ax.set_xticks(range(len(keys)),
                  [f"{CELL_LABELS.get(c, c)}\n{'bidirectional' if b else 'one-way'}" for c, b in keys])
    lo = float(done[objective].min())
    if "accuracy" in objective:
        ax.set_ylim(max(0.0, min(0.5, lo) - 0.02), 1.0)
    ax.set(ylabel=f"{objective} (bar: best trial)", title=f"{objective} by recurrent cell and direction")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def length_accuracy(frame: pd.DataFrame, path: Path) -> Path | None:
    """Test accuracy of the best model of each cell by review length bucket."""
    if frame is None or frame.empty:
        return None
    fig = _figure(7.5, 4.2)
    ax = fig.subplots()
    buckets = frame.drop_duplicates("bucket").sort_values("bucket")
    ticks = [f"{r.min_tokens}-{r.max_tokens}" for r in buckets.itertuples()]
    for cell, g in frame.groupby("cell", sort=False):
        g = g.sort_values("bucket")
        direction = "bidirectional" if bool(g.bidirectional.iloc[0]) else "one-way"
        ax.plot(g.bucket, g.accuracy, marker="o",
                label=f"{CELL_LABELS.get(cell, cell)} ({direction}, trial {g.trial_id.iloc[0]})")
    ax.set_xticks(buckets.bucket, ticks)
    ax.set(xlabel="review length (tokens before truncation), quintiles of the test split",
           ylabel="test accuracy (fraction correct)",
           title="Best model of each cell: test accuracy by review length")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_run(run_dir: str | Path, top: int = 3) -> list[Path]:
    """Writes every plot the run folder has data for; returns the files written."""
    run_dir = Path(run_dir)
    cfg = results.load_run(run_dir)
    objective = cfg.get("tuner", {}).get("objective", "val_accuracy")
    varying = results.varying_hyperparameters(cfg)
    trials, history = results.trials_dataframe(run_dir), results.history_dataframe(run_dir)
    written = [
        best_curves(trials, history, run_dir / "best_curves.png", objective, top, varying or None),
        hparams(trials, run_dir / "hparams.png", varying, objective),
        cells(trials, run_dir / "cells.png", objective),
    ]
    la = run_dir / "length_accuracy.csv"
    if la.exists():
        written.append(length_accuracy(pd.read_csv(la), run_dir / "length_accuracy.png"))
    return [p for p in written if p is not None]
