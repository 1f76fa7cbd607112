"""`sweep confirm`: the top configurations of a finished run, retrained with new seeds.

One seed decides a sweep's ranking, and seed-to-seed swings can be as large as the gaps
between configurations. This retrains each of the top K completed trials' configurations
(the leaderboard's order) S more times, each with a new seed for the starting weights and
the shuffling (and, with `resplit`, for the validation split), exactly as the sweep trained
its trials: same epochs, same early stopping on the objective, same data settings. Every
repeat is kept, one row each in confirm.csv (KerasTuner's `executions_per_trial` keeps only
their average):

    finished run -> top K (results.leaderboard) -> K x S repeats -> confirm.csv (+ weights)
                 -> mean, sd, 95% t-interval per configuration -> confirm.png
                 -> the best mean's repeats scored on test -> test.json["confirmed"]

A row is appended (the file rewritten atomically) as each repeat ends, so a killed confirm
loses at most the repeat under way, and the same command resumes it; a larger --top or
--seeds extends the rows already there. Each repeat is seeded on its own, so on CPU the rows
come out the same however often the confirm was stopped. TensorFlow is imported only to
train: the summary functions work on a copied folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sweep import metrics, rundir
from sweep.analysis import evaluation, results
from sweep.analysis.retrain import Repeat, Retrainer
from sweep.errors import Interrupted, UsageError
from sweep.metrics import METRIC_COLUMNS
from sweep.progress import Say
from sweep.rundir import RunDir, read_json
from sweep.rundir import lock as runlock
from sweep.space.config import MAX_SEED, SweepConfig

LEVEL = 0.95  # the intervals' confidence level
MIN_INFORMATIVE = 3  # repeats per configuration before intervals are compared
SEED_STRIDE = 1_000_003  # repeat r's seed is the sweep's seed + r x this (a prime)
ROW_COLUMNS = ["trial_id", "rank", "repeat", "seed", "split_seed"]
REPEAT_TAIL_COLUMNS = ["best_epoch", "epochs_run", "seconds", "reason"]


def confirm_seed(sweep_seed: int, repeat: int) -> int:
    """The seed of repeat `repeat` (1, 2, ...): the same for every configuration.

    Far from the sweep's own trial seeds (the sweep's seed + trial number), so a repeat
    never re-runs the trial it confirms.
    """
    return (sweep_seed + repeat * SEED_STRIDE) % (MAX_SEED + 1)


@dataclass
class ConfirmOutcome:
    """What a confirm leaves for the console."""

    run: RunDir
    objective: str
    summary: pd.DataFrame  # `summarize`: one row per configuration, best mean first
    verdict: str  # `overlap_sentence`
    confirmed: dict  # test.json["confirmed"]
    trained: int  # repeats trained by this call (the others were in confirm.csv)
    plot: Path | None


# --- Statistics (no TensorFlow) -----------------------------------------------------------


def t_interval(values: np.ndarray, fraction: bool, level: float = LEVEL) -> tuple[float, float, float, float]:
    """mean, sd (n - 1) and Student's t interval of `values`; NaN where under two values.

    A fraction's interval is clipped to [0, 1] (a rate cannot leave it).
    """
    n = len(values)
    mean = float(values.mean()) if n else np.nan
    if n < 2:
        return mean, np.nan, np.nan, np.nan
    sd = float(values.std(ddof=1))
    half = stats.t.ppf((1 + level) / 2, n - 1) * sd / np.sqrt(n)
    low, high = mean - half, mean + half
    if fraction:
        low, high = max(low, 0.0), min(high, 1.0)
    return mean, sd, low, high


def summarize(rows: pd.DataFrame, objective: str, hp_names: list[str] | None = None,
              sweep: pd.Series | None = None, level: float = LEVEL) -> pd.DataFrame:
    """One row per configuration: its repeats' mean, sd and t-interval, best mean first.

    Args:
        rows: confirm.csv's rows (trial_id, rank, the objective; a repeat that failed has no
            objective and counts in `failed` only).
        objective: the column summarized; its direction (metric table) decides "best".
        hp_names: hyperparameter columns carried over (the first row's value).
        sweep: the objective each trial had in the sweep, by trial id (a `sweep` column).
        level: the intervals' confidence level.

    Returns:
        rank, trial_id, the hyperparameters, [sweep,] seeds (repeats with a value), mean, sd
        (n - 1 in the denominator), ci_low, ci_high (Student's t with n - 1 degrees of
        freedom, clipped to [0, 1] unless the objective is a loss; NaN under two repeats)
        and failed.
    """
    hp_names = [h for h in (hp_names or []) if h in rows]
    out = []
    for trial_id, group in rows.groupby("trial_id", sort=False):
        values = pd.to_numeric(group[objective], errors="coerce").dropna().to_numpy(dtype=float)
        n = len(values)
        mean, sd, low, high = t_interval(values, metrics.is_fraction(objective), level)
        out.append({"rank": int(group["rank"].min()), "trial_id": str(trial_id),
                    **{h: group[h].iloc[0] for h in hp_names},
                    "seeds": n, "mean": mean, "sd": sd, "ci_low": low, "ci_high": high,
                    "failed": int(len(group) - n)})
    columns = ["rank", "trial_id", *hp_names, "seeds", "mean", "sd", "ci_low", "ci_high", "failed"]
    frame = pd.DataFrame(out, columns=columns)
    if sweep is not None:
        frame.insert(len(hp_names) + 2, "sweep", frame.trial_id.map(sweep).astype(float))
    return frame.sort_values(["mean", "rank"], ascending=[metrics.ascending(objective), True],
                             na_position="last", kind="stable").reset_index(drop=True)


def intervals_overlap(a: pd.Series, b: pd.Series) -> bool:
    """Whether two `summarize` rows' intervals share any value."""
    return bool(a.ci_low <= b.ci_high and b.ci_low <= a.ci_high)


def overlap_sentence(summary: pd.DataFrame, objective: str, level: float = LEVEL) -> str:
    """Says whether the leader's interval overlaps the runner-up's, in one sentence."""
    pct = f"{level:.0%}"
    ranked = summary.dropna(subset=["mean"])
    if len(ranked) < 2:
        return "Only one configuration was confirmed: there is no runner-up to compare it with."
    lead, second = ranked.iloc[0], ranked.iloc[1]
    if pd.isna(lead.ci_low) or pd.isna(second.ci_low):
        return ("Intervals need two repeats or more of each configuration; confirm again with "
                "--seeds 2 or more.")
    few = min(int(lead.seeds), int(second.seeds))
    if few < MIN_INFORMATIVE or not (lead.sd > 0 and second.sd > 0):
        why = (f"{few} repeats of a configuration are too few to estimate its spread"
               if few < MIN_INFORMATIVE else "identical repeats (sd 0) say nothing of the spread")
        return (f"By mean {objective}, trial {lead.trial_id} leads trial {second.trial_id} "
                f"({lead['mean']:.4f} vs {second['mean']:.4f}), but the {pct} intervals are not "
                f"informative: {why}; confirm again with --seeds {MIN_INFORMATIVE} or more before "
                "judging the gap.")

    def who(row: pd.Series) -> str:
        return (f"trial {row.trial_id} (rank {row['rank']}; mean {row['mean']:.4f}, {pct} interval "
                f"{row.ci_low:.4f} to {row.ci_high:.4f})")

    head = f"By mean {objective}, the leader is {who(lead)} and the runner-up {who(second)}: "
    if intervals_overlap(lead, second):
        return head + (f"their intervals overlap, so {int(lead.seeds)} seeds do not separate them "
                       "(seed-to-seed variation is as large as the gap).")
    return head + "their intervals do not overlap: the lead holds beyond seed-to-seed variation."


# --- confirm.csv ------------------------------------------------------------------------------


def read_rows(run: RunDir) -> pd.DataFrame:
    """confirm.csv's rows (none yet: an empty frame)."""
    rows = rundir.read_csv(run.confirm_csv, damaged="delete it to confirm afresh",
                           dtype={"trial_id": str})
    return pd.DataFrame(columns=ROW_COLUMNS) if rows is None else rows


def _write_rows(run: RunDir, rows: pd.DataFrame) -> None:
    rows = rows.sort_values(["rank", "repeat", "split_seed"], kind="stable")
    rundir.write_atomic(run.confirm_csv, rows.to_csv(index=False))


def _keys(rows: pd.DataFrame) -> list[tuple[str, int, int]]:
    """(trial id, seed, split seed) of each row."""
    return list(zip(rows.trial_id.astype(str), rows.seed.astype(int), rows.split_seed.astype(int)))


# --- The command --------------------------------------------------------------------------


def check_confirmable(run: RunDir, top: int) -> tuple[SweepConfig, pd.DataFrame, pd.DataFrame]:
    """The saved space, all trials and the top `top` completed ones, best first.

    Raises:
        NotARunError: not a run folder.
        UsageError: the sweep is not finished, or no trial completed.
    """
    cfg = rundir.load_config(run)
    state = rundir.run_state(run)
    if state != "finished":
        raise UsageError(f"{run}: the sweep is {state}, not finished; finish it first (the same "
                         "`sweep run` command resumes it)")
    trials = results.trials_dataframe(run)
    board = results.leaderboard(trials, cfg.tuner.objective, top, hp_names=cfg.varying())
    board = board[board["rank"].notna()]
    if board.empty:
        raise UsageError(f"{run}: no completed trial to confirm")
    return cfg, trials, board


def confirm(run_dir: str | Path, top: int, seeds: int, resplit: bool = False,
            verbose: bool = False, say: Say = print) -> ConfirmOutcome:
    """Runs (or resumes, or extends) the confirmation of a finished run's top configurations.

    Args:
        run_dir: the run folder.
        top: configurations, from the leaderboard's first.
        seeds: repeats of each.
        resplit: draw a new validation split (from the training part) per repeat too.
        verbose: Keras' own per-epoch lines.
        say: where progress lines go.

    Raises:
        UsageError: not a finished run with a completed trial, in use, or data gone.
        Interrupted: Ctrl-C; the rows so far are kept and the same call resumes.
    """
    run = RunDir(run_dir)
    cfg, trials, board = check_confirmable(run, top)
    runlock.check_not_in_use(run)  # before the data is loaded
    with runlock.RunLock(run) as lock:
        if lock.note:
            say(f"Note: {lock.note}.")
        try:
            return _confirm_locked(run, cfg, trials, board, top, seeds, resplit, verbose, say)
        except KeyboardInterrupt:
            raise Interrupted(f"Interrupted. The finished repeats are kept in {run.confirm_csv}; "
                              "resume with the same command.") from None


def _confirm_locked(run: RunDir, cfg: SweepConfig, trials: pd.DataFrame, board: pd.DataFrame,
                    top: int, seeds: int, resplit: bool, verbose: bool, say: Say) -> ConfirmOutcome:
    from sweep.analysis import plots

    objective = cfg.tuner.objective
    hp_names = list(cfg.hyperparameters)
    plan = [Repeat(str(b.trial_id), int(b["rank"]), r, confirm_seed(cfg.tuner.seed, r),
                    confirm_seed(cfg.tuner.seed, r) if resplit else cfg.tuner.seed)
            for r in range(1, seeds + 1) for _, b in board.iterrows()]
    rows = read_rows(run)
    done = set(_keys(rows))
    todo = [p for p in plan if p.key() not in done]
    if len(board) < top:
        say(f"Note: the run has {len(board)} completed trial{'s' * (len(board) > 1)}, fewer than "
            f"--top {top}.")
    say(f"Confirming the top {len(board)} configuration{'s' * (len(board) > 1)} of {run} with "
        f"{seeds} seeds each{' and new validation splits' if resplit else ''}: {len(plan)} repeats, "
        f"{len(plan) - len(todo)} already in {run.confirm_csv.name}, {len(todo)} to train "
        f"(up to {cfg.tuner.epochs} epochs each, early stopping on {objective})")
    trainer = Retrainer(run, cfg, verbose, say) if todo else None
    for i, repeat in enumerate(todo, start=1):
        assert trainer is not None
        hps = trials.loc[trials.trial_id == repeat.trial_id, hp_names].iloc[0].to_dict()
        row = {**vars(repeat), **trainer.train(repeat, f"[{i}/{len(todo)}]"), **hps}
        rows = pd.concat([rows.dropna(axis=1, how="all"), pd.DataFrame([row])], ignore_index=True)
        _write_rows(run, _ordered(rows, hp_names))
        rows = read_rows(run)  # as a resumed confirm sees them (the CSV's types)
        shown = row.get(objective)
        say(f"[{i}/{len(todo)}] trial {repeat.trial_id} (rank {repeat.rank}) seed {repeat.seed}: "
            + (f"{objective}={shown:.4f} at epoch {row['best_epoch']}/{row['epochs_run']}"
               if pd.notna(shown) else f"FAILED {row['reason']}")
            + f"  {row['seconds']:.1f}s")

    wanted = {p.key() for p in plan}
    mine = rows[[k in wanted for k in _keys(rows)]]
    summary = summarize(mine, objective, cfg.varying(), sweep=trials.set_index("trial_id")[objective])
    verdict = overlap_sentence(summary, objective)
    plot = plots.confirm_seeds(mine, summary, run.confirm_png, objective, cfg.varying())
    leader = summary.dropna(subset=["mean"]).head(1)
    confirmed: dict = {}
    if not leader.empty:
        confirmed = _evaluate_leader(run, cfg, leader.iloc[0], mine, objective, resplit, say,
                                     trainer)
    _refresh_report(run, say)
    return ConfirmOutcome(run, objective, summary, verdict, confirmed, len(todo), plot)


def _refresh_report(run: RunDir, say: Say) -> None:
    """report.html again, with the confirm results; failing to write it is only a warning."""
    from sweep.analysis import report_html

    try:
        report_html.write_report(run)
    except Exception as e:
        say(f"Warning: report.html not refreshed ({type(e).__name__}: {e})")


def _number(value) -> float | None:
    """A float for JSON; NaN (no sd or interval: under two repeats) as null."""
    return None if pd.isna(value) else float(value)


def _ordered(rows: pd.DataFrame, hp_names: list[str]) -> pd.DataFrame:
    others = [c for c in rows if metrics.is_metric(str(c)) and c not in METRIC_COLUMNS]  # the objective's
    columns = [*ROW_COLUMNS, *METRIC_COLUMNS, *others, *REPEAT_TAIL_COLUMNS, *hp_names]
    for c in columns:
        if c not in rows:
            rows[c] = pd.NA
    return rows[columns + [c for c in rows.columns if c not in columns]]


def _evaluate_leader(run: RunDir, cfg: SweepConfig, lead: pd.Series, rows: pd.DataFrame,
                     objective: str, resplit: bool, say: Say, trainer: Retrainer | None) -> dict:
    """The best mean's repeats, each scored once on test; recorded in test.json."""
    mine = rows[(rows.trial_id.astype(str) == lead.trial_id) & rows[objective].notna()] \
        .sort_values("repeat")
    entry = {
        "trial_id": lead.trial_id,
        "rank": int(lead["rank"]),
        "objective": objective,
        "seeds": [int(s) for s in mine.seed],
        "resplit": resplit,
        "mean": _number(lead["mean"]),
        "sd": _number(lead.sd),
        f"ci{round(LEVEL * 100)}": [_number(lead.ci_low), _number(lead.ci_high)],
    }
    test = read_json(run.test_json)
    previous = test.get(evaluation.CONFIRMED) if isinstance(test, dict) else None
    same = ("trial_id", "seeds", "resplit")
    if isinstance(previous, dict) and all(previous.get(k) == entry[k] for k in same):
        return previous  # evaluated once already
    trainer = trainer or Retrainer(run, cfg, False, say)
    by_seed = []
    for r in mine.itertuples():
        repeat = Repeat(str(r.trial_id), int(r.rank), int(r.repeat), int(r.seed), int(r.split_seed))
        by_seed.append({"seed": repeat.seed, "split_seed": repeat.split_seed,
                        **trainer.score_on_test(repeat)})
    scores = pd.DataFrame(by_seed)
    _, sd, low, high = t_interval(scores.test_accuracy.to_numpy(dtype=float), fraction=True)
    entry.update({
        "test_accuracy": float(scores.test_accuracy.mean()),
        "test_accuracy_sd": _number(sd),
        f"test_accuracy_ci{round(LEVEL * 100)}": [_number(low), _number(high)],
        "test_loss": float(scores.test_loss.mean()),
        "test_examples": int(scores.test_examples.iloc[0]),
        "by_seed": by_seed,
    })
    evaluation.record_confirmed(run, entry)
    return entry
