"""`sweep confirm`'s numbers: confirm.csv's repeats (one row each), and per configuration the
mean, sd and 95% t-interval, and whether the leader's interval clears the runner-up's.

The retraining itself is `sweep.confirmation` (it trains; this module never does), so the
summary works on any folder, copied ones included, and report.html and the API read it
through `RunRecord.confirm_summary`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sweep import metrics, rundir
from sweep.metrics import METRIC_COLUMNS
from sweep.rundir import RunDir

LEVEL = 0.95  # the intervals' confidence level
MIN_INFORMATIVE = 3  # repeats per configuration before intervals are compared
ROW_COLUMNS = ["trial_id", "rank", "repeat", "seed", "split_seed"]
REPEAT_TAIL_COLUMNS = ["best_epoch", "epochs_run", "seconds", "reason"]


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


def planned(rows: pd.DataFrame, plan: dict | None, sweep_seed: int) -> pd.DataFrame:
    """The repeats the last `sweep confirm` asked for (test.json's `confirm_plan`: its --top,
    --seeds and --resplit); other rows stay in confirm.csv, outside the summary (a --resplit
    repeat and one on the sweep's split are not the same measurement). No plan: every row.
    """
    if not isinstance(plan, dict) or rows.empty or not {"rank", "repeat", "seed", "split_seed"} <= set(rows):
        return rows
    ranks, repeats = pd.to_numeric(rows["rank"], errors="coerce"), pd.to_numeric(rows.repeat, errors="coerce")
    split = pd.to_numeric(rows.split_seed, errors="coerce")
    same_split = split.eq(pd.to_numeric(rows.seed, errors="coerce")) if plan.get("resplit") \
        else split.eq(sweep_seed)
    keep = ranks.le(int(plan.get("top", 0))) & repeats.le(int(plan.get("seeds", 0))) & same_split
    return rows[keep]


def read_rows(run: RunDir) -> pd.DataFrame:
    """confirm.csv's rows (none yet: an empty frame)."""
    rows = rundir.read_csv(run.confirm_csv, damaged="delete it to confirm afresh",
                           dtype={"trial_id": str})
    return pd.DataFrame(columns=ROW_COLUMNS) if rows is None else rows


def row_keys(rows: pd.DataFrame) -> list[tuple[str, int, int]]:
    """(trial id, seed, split seed) of each row."""
    return list(zip(rows.trial_id.astype(str), rows.seed.astype(int), rows.split_seed.astype(int)))


def ordered(rows: pd.DataFrame, hp_names: list[str]) -> pd.DataFrame:
    others = [c for c in rows if metrics.is_metric(str(c)) and c not in METRIC_COLUMNS]  # the objective's
    columns = [*ROW_COLUMNS, *METRIC_COLUMNS, *others, *REPEAT_TAIL_COLUMNS, *hp_names]
    for c in columns:
        if c not in rows:
            rows[c] = pd.NA
    return rows[columns + [c for c in rows.columns if c not in columns]]
