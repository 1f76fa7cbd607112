"""What tracking reads from a run folder, and how its values become MLflow params and metrics.

No MLflow here: `sweep.track.mlflow` asks this module what the folder holds (its tables, a
trial's times, typed hyperparameters and epochs, the test figures, the confirm repeats) and
sends it.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from sweep import metrics, rundir
from sweep.metrics import TrialStatus
from sweep.rundir import RunDir

# Trial-level figures (not per epoch), from trials.csv's columns.
TRIAL_FIGURES = {"epochs_run": "epochs_run", "best_epoch": "best_epoch", "seconds": "seconds",
                 "fit_seconds": "fit_seconds", "overhead_seconds": "overhead_seconds",
                 "peak_rss_mb": "peak_rss_mb", "params": "model_params",
                 "test_accuracy": "test_accuracy", "test_loss": "test_loss"}
END_ARTIFACTS = ("trials.csv", "history.csv", "test.json", "classes.json", "length_accuracy.csv",
                 "confirm.csv", "report.html")


def history_key(column: str) -> str:
    """history.csv's column -> the per-epoch metric's name ('seconds' is the epoch's)."""
    return "epoch_seconds" if column == "seconds" else column


def number(value: Any) -> float | None:
    """A finite-or-infinite float, else None (NaN, text, missing)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def param(value: Any) -> str:
    """A value as an MLflow param's text (lists and dicts as JSON, cut to MLflow's limit)."""
    if hasattr(value, "item"):
        value = value.item()  # NumPy scalars print as Python's
    text = value if isinstance(value, str) else json.dumps(value) if isinstance(value, (list, dict)) \
        else str(value)
    return text[:6000]


def flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    """A nested dict as dotted keys (a hyperparameter's choices stay one value)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and prefix != "hyperparameters.":
            out.update(flatten(v, f"{prefix}{k}."))
        elif v is not None:
            out[f"{prefix}{k}"] = v
    return out


def space_params(cfg) -> tuple[dict[str, str], dict[str, str]]:
    """The saved space as params, and the tuner keys a resume may change (tags, not params)."""
    space = cfg.to_dict()
    space.pop("tracking", None)
    moving = {k: space["tuner"].pop(k) for k in rundir.RESUMABLE_CHANGES}
    return {k: param(v) for k, v in flatten(space).items()}, {k: param(v) for k, v in moving.items()}


def times(run: RunDir, row: pd.Series) -> tuple[int | None, int | None]:
    """An ended trial's start and end (ms), from its record (so a later `sweep track` shows
    when it ran, not when it was sent); (None, None): now."""
    seconds = number(row.get("seconds"))
    try:
        ended = RunDir.trial_record(run.trial_dir(str(row.trial_id))).stat().st_mtime
    except OSError:
        return None, None
    if seconds is None or row.status == TrialStatus.RUNNING:
        return None, None
    return int((ended - seconds) * 1000), int(ended * 1000)


def hyperparameters(run: RunDir, cfg, row: pd.Series) -> dict[str, Any]:
    """The trial's values as KerasTuner saved them (typed), else trials.csv's."""
    trial = rundir.read_json(RunDir.trial_json(run.trial_dir(str(row.trial_id))))
    values = trial.get("hyperparameters", {}).get("values", {}) if isinstance(trial, dict) else {}
    return {n: values.get(n, row.get(n)) for n in cfg.hyperparameters}


def steps(epochs: pd.DataFrame, best_epoch: Any = None) -> dict[str, dict[int, float]]:
    """A trial's history.csv rows as metric -> epoch -> value (missing values left out).

    With `best_epoch` (a completed trial's), the best epoch's metrics once more at the step
    after the last epoch, as MLflow's Keras autologging logs the epoch that early stopping
    restored: MLflow's runs table shows a metric's value at its last step, so it shows the
    trial's figures of trials.csv (its best epoch's), not its last epoch's.
    """
    out: dict[str, dict[int, float]] = {}
    for column in epochs.columns:
        if column in ("trial_id", "epoch"):
            continue
        values = {int(e): v for e, x in zip(epochs["epoch"], epochs[column])
                  if (v := number(x)) is not None}
        if values:
            out[history_key(str(column))] = values
    best = number(best_epoch)
    if best is not None and len(epochs):
        after = int(max(epochs["epoch"])) + 1
        for key, values in out.items():
            if key != "epoch_seconds" and int(best) in values:
                values[after] = values[int(best)]
    return out


def epoch_times(run: RunDir, row: pd.Series, epochs: pd.DataFrame) -> dict[int, int]:
    """When each epoch of a trial ended (ms), for its metrics' timestamps: the trial's epochs.csv
    is written at the end of each epoch, so its last epoch ended when the file was last written
    and each earlier one that many epochs' seconds before. The step after the last epoch (the
    best epoch's figures again) is the trial's end. Empty: unknown (a copy without tuner/)."""
    try:
        last = RunDir.epochs_csv(run.trial_dir(str(row.trial_id))).stat().st_mtime
    except OSError:
        return {}
    if "seconds" not in epochs or not len(epochs):
        return {}
    ordered = epochs.sort_values("epoch", ascending=False)
    out, t = {}, last
    for e, seconds in zip(ordered["epoch"], ordered["seconds"]):
        out[int(e)] = int(t * 1000)
        t -= number(seconds) or 0.0
    end = times(run, row)[1]
    out[int(ordered["epoch"].iloc[0]) + 1] = max(end or 0, out[int(ordered["epoch"].iloc[0])])
    return out


def trial_figures(cfg, row: pd.Series) -> dict[str, float]:
    """An ended trial's figures: trials.csv's, its best-epoch metrics and its objective."""
    figures = {name: number(row.get(col)) for col, name in TRIAL_FIGURES.items()}
    for m in metrics.metric_columns(cfg.tuner.objective):
        figures[f"best_{m}"] = number(row.get(m))
    figures["objective"] = number(row.get(cfg.tuner.objective))
    return {k: v for k, v in figures.items() if v is not None}


def test_figures(test: dict) -> tuple[dict[str, float], str | None]:
    """test.json's figures (the confirmed ones prefixed `confirmed_`, the linear baseline's
    `baseline_`) and its best trial's id."""
    figures: dict[str, float] = {}
    if not test:
        return figures, None
    for k, v in test.items():
        if k.startswith("test_") and (n := number(v)) is not None:
            figures[k] = n
    for key in ("confirmed", "baseline"):
        entry = test.get(key)
        if isinstance(entry, dict):
            for k, v in entry.items():
                if k.startswith(("test_", "val_")) and (n := number(v)) is not None:
                    figures[f"{key}_{k}"] = n
    return figures, None if test.get("trial_id") is None else str(test.get("trial_id"))


def confirm_rows(run: RunDir) -> pd.DataFrame | None:
    """confirm.csv's repeats; None: none, or unreadable."""
    return rundir.read_csv(run.confirm_csv, dtype={"trial_id": str})


def confirm_figures(cfg, row: pd.Series) -> dict[str, float]:
    """One confirm repeat's figures: its metrics, best epoch, epochs and seconds."""
    names = metrics.metric_columns(cfg.tuner.objective)
    figures = {c: number(row.get(c)) for c in [*names, "best_epoch", "epochs_run", "seconds"]}
    return {k: v for k, v in figures.items() if v is not None}
