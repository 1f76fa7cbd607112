"""A sweep's lifecycle: a validated space in, a finished (or resumable) run folder out.

    load the data (bad data is refused before the run folder exists)
    -> prepare the run folder (resume or start; the space saved)
    -> status "running" -> KerasTuner's search, a line per finished trial
    -> status finished | interrupted | failed, trials.csv and history.csv rebuilt, plots

`run_sweep` is one process of a sweep, on its own or as a distributed chief;
`run_worker` is a distributed worker. Both report progress through `say` (one line at a
time) and raise `sweep.errors` for the CLI to map to exit codes.
"""

from __future__ import annotations

import contextlib
import errno
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sweep import metrics, rundir, track
from sweep.analysis import results
from sweep.analysis.record import RunRecord
from sweep.errors import DiskFull, Interrupted, RunFailed, TooManyFailures
from sweep.metrics import TrialStatus
from sweep.progress import Say, TrialPrinter, printable
from sweep.rundir import RunDir
from sweep.rundir import lock as runlock
from sweep.search import distributed
from sweep.search.distributed import Role
from sweep.space.config import SweepConfig


@dataclass
class RunOptions:
    """How to run, as opposed to what to search (which is the space)."""

    results_dir: Path = Path("results")
    overwrite: bool = False
    tensorboard: bool = False
    verbose: bool = False
    mixed_precision: bool = False

    def run_dir(self, cfg: SweepConfig) -> RunDir:
        """The run folder of the sweep `cfg` describes: RESULTS_DIR/NAME."""
        return RunDir(Path(self.results_dir) / cfg.name)


@dataclass
class SweepOutcome:
    """What a finished sweep leaves for the console."""

    run: RunDir
    trials: pd.DataFrame
    test: dict | None
    plots: list[Path]


def _prepare_data(cfg: SweepConfig, run: RunDir, options: RunOptions):
    """The sweep's data and a seeded TensorFlow; a DataError leaves no run folder behind."""
    from sweep.data.pipeline import SweepData
    from sweep.train import runtime

    data = SweepData(cfg.data, cfg.tuner.seed, run)
    runtime.configure_runtime(cfg.tuner.seed, options.mixed_precision)
    return data


def run_sweep(cfg: SweepConfig, options: RunOptions, role: Role | None = None,
              say: Say = print) -> SweepOutcome:
    """Runs or resumes the sweep `cfg` describes, alone or as a distributed chief.

    Raises:
        UsageError: bad data, or the folder holds another space (nothing has run).
        RunFailed: too many failed trials in a row.
        Interrupted: Ctrl-C; the same call resumes.
    """
    run = options.run_dir(cfg)
    if options.overwrite:
        rundir.check_overwritable(run)
    else:
        cfg = rundir.keep_saved_standardization(cfg, run)
    # Refused before minutes of loading data, and before the lock file is made.
    rundir.check_resumable(cfg, run, options.overwrite)
    runlock.check_not_in_use(run)
    if role:
        distributed.check_secret(run, say)
    track.check(cfg)  # MLflow asked for but not installed: refused here
    data = _prepare_data(cfg, run, options)
    with runlock.RunLock(run) as lock, _disk_full_is_fatal(run):
        if lock.note:
            say(f"Note: {lock.note}.")
        # Tracking's last records are sent once the run's status is written (bounded wait).
        with track.live(run, cfg, say) as tracker:
            return _run_locked(cfg, run, data, options, role, say, tracker)


def _run_locked(cfg: SweepConfig, run: RunDir, data, options: RunOptions, role: Role | None,
                say: Say, tracker: track.Off) -> SweepOutcome:
    from sweep.analysis import plots
    from sweep.search import tuning

    resuming = rundir.prepare(cfg, run, options.overwrite)
    # Resumed under another tuner id (one machine <-> chief): keep KerasTuner's oracle.
    distributed.adopt_tuner_state(run, role.tuner_id if role else "tuner0")
    if role:
        distributed.secure_chief(run)
    say(f"{'Resuming' if resuming else 'Starting'} sweep {cfg.name!r} in {run}: "
        f"{cfg.tuner.algorithm}, up to {cfg.tuner.max_trials} trials x {cfg.tuner.epochs} epochs, "
        f"data {cfg.data.source}{f' from {data.splits.origin}' if data.splits.origin else ''}, "
        f"{describe_classes(data.class_names)}")
    if role:
        say(f"Chief: KerasTuner's oracle listens on {role.address}; start workers with "
            f"`sweep run SPACE --role worker --oracle HOST:{role.port} --worker-id ID`")
    progress = trial_progress(cfg, data, say, distributed=role is not None)
    printer = TrialPrinter(cfg, progress.say)

    def on_trial_end() -> None:
        trials, _ = results.write_tables(run)
        printer.print_new(trials[~trials.status.isin([TrialStatus.RUNNING, TrialStatus.INTERRUPTED])])
        progress.trials_ended(trials[trials.status.isin(metrics.ENDED)])
        tracker.update()

    search_options = tuning.SweepOptions(overwrite=options.overwrite, verbose=options.verbose,
                                         tensorboard=options.tensorboard)
    try:
        rundir.write_status(run, "running")
        with runlock.Heartbeat(run):
            # Trials that ended before a resume are not printed again.
            trials, _ = results.write_tables(run)
            printer.mark_seen(trials[trials.status.isin(metrics.ENDED)])
            progress.trials_ended(trials[trials.status.isin(metrics.ENDED)])
            tracker.update()  # the parent run, and what a resume adds to the server
            # A chief's search only serves the oracle; the trials end in the workers.
            with progress, distributed.polling(on_trial_end) if role else contextlib.nullcontext():
                test = tuning.search(cfg, data, run, search_options, on_trial_end=on_trial_end,
                                     say=progress.say, progress=progress)
            if cfg.baseline and test is not None:  # nothing was scored on test: nor is the baseline
                test = _with_baseline(cfg, data, run, test, say)
            trials, history = results.write_tables(run)
            written = plots.plot_run(RunRecord.read(run, tables=(trials, history)))
    except KeyboardInterrupt:
        _stopped(run, "interrupted")
        raise Interrupted(f"Interrupted. Completed trials are kept in {run}; resume with the same "
                          "command (without --overwrite).") from None
    except TooManyFailures as e:
        _stopped(run, "failed", reason=str(e))
        raise RunFailed(f"{e}; see the reason column of {run.trials_csv}") from None
    except BaseException:
        _stopped(run, "interrupted")
        raise
    # Finished only once the test result and the plots are written: a sweep cut short
    # before that resumes and finishes them.
    rundir.write_status(run, "finished")
    written += write_report(RunRecord.read(run, tables=(trials, history)), say)
    return SweepOutcome(run, trials, test, written)


def _with_baseline(cfg: SweepConfig, data, run: RunDir, test: dict | None, say: Say) -> dict | None:
    """The linear baseline on the sweep's own splits, fitted once per data (test.json keeps it).

    A helper, not the sweep: if it fails the run says so and finishes without it.
    """
    from sweep.rundir import testjson
    from sweep.search import baseline

    entry = testjson.saved_baseline(run, data.splits.fingerprint)
    if entry is None:
        say(f"Linear baseline: {baseline.DESCRIPTION} on the same {len(data.splits.train)} training "
            f"examples, its C chosen on the same validation split, scored once on test")
        try:
            entry = baseline.fit_and_score(data.splits, cfg.tuner.seed)
        except (ValueError, MemoryError) as e:  # e.g. a vocabulary of stop words only
            say(f"Warning: the linear baseline was not fitted ({type(e).__name__}: {e}); "
                "`baseline: false` in the space skips it")
            return test
        testjson.record_baseline(run, entry)
    return {**(test or {}), testjson.BASELINE: entry}


def write_report(source: RunRecord | RunDir, say: Say | None = print) -> list[Path]:
    """report.html, as the run stands; a failure to write it is a warning, never a failed sweep.

    Ctrl-C while it is written skips it too: the sweep itself is saved by then.
    """
    from sweep.analysis import report_html

    try:
        return [report_html.write_report(source)]
    except (Exception, KeyboardInterrupt) as e:
        run = source.run if isinstance(source, RunRecord) else source
        if say:
            say(f"Warning: report.html not written ({type(e).__name__}: {e}); "
                f"`sweep report {run} --html` writes it")
        return []


def _stopped(run: RunDir, state: str, **extra) -> None:
    """Records why the sweep stopped, as far as the disk allows (it may be full)."""
    with contextlib.suppress(OSError):
        rundir.write_status(run, state, **extra)
    with contextlib.suppress(Exception):
        results.write_tables(run)
        write_report(run, say=None)


@contextlib.contextmanager
def _disk_full_is_fatal(run: RunDir):
    """A full disk (ENOSPC) anywhere in the run becomes one line: DiskFull, exit 1."""
    try:
        yield
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        raise DiskFull(f"the disk holding {run} is full ({e.strerror}: {e.filename or 'a write'}); "
                       "free some space and run the same command again to resume") from None


def run_worker(cfg: SweepConfig, options: RunOptions, role: Role, say: Say = print) -> int:
    """A distributed worker: trains the trials the chief hands out, until it says stop.

    It writes each trial's files and leaves the run-wide ones (status, trials.csv,
    history.csv, test evaluation, plots) to the chief. Returns the trials it ran.

    Raises:
        UsageError: bad data, the chief's saved space differs from this one, or a live
            worker has this id.
        RunFailed: the oracle failed (the chief is gone, or raised).
        Interrupted: Ctrl-C.
    """
    run = options.run_dir(cfg)
    cfg = rundir.keep_saved_standardization(cfg, run)
    distributed.check_secret(run, say)
    worker_lock = runlock.RunLock(run, run.worker_lock(role.tuner_id), what=f"worker id {role.tuner_id!r}")
    worker_lock.acquire(take=False)  # a second live worker of that id: refused before loading data
    data = _prepare_data(cfg, run, options)
    distributed.check_worker_run_dir(cfg, run)
    with worker_lock, _disk_full_is_fatal(run):
        distributed.secure_worker(run, say)
        distributed.wait_for_chief(role, say)
        say(f"Worker {role.tuner_id}: sweep {cfg.name!r} in {run}, oracle at {role.address}"
            + distributed.gpu_note())
        return _work(cfg, run, data, options, role, say)


def _work(cfg: SweepConfig, run: RunDir, data, options: RunOptions, role: Role, say: Say) -> int:
    from sweep.search import tuning

    progress = trial_progress(cfg, data, say, distributed=True)
    printer = TrialPrinter(cfg, progress.say)

    def on_trial_end(print_them: bool = True) -> None:
        trials = results.trials_dataframe(run)
        ended = trials[trials.status.isin(metrics.ENDED)]  # all workers': the sweep's time left and best
        here = ended[ended.worker == role.tuner_id]
        if print_them:
            printer.print_new(here)
        else:
            printer.mark_seen(here)
        progress.trials_ended(ended)

    on_trial_end(print_them=False)  # those from before a restart
    search_options = tuning.SweepOptions(tensorboard=options.tensorboard, verbose=options.verbose,
                                         evaluate=False)
    try:
        with progress:
            tuning.search(cfg, data, run, search_options, on_trial_end=on_trial_end, progress=progress)
    except KeyboardInterrupt:
        raise Interrupted(f"Worker {role.tuner_id} interrupted; its unfinished trial is re-run when a "
                          "worker with the same --worker-id starts, or when the chief's sweep is "
                          "resumed.") from None
    except Exception as e:
        if not distributed.is_rpc_error(e):
            raise
        raise RunFailed(f"worker {role.tuner_id}: the oracle at {role.address} failed "
                        f"({distributed.rpc_reason(e)})") from None
    say(f"Worker {role.tuner_id}: the chief has no more trials; ran {printer.count} here")
    return printer.count


# --- Console lines --------------------------------------------------------------------


def trial_progress(cfg: SweepConfig, data, say: Say, distributed: bool = False):
    """The console's `sweep.progress.SweepProgress`: a live line on a terminal, else plain lines."""
    from sweep import progress

    batches = math.ceil(len(data.splits.train) / cfg.data.batch_size)  # bucketing adds a few
    return progress.for_console(cfg, say, batches_hint=batches, distributed=distributed)


def describe_classes(names: list[str], shown: int = 10) -> str:
    more = f", ... ({len(names) - shown} more)" if len(names) > shown else ""
    return printable(f"{len(names)} classes ({', '.join(names[:shown])}{more})")

