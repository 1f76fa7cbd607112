"""A run folder -> pandas DataFrames -> trials.csv and history.csv.

Reads only files (KerasTuner's `tuner/trial_*/trial.json`, this project's
`epochs.csv` and `sweep.json` beside them, `config.yaml`, `status.json`, `test.json`),
so it works on a finished run, one still running, one killed mid-way, or a folder
copied from another machine. It never runs a search and needs no TensorFlow.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pandas as pd
import yaml

from sweep.config import HYPERPARAMETERS, ConfigError

TRIAL_COLUMNS = ["trial_id", "status"]
METRIC_COLUMNS = ["val_accuracy", "val_loss", "accuracy", "loss"]
TAIL_COLUMNS = ["epochs_run", "best_epoch", "params", "seconds", "fit_seconds",
                "overhead_seconds", "peak_rss_mb", "worker", "test_accuracy", "test_loss", "reason"]
HISTORY_COLUMNS = ["trial_id", "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]


class NotARunError(ConfigError):
    """The folder given is not a sweep's run folder."""


def load_run(run_dir: str | Path) -> dict:
    """The run's saved config (as a dict), checking that the folder is a run."""
    run_dir = Path(run_dir)
    cfg = run_dir / "config.yaml"
    if not run_dir.exists():
        raise NotARunError(f"{run_dir}: no such folder")
    if not run_dir.is_dir():
        raise NotARunError(f"{run_dir}: not a folder (give a run folder such as results/NAME)")
    if not cfg.is_file():
        raise NotARunError(f"{run_dir}: not a run folder (no config.yaml in it)")
    try:
        saved = yaml.safe_load(cfg.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise NotARunError(f"{cfg}: unreadable ({str(e).splitlines()[0]})") from None
    if not isinstance(saved, dict):
        raise NotARunError(f"{cfg}: not a saved search space")
    return saved


def class_names(run_dir: str | Path) -> list[str] | None:
    """The class names by class id (`classes.json`), or None before the sweep saved them."""
    names = _read_json(Path(run_dir) / "classes.json")
    return [str(n) for n in names] if isinstance(names, list) else None


def run_state(run_dir: Path) -> str:
    """'running', 'finished', 'interrupted' or 'failed' (a dead 'running' one is interrupted).

    Whether a 'running' sweep is alive is checked by its pid on the host that wrote
    status.json; in a folder copied from another host the recorded state is trusted.
    """
    status = _read_json(Path(run_dir) / "status.json")
    if not isinstance(status, dict):
        return "interrupted"
    state = status.get("state", "interrupted")
    here = status.get("host") in (None, socket.gethostname())
    if state == "running" and here and not _alive(status.get("pid")):
        return "interrupted"
    return state


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # missing, or caught mid-write by a copy: skip it


def trials_dataframe(run_dir: str | Path, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per trial: id, status, hyperparameters, metrics at the best epoch, timings.

    Args:
        run_dir: the run folder.
        history: `history_dataframe(run_dir)`, when the caller has read it already.
    """
    run_dir = Path(run_dir)
    cfg = load_run(run_dir)
    objective = cfg.get("tuner", {}).get("objective", "val_accuracy")
    hp_names = list(cfg.get("hyperparameters", {}))
    running = run_state(run_dir) == "running"
    test = _read_json(run_dir / "test.json") or {}
    if history is None:
        history = history_dataframe(run_dir)
    rows = []
    for trial_dir in sorted((run_dir / "tuner").glob("trial_*")):
        trial = _read_json(trial_dir / "trial.json")
        if trial is None:
            continue
        tid = str(trial["trial_id"])
        status = trial.get("status", "")
        if status == "RUNNING" and not running:
            status = "INTERRUPTED"
        row = {"trial_id": tid, "status": status}
        values = trial.get("hyperparameters", {}).get("values", {})
        # A trial saved before a hyperparameter existed ran at its default.
        row.update({n: values.get(n, _default(n)) for n in hp_names})
        row.update(_best_epoch(history[history.trial_id == tid], objective))
        if not row.get("epochs_run"):
            row.update(_kt_metrics(trial))
        row.update(_read_json(trial_dir / "sweep.json") or {})
        if test.get("trial_id") == tid:
            row["test_accuracy"] = test.get("test_accuracy")
            row["test_loss"] = test.get("test_loss")
        if trial.get("message") and status in ("FAILED", "INVALID"):
            row["reason"] = _reason(trial["message"])
        rows.append(row)
    columns = TRIAL_COLUMNS + hp_names + METRIC_COLUMNS + TAIL_COLUMNS
    frame = pd.DataFrame(rows)
    for c in columns:
        if c not in frame:
            frame[c] = pd.NA
    for name, spec in cfg.get("hyperparameters", {}).items():
        # KerasTuner's hp.Choice stores [false, true] as [0, 1]; show what the space said.
        values = spec if isinstance(spec, list) else [spec]
        if values and all(isinstance(v, bool) for v in values) and frame[name].notna().all():
            frame[name] = frame[name].astype(bool)
    extra = [c for c in frame.columns if c not in columns]
    return frame[columns + extra]


def _default(name: str):
    rule = HYPERPARAMETERS.get(name)
    return rule.default if rule else None


def _best_epoch(epochs: pd.DataFrame, objective: str) -> dict:
    if epochs.empty or objective not in epochs or epochs[objective].isna().all():
        return {"epochs_run": len(epochs)} if len(epochs) else {}
    best = epochs[objective].idxmax() if "accuracy" in objective else epochs[objective].idxmin()
    row = {m: epochs.at[best, m] for m in METRIC_COLUMNS if m in epochs}
    row.update(epochs_run=len(epochs), best_epoch=int(epochs.at[best, "epoch"]))
    return row


def _kt_metrics(trial: dict) -> dict:
    """The best-step metrics KerasTuner saved, for trials without epochs.csv."""
    out = {}
    metrics = trial.get("metrics", {}).get("metrics", {})
    for name in METRIC_COLUMNS:
        obs = metrics.get(name, {}).get("observations", [])
        if obs:
            out[name] = obs[-1]["value"][0]
    if trial.get("best_step") is not None and out:
        out["best_epoch"] = int(trial["best_step"]) + 1
    return out


def _reason(message: str) -> str:
    """The last line of a failed trial's traceback, without the exception's module path."""
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else ""
    kind, sep, text = last.partition(": ")
    if sep and " " not in kind:
        # "keras_tuner.src.errors.FailedTrialError: loss became nan" -> "loss became nan";
        # other errors keep their class name ("ResourceExhaustedError: OOM when ...").
        name = kind.rsplit(".", 1)[-1]
        last = text if name == "FailedTrialError" else f"{name}: {text}"
    return last[:300]


def history_dataframe(run_dir: str | Path) -> pd.DataFrame:
    """One row per trial x epoch, from each trial's epochs.csv."""
    frames = []
    for path in sorted((Path(run_dir) / "tuner").glob("trial_*/epochs.csv")):
        try:
            frame = pd.read_csv(path)
        except (pd.errors.EmptyDataError, OSError):
            continue
        frame.insert(0, "trial_id", path.parent.name.removeprefix("trial_"))
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    frame = pd.concat(frames, ignore_index=True)
    frame["trial_id"] = frame["trial_id"].astype(str)
    frame = frame.drop_duplicates(["trial_id", "epoch"], keep="last")
    extra = [c for c in frame.columns if c not in HISTORY_COLUMNS]
    for c in HISTORY_COLUMNS:
        if c not in frame:
            frame[c] = pd.NA
    return frame[HISTORY_COLUMNS + extra].reset_index(drop=True)


def write_tables(run_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(Re)writes trials.csv and history.csv atomically; returns both frames."""
    run_dir = Path(run_dir)
    history = history_dataframe(run_dir)
    trials = trials_dataframe(run_dir, history)
    for frame, name in ((trials, "trials.csv"), (history, "history.csv")):
        tmp = run_dir / f".{name}.{os.getpid()}.tmp"
        frame.to_csv(tmp, index=False)
        os.replace(tmp, run_dir / name)
    return trials, history


def leaderboard(trials: pd.DataFrame, objective: str = "val_accuracy", top: int = 5,
                sort: str | None = None, hp_names: list[str] | None = None) -> pd.DataFrame:
    """The top trials, ranked by `sort` (default: the objective, best first)."""
    sort = sort or objective
    if sort not in trials.columns:
        raise ConfigError(f"--sort: no column {sort!r}; choose from {', '.join(trials.columns)}")
    ascending = sort in ("val_loss", "loss", "seconds", "test_loss", "overhead_seconds",
                         "peak_rss_mb", "params", "fit_seconds")
    if hp_names is None:
        hp_names = [c for c in trials.columns
                    if c not in TRIAL_COLUMNS + METRIC_COLUMNS + TAIL_COLUMNS]
    # Failed or unfinished trials rank after every completed one, whatever their metrics.
    done = trials.status.eq("COMPLETED") if "status" in trials else True
    ranked = trials.assign(_done=done).sort_values(
        ["_done", sort], ascending=[False, ascending], na_position="last", kind="stable"
    ).drop(columns="_done").head(top)
    cols = ["trial_id", "status"] + hp_names + [objective, "test_accuracy", "epochs_run", "seconds"]
    cols = list(dict.fromkeys(c for c in cols if c in ranked))
    board = ranked[cols].reset_index(drop=True)
    board.insert(0, "rank", range(1, len(board) + 1))
    return board


def format_table(frame: pd.DataFrame) -> str:
    """A plain-text table: floats to 4 places, missing values blank."""
    def fmt(v):
        if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
            return ""
        if isinstance(v, float):
            if v and not 1e-3 <= abs(v) < 1e6:
                return f"{v:.4g}"
            return f"{v:.4f}".rstrip("0").rstrip(".")
        return str(v)

    return frame.map(fmt).to_string(index=False)


def varying_hyperparameters(cfg: dict) -> list[str]:
    """Hyperparameters the saved space lets take more than one value."""
    return [n for n, v in cfg.get("hyperparameters", {}).items() if isinstance(v, (list, dict))]
