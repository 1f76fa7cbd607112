"""Runs a sweep on KerasTuner's own tuners and records what they do not.

KerasTuner keeps, per trial, the hyperparameters, the best epoch's metrics, the status and
a checkpoint (`tuner/trial_*/`). This module adds, beside them in each trial folder:

    epochs.csv    one row per epoch (KerasTuner keeps only the best one)
    sweep.json    seconds, seconds outside fit(), peak memory, the worker that ran it

and, once the search is over, has `sweep.train.evaluation` score the best completed trial on test.
"""

from __future__ import annotations

import errno
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sweep.data.pipeline import SweepData
from sweep.errors import TooManyFailures, failure_reason
from sweep.progress import TrialEvents
from sweep.rundir import TUNER_PROJECT, RunDir, fsync_tree, writes
from sweep.search import ktcompat
from sweep.search.oracle import SweepOracleMixin, oracle_class
from sweep.search.pruning import MedianPruner
from sweep.space.config import SweepConfig
from sweep.space.registry import TUNERS
from sweep.train import evaluation, runtime
from sweep.train.runtime import trial_seed
from sweep.train.trial_model import hypermodel_class

if TYPE_CHECKING:
    # The mixin's base for mypy: KerasTuner's Tuner, which it is mixed in front of and which
    # ships no types (so its `super()` calls and `self.oracle`, `self.hypermodel` check).
    _Tuner = Any
else:
    _Tuner = object


@dataclass
class SweepOptions:
    """The options `search` takes: those of `sweep.lifecycle.RunOptions` the tuner reads, and
    whether to score the best trial on test (not on a distributed worker)."""

    overwrite: bool = False
    tensorboard: bool = False
    verbose: bool = False
    evaluate: bool = True  # False on a distributed worker: the chief evaluates


class SweepTunerMixin(_Tuner):
    """Adds per-epoch records, timings, memory, seeds and Ctrl-C checks to a KerasTuner tuner.

    Mixed in before one of KerasTuner's tuners (`_tuner_class`); every method calls the
    tuner's own.
    """

    sweep_progress = TrialEvents()  # what the console shows (`search(progress=)`)

    def __init__(self, *args, seed: int, on_trial_end: Callable[[], None] | None = None,
                 pruner: MedianPruner | None = None, **kwargs):
        self.sweep_seed = seed
        self.trial_end_hook = on_trial_end
        self.pruner = pruner
        ktcompat.init_with_oracle(self, *args, **kwargs)

    def on_trial_begin(self, trial):
        runtime.CtrlC.check()
        super().on_trial_begin(trial)
        import keras

        self._trial_start = time.perf_counter()
        self._epochs: list[dict] = []
        self.sweep_progress.trial_begin(trial.trial_id, trial.hyperparameters.values)
        self.hypermodel.fit_seconds = 0.0
        self.hypermodel.params = None
        runtime.peak_rss_reset()
        # Per-trial seed: a resumed or re-run trial trains exactly as the first time.
        keras.utils.set_random_seed(trial_seed(self.sweep_seed, trial.trial_id))
        ktcompat.fresh_metrics(trial)  # a re-run trial starts with no metrics
        writes.write_run_text(self.run, RunDir.epochs_csv(self._trial_dir(trial)), "")
        self._pruned: str | None = None
        if self.pruner is not None:
            self.pruner.load(exclude=trial.trial_id)

    def on_batch_end(self, trial, model, batch, logs=None):
        super().on_batch_end(trial, model, batch, logs)
        self.sweep_progress.batch_end(batch)
        runtime.CtrlC.check()

    def on_epoch_begin(self, trial, model, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self.sweep_progress.epoch_begin(epoch)

    def on_epoch_end(self, trial, model, epoch, logs=None):
        super().on_epoch_end(trial, model, epoch, logs)
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()},
               "seconds": round(time.perf_counter() - self._epoch_start, 3)}
        self._epochs.append(row)
        writes.write_run_text(self.run, RunDir.epochs_csv(self._trial_dir(trial)),
                              pd.DataFrame(self._epochs).to_csv(index=False))
        self.sweep_progress.epoch_end(epoch, logs)
        if self.pruner is not None and not self._pruned:
            curve = [e.get(self.pruner.objective, float("nan")) for e in self._epochs]
            self._pruned = self.pruner.check(curve)
            if self._pruned:
                model.stop_training = True  # its best epoch's weights are kept, as at early stopping

    def run_trial(self, trial, *args, **kwargs):
        try:
            return super().run_trial(trial, *args, **kwargs)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
            import keras_tuner as kt

            # Not the trial's fault: KerasTuner must not record it FAILED. A fatal
            # error leaves it ongoing, so the resumed sweep runs it again.
            raise kt.errors.FatalError(f"disk full: {e}") from e

    def on_trial_end(self, trial):
        # The checkpoint must be on disk before trial.json says COMPLETED (Keras
        # writes it in place; a cut-short write only happens to a trial still running).
        fsync_tree(self._trial_dir(trial))
        seconds = time.perf_counter() - self._trial_start
        fit = self.hypermodel.fit_seconds
        record = {
            "seconds": round(seconds, 3),
            "fit_seconds": round(fit, 3),
            "overhead_seconds": round(seconds - fit, 3),
            "params": self.hypermodel.params,
            "peak_rss_mb": runtime.peak_rss_mb(),
            "worker": self.tuner_id,
        }
        if self._pruned:
            record["pruned"] = self._pruned
        writes.write_run_json(self.run, RunDir.trial_record(self._trial_dir(trial)), record)
        try:
            super().on_trial_end(trial)
        except RuntimeError:
            # The oracle's only error here: too many failures in a row. It raises
            # before saving this trial, which would otherwise stay RUNNING on disk.
            trial.save(str(RunDir.trial_json(self._trial_dir(trial))))
            raise TooManyFailures(self.oracle.max_consecutive_failed_trials,
                                  failure_reason(trial.message or "")) from None
        self.sweep_progress.trial_end()
        if self.trial_end_hook:
            self.trial_end_hook()

    @property
    def run(self) -> RunDir:
        return RunDir(self.directory)  # the tuner's directory is the run folder (make_tuner)

    def _trial_dir(self, trial) -> Path:
        return Path(self.get_trial_dir(trial.trial_id))  # the tuner's


def _tuner_class(base):
    """One of KerasTuner's tuners, with `SweepTunerMixin` in front."""
    ktcompat.atomic_json_writes()
    return type(f"Sweep{base.__name__}", (SweepTunerMixin, base), {})


def make_tuner(cfg: SweepConfig, hypermodel, run: RunDir, overwrite: bool,
               on_trial_end: Callable[[], None] | None = None):
    """One of KerasTuner's tuners, wrapped by `_tuner_class`, on `run.tuner`."""
    import keras_tuner as kt

    t = cfg.tuner
    # KerasTuner's oracle reads seed 0 as "no seed" (`seed or random...`).
    seed = t.seed if t.seed else 2**31 - 1
    common = dict(
        objective=kt.Objective(t.objective, t.direction),
        seed=seed,
        max_consecutive_failed_trials=t.max_consecutive_failed_trials,
        max_seconds=t.max_seconds,
        start_from=t.start_from,
    )
    entry = TUNERS.get(t.algorithm)  # the tuner and oracle classes, from the one table
    if t.algorithm == "hyperband":
        # KerasTuner's default, one Hyperband iteration, stops after as few as 1 trial
        # (epochs 1 or 2) or 10 (epochs 5, factor 3) whatever max_trials says; as many
        # iterations as it takes (0: unbounded), so that max_trials decides.
        oracle = oracle_class(entry.resolve("oracle"))(
            max_epochs=t.epochs, factor=t.hyperband_factor, hyperband_iterations=0, **common)
        ktcompat.limit_hyperband_trials(oracle, t.max_trials)
    elif t.algorithm == "bayesian":
        # KerasTuner's default is 3 x every declared hyperparameter, fixed ones included.
        oracle = oracle_class(entry.resolve("oracle"))(
            max_trials=t.max_trials, num_initial_points=cfg.initial_points(), **common)
    else:
        oracle = oracle_class(entry.resolve("oracle"))(max_trials=t.max_trials, **common)
    # Any algorithm; Hyperband stops weak trials by its brackets already.
    pruner = MedianPruner(run, t.objective, t.epochs) if t.pruning == "median" else None
    return _tuner_class(entry.resolve())(
        oracle=oracle, hypermodel=hypermodel, seed=seed, directory=str(run.path),
        project_name=TUNER_PROJECT, overwrite=overwrite, on_trial_end=on_trial_end, pruner=pruner)


# --- The sweep ----------------------------------------------------------------------


def search(cfg: SweepConfig, data: SweepData, run: RunDir, options: SweepOptions,
           on_trial_end: Callable[[], None] | None = None,
           say: Callable[[str], None] = lambda line: None,
           progress: TrialEvents | None = None) -> dict | None:
    """Runs (or resumes) the search, then evaluates the best trial once on test.

    Call `configure_runtime` first, before any TensorFlow work.

    Args:
        cfg: the validated space.
        data: the loaded text (its vectorized forms are made on demand and cached).
        run: the run folder (see `rundir.prepare`).
        options: how to run.
        on_trial_end: called after every trial, once KerasTuner has saved it.
        say: where notes go (what a resume repaired).
        progress: told of each trial, epoch and batch (`sweep.progress`).

    Returns:
        The test evaluation of the best trial, or None when no trial completed.

    Raises:
        TooManyFailures: `max_consecutive_failed_trials` trials failed in a row.
        OSError: ENOSPC (disk full); the trial under way is left to be run again.
        KeyboardInterrupt: Ctrl-C.
    """
    import keras
    import keras_tuner as kt

    from sweep.model import training

    ktcompat.show_trial_tracebacks(options.verbose)
    writes.write_run_json(run, run.classes_json, data.class_names)
    hypermodel = hypermodel_class()(cfg.hyperparameters, data, verbose=options.verbose,
                                     objective=cfg.tuner.objective, pretrain=cfg.pretrain, say=say)
    tuner = make_tuner(cfg, hypermodel, run, options.overwrite, on_trial_end)
    if progress is not None:
        tuner.sweep_progress = progress
    if isinstance(tuner.oracle, kt.Oracle) and run.oracle_json.exists() and not options.overwrite:
        for note in ktcompat.repair_reloaded_oracle(tuner.oracle):
            say(f"Resume: {note}.")

    callbacks = training.callbacks(cfg.tuner.objective, cfg.tuner.early_stopping_patience,
                                   options.verbose)
    if options.tensorboard:
        # KerasTuner gives each trial its own log folder and writes the HParams summary.
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run.tensorboard)))
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, runtime.CtrlC.handler) if main_thread else None
    oracle = tuner.oracle if isinstance(tuner.oracle, SweepOracleMixin) else None  # not a worker's
    if oracle is not None:
        oracle.start_clock()
    try:
        tuner.search(epochs=cfg.tuner.epochs, callbacks=callbacks, verbose=0)
        runtime.CtrlC.check()
    except kt.errors.FatalError as e:
        if isinstance(e.__cause__, OSError):
            raise e.__cause__ from None  # disk full inside a trial (see run_trial)
        raise
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
        runtime.CtrlC.requested = False
    # A chief's oracle saves itself before it lets go of a trial that ended, so its
    # oracle.json would still list the last one as ongoing (and a resume re-run it).
    tuner.save()
    if oracle is not None and oracle.budget_spent:
        say(budget_note(cfg, oracle.seconds_used(), len(tuner.oracle.trials)))
    return evaluation.evaluate_best(tuner, data, run) if options.evaluate else None


def budget_note(cfg: SweepConfig, seconds: float, trials: int) -> str:
    """The line that says the time budget, not max_trials, ended the search."""
    return (f"Time budget spent: tuner.max_time {cfg.tuner.max_time} reached after "
            f"{seconds:.0f}s of search and {trials} of up to {cfg.tuner.max_trials} trials; "
            "no trial started after it. Raise it (--max-time) and run the same command to go on.")
