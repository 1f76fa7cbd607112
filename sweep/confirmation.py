"""`sweep confirm`: the top configurations of a finished run, retrained with new seeds.

One seed decides a sweep's ranking, and seed-to-seed swings can be as large as the gaps
between configurations. This retrains each of the top K completed trials' configurations
(the leaderboard's order) S more times, each with a new seed for the starting weights and
the shuffling (and, with `resplit`, for the validation split), exactly as the sweep trained
its trials: same epochs, same early stopping on the objective, same data settings. Every
repeat is kept, one row each in confirm.csv (KerasTuner's `executions_per_trial` keeps only
their average):

    finished run -> top K (RunRecord.leaderboard) -> K x S repeats (sweep.train.retrain)
                 -> confirm.csv (+ weights) -> mean, sd, 95% t-interval per configuration
                 (sweep.analysis.confirm) -> confirm.png -> the best mean's repeats scored on
                 test -> test.json["confirmed"]

A row is appended (the file rewritten atomically) as each repeat ends, so a killed confirm
loses at most the repeat under way, and the same command resumes it; a larger --top or
--seeds extends the rows already there. Each repeat is seeded on its own, so on CPU the rows
come out the same however often the confirm was stopped. The summary is over every repeat
in confirm.csv, as report.html and the API show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sweep.analysis import plots, report_html
from sweep.analysis.confirm import (
    LEVEL,
    ordered,
    overlap_sentence,
    planned,
    read_rows,
    row_keys,
    t_interval,
)
from sweep.analysis.record import RunRecord
from sweep.errors import Interrupted, UsageError
from sweep.progress import Say
from sweep.rundir import RunDir, read_json, testjson, writes
from sweep.rundir import lock as runlock
from sweep.space.config import MAX_SEED, SweepConfig
from sweep.train.retrain import Repeat, Retrainer

SEED_STRIDE = 1_000_003  # repeat r's seed is the sweep's seed + r x this (a prime)


def write_rows(run: RunDir, rows: pd.DataFrame) -> None:
    """confirm.csv, whole and atomically (through `rundir`): only this command writes it."""
    rows = rows.sort_values(["rank", "repeat", "split_seed"], kind="stable")
    writes.write_run_text(run, run.confirm_csv, rows.to_csv(index=False))


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


def check_confirmable(run: RunDir, top: int) -> tuple[RunRecord, pd.DataFrame]:
    """The run as read and its top `top` completed trials, best first.

    Raises:
        NotARunError: not a run folder.
        UsageError: the sweep is not finished, or no trial completed.
    """
    record = RunRecord.read(run)
    if record.state != "finished":
        raise UsageError(f"{run}: the sweep is {record.state}, not finished; finish it first (the same "
                         "`sweep run` command resumes it)")
    board = record.leaderboard(top)
    board = board[board["rank"].notna()]
    if board.empty:
        raise UsageError(f"{run}: no completed trial to confirm")
    return record, board


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
    record, board = check_confirmable(run, top)
    runlock.check_not_in_use(run)  # before the data is loaded
    with runlock.RunLock(run) as lock:
        if lock.note:
            say(f"Note: {lock.note}.")
        try:
            return _confirm_locked(record, board, top, seeds, resplit, verbose, say)
        except KeyboardInterrupt:
            raise Interrupted(f"Interrupted. The finished repeats are kept in {run.confirm_csv}; "
                              "resume with the same command.") from None


def _confirm_locked(record: RunRecord, board: pd.DataFrame, top: int, seeds: int, resplit: bool,
                    verbose: bool, say: Say) -> ConfirmOutcome:
    run, cfg, trials, objective = record.run, record.config, record.trials, record.objective
    hp_names = list(cfg.hyperparameters)
    plan = [Repeat(str(b.trial_id), int(b["rank"]), r, confirm_seed(cfg.tuner.seed, r),
                    confirm_seed(cfg.tuner.seed, r) if resplit else cfg.tuner.seed)
            for r in range(1, seeds + 1) for _, b in board.iterrows()]
    question = {"top": top, "seeds": seeds, "resplit": resplit}
    testjson.record_confirm_plan(run, question)  # what every reader's summary covers from now on
    rows = read_rows(run)
    done = set(row_keys(rows))
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
        write_rows(run, ordered(rows, hp_names))
        rows = read_rows(run)  # as a resumed confirm sees them (the CSV's types)
        shown = row.get(objective)
        say(f"[{i}/{len(todo)}] trial {repeat.trial_id} (rank {repeat.rank}) seed {repeat.seed}: "
            + (f"{objective}={shown:.4f} at epoch {row['best_epoch']}/{row['epochs_run']}"
               if pd.notna(shown) else f"FAILED {row['reason']}")
            + f"  {row['seconds']:.1f}s")

    # The repeats asked for, as report.html and the API summarise them (the same rule).
    mine = planned(rows, question, cfg.tuner.seed)
    summary = record.confirm_summary(mine)
    assert summary is not None  # at least this confirm's repeats
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
    try:
        report_html.write_report(run)
    except Exception as e:
        say(f"Warning: report.html not refreshed ({type(e).__name__}: {e})")


def _number(value) -> float | None:
    """A float for JSON; NaN (no sd or interval: under two repeats) as null."""
    return None if pd.isna(value) else float(value)


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
    previous = test.get(testjson.CONFIRMED) if isinstance(test, dict) else None
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
    testjson.record_confirmed(run, entry)
    return entry
