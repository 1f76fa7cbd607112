"""`sweep track RUN --mlflow URI`, and the --mlflow flag of `run`, `confirm` and `export`.

    sweep track RUN_DIR [--mlflow URI] [--experiment NAME]
        bring a tracking server up to date with a run folder (any: tracked or not, running,
        finished, made by 0.1); run again, it adds nothing twice

Tracking is a helper: in `confirm` and `export` a server that fails costs one warning.
`sweep track` is the one command whose job it is, so there a failure is its exit status (1).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sweep import rundir, track
from sweep.cli import common
from sweep.errors import NotARunError, RunFailed, UsageError
from sweep.rundir import RunDir
from sweep.rundir import lock as runlock
from sweep.space.config import SweepConfig

NAME = "track"


def add_mlflow_flag(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--mlflow", metavar="URI",
                   help=f"also record {what} on this MLflow tracking server (default: the space's "
                        "tracking.mlflow, else $MLFLOW_TRACKING_URI; see docs/tracking.md)")


def add_parser(sub) -> argparse.ArgumentParser:
    p = common.command(sub, NAME, run, help="bring an MLflow tracking server up to date with a run folder",
                       description="""
        Log what the server lacks of a run folder: a parent run for the sweep, a nested run per
        trial (hyperparameters, every epoch's metrics, status, timings), confirm's repeats and,
        once the sweep has ended, its test figures, tables, plots and report. Idempotent: run
        again, it adds nothing twice. Works on any run folder, tracked live or not.""")
    common.add_run_dir(p)
    p.add_argument("--mlflow", metavar="URI",
                   help="the tracking server (default: the space's tracking.mlflow, else "
                        "$MLFLOW_TRACKING_URI)")
    p.add_argument("--experiment", metavar="NAME",
                   help="the MLflow experiment (default: the space's tracking.experiment, else "
                        "$MLFLOW_EXPERIMENT_NAME, else the sweep's name)")
    return p


def run(args: argparse.Namespace) -> int:
    run, cfg = common.open_run(args.run_dir)
    uri = track.check(cfg, args.mlflow)
    if uri is None:
        raise UsageError("track: no tracking server; pass --mlflow URI (or set MLFLOW_TRACKING_URI)")
    from sweep.track import public_uri, redact
    from sweep.track.mlflow import Reconciler

    experiment = args.experiment or track.experiment_for(cfg)
    waiting = f"Waiting for the live sweep's MLflow sync of {run} to end (one at a time)"
    try:
        with runlock.turn(run.track_lock, lambda: common.say(waiting)):
            reconciler = Reconciler(run, uri, experiment)
            done = reconciler.sync()
    except Exception as e:  # the server's errors, in whatever class the client raises them
        why = redact(" ".join(str(e).split()), uri)[:300]
        raise RunFailed(f"track: {public_uri(uri)}: {why}") from None
    state = reconciler.state
    print(f"{run}: {done['trials']} trials"
          + (f", {done['confirm']} confirm repeats" if done["confirm"] else "")
          + f" on {public_uri(uri)}, experiment {state.get('experiment')!r} "
            f"(id {state.get('experiment_id')}), parent run {state.get('parent')}")
    return common.EXIT_OK


def _saved_space(run_dir: str) -> SweepConfig | None:
    try:
        return rundir.load_config(RunDir(run_dir))
    except NotARunError:
        return None  # the command's own check says so


def check(run_dir: str, flag: str | None) -> str | None:
    """Before `confirm` or `export` works: the URI (None: off); MLflow missing is refused."""
    return track.check(_saved_space(run_dir), flag)


def after(run_dir: str, flag: str | None, say, job=None):
    """After `confirm` or `export`: a sync (and `job(reconciler)`), bounded; None when off."""
    cfg = _saved_space(run_dir)
    if cfg is None or track.uri_for(cfg, flag) is None:
        return None
    tracker = track.live(RunDir(run_dir), cfg, say, flag, announce=False)
    return tracker.close(job)


def export_job(trial_id: str, folder: Path, register: str | None):
    """`after`'s job for `sweep export`: the folder as an artifact of the trial's run."""
    def job(reconciler):
        return reconciler.log_export(trial_id, folder, register)

    return job
