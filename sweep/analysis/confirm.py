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

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sweep import metrics, rundir
from sweep.analysis import evaluation, results
from sweep.errors import DamagedRun, Interrupted, UsageError
from sweep.metrics import METRIC_COLUMNS
from sweep.progress import Say
from sweep.rundir import RunDir, read_json
from sweep.rundir import lock as runlock
from sweep.space.config import MAX_SEED, SweepConfig

LEVEL = 0.95  # the intervals' confidence level
SEED_STRIDE = 1_000_003  # repeat r's seed is the sweep's seed + r x this (a prime)
ROW_COLUMNS = ["trial_id", "rank", "repeat", "seed", "split_seed"]
TAIL_COLUMNS = ["best_epoch", "epochs_run", "seconds", "reason"]


def confirm_seed(sweep_seed: int, repeat: int) -> int:
    """The seed of repeat `repeat` (1, 2, ...): the same for every configuration.

    Far from the sweep's own trial seeds (the sweep's seed + trial number), so a repeat
    never re-runs the trial it confirms.
    """
    return (sweep_seed + repeat * SEED_STRIDE) % (MAX_SEED + 1)


@dataclass
class Outcome:
    """What a confirm leaves for the console."""

    run: RunDir
    objective: str
    summary: pd.DataFrame  # `summarize`: one row per configuration, best mean first
    verdict: str  # `overlap_sentence`
    confirmed: dict  # test.json["confirmed"]
    trained: int  # repeats trained by this call (the others were in confirm.csv)
    plot: Path | None


# --- Statistics (no TensorFlow) -----------------------------------------------------------


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
        freedom; NaN under two repeats) and failed.
    """
    hp_names = [h for h in (hp_names or []) if h in rows]
    out = []
    for trial_id, group in rows.groupby("trial_id", sort=False):
        values = pd.to_numeric(group[objective], errors="coerce").dropna().to_numpy(dtype=float)
        n = len(values)
        mean = float(values.mean()) if n else np.nan
        sd = float(values.std(ddof=1)) if n > 1 else np.nan
        if n > 1:
            half = stats.t.ppf((1 + level) / 2, n - 1) * sd / np.sqrt(n)
            low, high = mean - half, mean + half
        else:
            low = high = np.nan
        out.append({"rank": int(group["rank"].min()), "trial_id": str(trial_id),
                    **{h: group[h].iloc[0] for h in hp_names},
                    "seeds": n, "mean": mean, "sd": sd, "ci_low": low, "ci_high": high,
                    "failed": int(len(group) - n)})
    columns = ["rank", "trial_id", *hp_names, "seeds", "mean", "sd", "ci_low", "ci_high", "failed"]
    frame = pd.DataFrame(out, columns=columns)
    if sweep is not None:
        frame.insert(len(hp_names) + 2, "sweep", frame.trial_id.map(sweep).astype(float))
    ascending = not metrics.maximize(objective)
    return frame.sort_values(["mean", "rank"], ascending=[ascending, True], na_position="last",
                             kind="stable").reset_index(drop=True)


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
        return "Intervals need two repeats or more of each configuration; run more --seeds."

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
    try:
        return pd.read_csv(run.confirm_csv, dtype={"trial_id": str})
    except FileNotFoundError:
        return pd.DataFrame(columns=ROW_COLUMNS)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise DamagedRun(f"{run.confirm_csv}: damaged ({str(e).splitlines()[0]}); delete it to "
                         "confirm afresh") from None


def _write_rows(run: RunDir, rows: pd.DataFrame) -> None:
    rows = rows.sort_values(["rank", "repeat", "split_seed"], kind="stable")
    rundir.write_atomic(run.confirm_csv, rows.to_csv(index=False))


@dataclass(frozen=True)
class _Repeat:
    trial_id: str
    rank: int
    repeat: int
    seed: int
    split_seed: int

    def key(self) -> tuple[str, int, int]:
        return (self.trial_id, self.seed, self.split_seed)


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
            verbose: bool = False, say: Say = print) -> Outcome:
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
                    top: int, seeds: int, resplit: bool, verbose: bool, say: Say) -> Outcome:
    from sweep.analysis import plots

    objective = cfg.tuner.objective
    hp_names = list(cfg.hyperparameters)
    plan = [_Repeat(str(b.trial_id), int(b["rank"]), r, confirm_seed(cfg.tuner.seed, r),
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
    trainer = _Trainer(run, cfg, verbose, say) if todo else None
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
    return Outcome(run, objective, summary, verdict, confirmed, len(todo), plot)


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
    columns = [*ROW_COLUMNS, *METRIC_COLUMNS, *others, *TAIL_COLUMNS, *hp_names]
    for c in columns:
        if c not in rows:
            rows[c] = pd.NA
    return rows[columns + [c for c in rows.columns if c not in columns]]


def _evaluate_leader(run: RunDir, cfg: SweepConfig, lead: pd.Series, rows: pd.DataFrame,
                     objective: str, resplit: bool, say: Say, trainer: _Trainer | None) -> dict:
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
    trainer = trainer or _Trainer(run, cfg, False, say)
    by_seed = []
    for r in mine.itertuples():
        repeat = _Repeat(str(r.trial_id), int(r.rank), int(r.repeat), int(r.seed), int(r.split_seed))
        by_seed.append({"seed": repeat.seed, "split_seed": repeat.split_seed,
                        **trainer.score_on_test(repeat)})
    scores = pd.DataFrame(by_seed)
    entry.update({
        "test_accuracy": float(scores.test_accuracy.mean()),
        "test_accuracy_sd": _number(scores.test_accuracy.std(ddof=1)),
        "test_loss": float(scores.test_loss.mean()),
        "test_examples": int(scores.test_examples.iloc[0]),
        "by_seed": by_seed,
    })
    evaluation.record_confirmed(run, entry)
    return entry


# --- Training (TensorFlow) ------------------------------------------------------------------


class _Trainer:
    """Trains and scores repeats the way the sweep trains its trials."""

    def __init__(self, run: RunDir, cfg: SweepConfig, verbose: bool, say: Say):
        from sweep.search import tuning

        self.run, self.cfg, self.verbose, self.say = run, cfg, verbose, say
        tuning.configure_runtime(cfg.tuner.seed, mixed_precision=False)
        self._data: tuple[int, object] | None = None  # (split seed, SweepData): one at a time

    def data(self, split_seed: int):
        from sweep.data.pipeline import SweepData

        if self._data is None or self._data[0] != split_seed:
            self._data = None  # a resplit's text is freed before the next is loaded
            self._data = (split_seed, SweepData(self.cfg.data, split_seed, self.run))
        return self._data[1]

    def _model(self, repeat: _Repeat):
        import keras_tuner as kt

        from sweep.search import tuning

        trial = read_json(RunDir.trial_json(self.run.trial_dir(repeat.trial_id)))
        if not isinstance(trial, dict) or "hyperparameters" not in trial:
            raise DamagedRun(f"{RunDir.trial_json(self.run.trial_dir(repeat.trial_id))}: missing or "
                             "damaged")
        hp = kt.HyperParameters.from_config(trial["hyperparameters"])
        data = self.data(repeat.split_seed)
        hypermodel = tuning._hypermodel_class()(self.cfg.hyperparameters, data, verbose=self.verbose,
                                                objective=self.cfg.tuner.objective)
        return hp, hypermodel, data

    def train(self, repeat: _Repeat, tag: str) -> dict:
        """Trains one repeat; its best epoch's metrics (the sweep's rule) and its weights saved."""
        import keras
        import keras_tuner as kt

        from sweep.search import tuning

        start = time.perf_counter()
        hp, hypermodel, _ = self._model(repeat)
        keras.utils.set_random_seed(repeat.seed)  # starting weights, dropout and shuffling
        model = hypermodel.build(hp)
        best = _keep_best(self.cfg.tuner.objective, self.cfg.tuner.direction)
        epoch_lines = _epoch_lines(self.cfg, repeat, tag, self.say)
        callbacks = [*tuning.trial_callbacks(self.cfg, self.verbose), best, epoch_lines]
        reason = None
        try:
            history = hypermodel.fit(hp, model, epochs=self.cfg.tuner.epochs, callbacks=callbacks)
            epochs = pd.DataFrame(history.history)
        except kt.errors.FailedTrialError as e:  # a NaN loss: kept as a failed repeat
            reason = str(e)
            epochs = pd.DataFrame(epoch_lines.logs)
        out: dict = {m: None for m in METRIC_COLUMNS}
        if reason is None and best.epoch is not None:
            # The metrics of the epoch whose weights were kept: the sweep's best epoch.
            at_best = epochs.iloc[best.epoch]
            out.update({str(m): float(at_best[m]) for m in epochs if metrics.is_metric(str(m))})
            out.update(epochs_run=len(epochs), best_epoch=best.epoch + 1)
            checkpoint = self.run.confirm_checkpoint(repeat.trial_id, repeat.seed, repeat.split_seed)
            # Weights first, then the row: a row in confirm.csv always has its weights.
            rundir.save_atomic(checkpoint, lambda tmp: np.savez(tmp, *best.weights))
        else:
            reason = reason or f"{self.cfg.tuner.objective} was never a finite number"
            out.update(epochs_run=len(epochs), best_epoch=None)
        out.update(seconds=round(time.perf_counter() - start, 3), reason=reason)
        return out

    def score_on_test(self, repeat: _Repeat) -> dict:
        """The repeat's best-epoch weights on the test split (of its own split seed)."""
        path = self.run.confirm_checkpoint(repeat.trial_id, repeat.seed, repeat.split_seed)
        if not path.exists():
            raise DamagedRun(f"{path}: missing (the weights of a row of {self.run.confirm_csv.name}); "
                             "delete that row to train it again")
        hp, hypermodel, data = self._model(repeat)
        model = hypermodel.build(hp)
        with np.load(path) as saved:
            model.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])
        return evaluation.score_on_test(model, data, hp.get("vocab_size"))


def _keep_best(monitor: str, direction: str):
    """A callback holding the weights of the best epoch so far (the sweep's rule: the first
    epoch with the best value; KerasTuner saves them the same way for its trials)."""
    import keras

    class KeepBest(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best: float | None = None
            self.epoch: int | None = None  # 0-based
            self.weights: list = []

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get(monitor)
            if value is None or not np.isfinite(value):
                return
            better = self.best is None or (value > self.best if direction == "max" else value < self.best)
            if better:
                self.best, self.epoch = float(value), epoch
                self.weights = self.model.get_weights()

    return KeepBest()


def _epoch_lines(cfg: SweepConfig, repeat: _Repeat, tag: str, say: Say):
    """A line per epoch (a repeat on the full IMDB takes minutes), and the logs kept."""
    import keras

    objective = cfg.tuner.objective

    class EpochLines(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.logs: list[dict] = []
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = {k: float(v) for k, v in (logs or {}).items()}
            self.logs.append(logs)
            value = logs.get(objective)
            shown = f"{objective}={value:.4f}" if value is not None else ""
            say(f"{tag} trial {repeat.trial_id} seed {repeat.seed} epoch {epoch + 1}/{cfg.tuner.epochs}"
                f"  {shown}  {time.perf_counter() - self.start:.1f}s")

    return EpochLines()
