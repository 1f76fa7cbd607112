"""A run folder -> pandas DataFrames -> trials.csv and history.csv.

Reads only files (KerasTuner's `tuner/trial_*/trial.json`, this project's
`epochs.csv` and `sweep.json` beside them, `config.yaml`, `status.json`, `test.json`),
so it works on a finished run, one still running, one killed mid-way, or a folder
copied from another machine. It never runs a search and needs no TensorFlow.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pandas as pd

from sweep import metrics, rundir
from sweep.errors import ConfigError, failure_reason
from sweep.metrics import TrialStatus
from sweep.rundir import RunDir, as_run, read_json, writes
from sweep.space.config import HYPERPARAMETERS, Choice, Fixed

TRIAL_COLUMNS = ["trial_id", "status"]
TRIAL_TAIL_COLUMNS = ["epochs_run", "best_epoch", "params", "seconds", "fit_seconds",
                "overhead_seconds", "peak_rss_mb", "worker", "test_accuracy", "test_loss", "pruned",
                      "reason"]
HISTORY_COLUMNS = ["trial_id", "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]


def trials_dataframe(run_dir: RunDir | str | Path, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per trial: id, status, hyperparameters, metrics at the best epoch, timings.

    Args:
        run_dir: the run folder.
        history: `history_dataframe(run_dir)`, when the caller has read it already.
    """
    run = as_run(run_dir)
    cfg = rundir.load_config(run)
    objective = cfg.tuner.objective
    metric_columns = metrics.metric_columns(objective)  # accuracy and loss, and the objective's
    hp_names = list(cfg.hyperparameters)
    running = rundir.run_state(run) == "running"
    test = read_json(run.test_json) or {}
    if history is None:
        history = history_dataframe(run)
    rows = []
    for trial_dir in run.trial_dirs():
        trial = read_json(RunDir.trial_json(trial_dir))
        if not isinstance(trial, dict) or "trial_id" not in trial:
            rows.append(_unreadable(trial_dir))
            continue
        tid = str(trial["trial_id"])
        status = trial.get("status", "")
        if status == TrialStatus.RUNNING and not running:
            status = "INTERRUPTED"
        row = {"trial_id": tid, "status": status}
        values = trial.get("hyperparameters", {}).get("values", {})
        # A trial saved before a hyperparameter existed ran at its default.
        row.update({n: values.get(n, _default(n)) for n in hp_names})
        row.update(_best_epoch(history[history.trial_id == tid], objective, metric_columns))
        if not row.get("epochs_run"):
            row.update(_kt_metrics(trial, metric_columns))
        if status != TrialStatus.COMPLETED:
            # Not a model: its last figures are in history.csv, none is ranked or compared.
            row.update({m: None for m in metric_columns}, best_epoch=None)
        record = read_json(RunDir.trial_record(trial_dir))
        row.update(record if isinstance(record, dict) else {})
        if test.get("trial_id") == tid:
            row["test_accuracy"] = test.get("test_accuracy")
            row["test_loss"] = test.get("test_loss")
        if trial.get("message") and status in (TrialStatus.FAILED, TrialStatus.INVALID):
            row["reason"] = failure_reason(trial["message"])
        rows.append(row)
    # `pruned` only where the space prunes: other runs' tables keep the columns they had.
    tail = [c for c in TRIAL_TAIL_COLUMNS if c != "pruned" or cfg.tuner.pruning != "none"]
    columns = TRIAL_COLUMNS + hp_names + metric_columns + tail
    frame = pd.DataFrame(rows)
    for c in columns:
        if c not in frame:
            frame[c] = pd.NA
    for name, spec in cfg.hyperparameters.items():
        # KerasTuner's hp.Choice stores [false, true] as [0, 1]; show what the space said.
        values = list(spec.values) if isinstance(spec, Choice) else \
            [spec.value] if isinstance(spec, Fixed) else []
        if values and all(isinstance(v, bool) for v in values) and frame[name].notna().all():
            frame[name] = frame[name].astype(bool)
    extra = [c for c in frame.columns if c not in columns]
    return frame[columns + extra]


def _unreadable(trial_dir: Path) -> dict:
    """A trial whose trial.json is missing or damaged: listed as such, never dropped."""
    path = RunDir.trial_json(trial_dir)
    why = "missing" if not path.exists() else "empty" if path.stat().st_size == 0 else "not valid JSON"
    return {"trial_id": RunDir.trial_id_of(trial_dir), "status": TrialStatus.UNREADABLE.value,
            "reason": f"{path.name} is {why}"}


def _default(name: str):
    rule = HYPERPARAMETERS.get(name)
    return rule.default if rule else None


def _best_epoch(epochs: pd.DataFrame, objective: str, columns: list[str]) -> dict:
    if epochs.empty or objective not in epochs or epochs[objective].isna().all():
        return {"epochs_run": len(epochs)} if len(epochs) else {}
    at = metrics.best_index(objective, epochs[objective])  # the one best-epoch rule
    if at is None:  # no finite value (every epoch inf): ran, but no best epoch to rank
        return {"epochs_run": len(epochs)}
    best = epochs.iloc[at]
    row = {m: best[m] for m in columns if m in epochs}
    row.update(epochs_run=len(epochs), best_epoch=int(best["epoch"]))
    return row


def _kt_metrics(trial: dict, columns: list[str]) -> dict:
    """The best-step metrics KerasTuner saved, for trials without epochs.csv."""
    out = {}
    metrics = trial.get("metrics", {}).get("metrics", {})
    for name in columns:
        obs = metrics.get(name, {}).get("observations", [])
        if obs:
            out[name] = obs[-1]["value"][0]
    if trial.get("best_step") is not None and out:
        out["best_epoch"] = int(trial["best_step"]) + 1
    return out


def history_dataframe(run_dir: RunDir | str | Path) -> pd.DataFrame:
    """One row per trial x epoch, from each trial's epochs.csv."""
    frames = []
    for trial_dir in as_run(run_dir).trial_dirs():
        frame = rundir.read_csv(RunDir.epochs_csv(trial_dir))
        if frame is None:
            continue  # not written yet, or damaged: the trial's row says what is known
        frame.insert(0, "trial_id", RunDir.trial_id_of(trial_dir))
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


def read_tables(run_dir: RunDir | str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trials, history) as `trials_dataframe` and `history_dataframe` build them."""
    run = as_run(run_dir)
    history = history_dataframe(run)
    return trials_dataframe(run, history), history


def report_tables(run_dir: RunDir | str | Path) -> tuple[pd.DataFrame, pd.DataFrame, str | None]:
    """(trials, history, why not to write them) for `sweep report`; why is None when it may.

    A folder without KerasTuner's state (a copy of the CSVs from another machine) is reported
    from its CSVs, read-only; so is one whose trial folders hold fewer trials than its
    trials.csv lists: a table is never written over with fewer rows.
    """
    run = as_run(run_dir)
    saved = _read_csv(run.trials_csv, TRIAL_COLUMNS)
    csvs = f"{run.trials_csv.name} and {run.history_csv.name}"
    if not run.tuner.is_dir():
        return saved, _read_csv(run.history_csv, HISTORY_COLUMNS), \
            f"no {run.tuner.name}/ (copied without it) in {run}: reporting read-only from its {csvs}"
    trials, history = read_tables(run)
    if len(saved) > len(trials):
        return saved, _read_csv(run.history_csv, HISTORY_COLUMNS), (
            f"{run.trials_csv} lists {len(saved)} trials, {run.tuner.name}/ only {len(trials)}: "
            f"reporting read-only from its {csvs}, which are left as they are")
    return trials, history, None


def _read_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    """A table this module wrote (empty, with `columns`, when missing or unreadable)."""
    rows = rundir.read_csv(path, dtype={"trial_id": str})
    return pd.DataFrame(columns=columns) if rows is None else rows


def write_tables(run_dir: RunDir | str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(Re)builds trials.csv and history.csv in the run folder; returns both frames."""
    trials, history = read_tables(run_dir)
    save_tables(trials, history, run_dir)
    return trials, history


def save_tables(trials: pd.DataFrame, history: pd.DataFrame, out: RunDir | str | Path) -> None:
    """Writes the two tables as trials.csv and history.csv in `out`, atomically."""
    target = as_run(out)
    for frame, path in ((trials, target.trials_csv), (history, target.history_csv)):
        writes.save_output(path, writes.TABLES, writes.text(frame.to_csv(index=False)))


def leaderboard(trials: pd.DataFrame, objective: str = "val_accuracy", top: int = 5,
                sort: str | None = None, hp_names: list[str] | None = None) -> pd.DataFrame:
    """The top trials, ranked by `sort` (default: the objective, best first).

    Only completed trials (`completed`: a finite objective) get a rank; the others follow
    them, unranked.
    """
    sort = sort or objective
    if sort not in trials.columns:
        close = difflib.get_close_matches(sort, list(trials.columns), n=1)
        raise ConfigError(f"--sort: no column {sort!r}" + (f"; did you mean {close[0]!r}?" if close else "")
                          + f" (choose from {', '.join(trials.columns)})")
    ascending = metrics.ascending(sort)
    if hp_names is None:
        hp_names = [c for c in trials.columns
                    if c not in TRIAL_COLUMNS + TRIAL_TAIL_COLUMNS and not metrics.is_metric(c)]
    # Failed or unfinished trials rank after every completed one, whatever their metrics.
    done = trials.index.isin(completed(trials, objective).index) if "status" in trials \
        else np.ones(len(trials), dtype=bool)
    ranked = trials.assign(_done=done).sort_values(
        ["_done", sort], ascending=[False, ascending], na_position="last", kind="stable").head(top)
    cols = ["trial_id", "status"] + hp_names + [objective, "test_accuracy", "epochs_run", "seconds"]
    cols = list(dict.fromkeys(c for c in cols if c in ranked))
    board = ranked[cols].reset_index(drop=True)
    rank = pd.Series(range(1, len(board) + 1), dtype="Int64")
    board.insert(0, "rank", rank.where(ranked["_done"].to_numpy()))
    return board


def completed(trials: pd.DataFrame, objective: str) -> pd.DataFrame:
    """The COMPLETED trials whose objective is a finite number, the objective as floats.

    The one meaning of "completed" for ranking, plots, importance and the report's charts: a
    trial that completed without a usable figure (NaN, infinite, unparsable in a copied CSV)
    is listed, never ranked.
    """
    if trials.empty or objective not in trials or "status" not in trials:
        return trials.iloc[0:0]
    done = trials[trials.status.eq(TrialStatus.COMPLETED)].copy()
    done[objective] = pd.to_numeric(done[objective], errors="coerce").astype(float)
    return done[np.isfinite(done[objective].to_numpy(dtype=float))]


def best_trial(trials: pd.DataFrame, objective: str) -> pd.Series | None:
    """The best completed trial's row (the first of equals, in the table's order), or None."""
    done = completed(trials, objective)
    at = metrics.best_index(objective, done[objective]) if len(done) else None
    return None if at is None else trials.loc[done.index[at]]


def status_counts(trials: pd.DataFrame) -> str:
    """'3 completed, 1 failed' (most first), or 'none yet': said the same everywhere."""
    counts = trials.status.value_counts().to_dict() if len(trials) else {}
    return ", ".join(f"{v} {str(k).lower()}" for k, v in counts.items()) or "none yet"


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
