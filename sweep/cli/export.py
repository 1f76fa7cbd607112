"""`sweep export RUN_DIR`: write a completed trial as a model that reads raw text."""

from __future__ import annotations

import argparse
from pathlib import Path

from sweep.cli import common
from sweep.cli import track as cli_track
from sweep.errors import UsageError
from sweep.rundir import RunDir

NAME = "export"


def add_parser(sub) -> argparse.ArgumentParser:
    p = common.command(sub, NAME, run, help="write a completed trial as a model that reads raw text",
                       description="""
        Write model.keras (raw strings in, one probability per class out; Keras built-ins only),
        saved_model/ (TensorFlow SavedModel, signature `serve`), classes.json and a model card.""")
    common.add_run_dir(p)
    p.add_argument("--trial", metavar="ID", help="a completed trial (default: the best)")
    p.add_argument("--refit", action="store_true",
                   help="retrain its hyperparameters on train + validation for its best number "
                        "of epochs, and export that model")
    p.add_argument("--out", metavar="DIR", help="the export folder (default RUN/export/trial_ID[_refit])")
    p.add_argument("--verbose", action="store_true", help="show TensorFlow's own lines")
    cli_track.add_mlflow_flag(p, "the export folder, as an artifact of the trial's run,")
    p.add_argument("--register", metavar="NAME",
                   help="with MLflow tracking: register the export in the Model Registry as NAME")
    return p


def run(args: argparse.Namespace) -> int:
    from sweep.serve import export

    if cli_track.check(args.run_dir, args.mlflow) is None and args.register:
        raise UsageError("--register: needs MLflow tracking (--mlflow URI or MLFLOW_TRACKING_URI)")
    with common.native_stderr_hidden(not args.verbose):
        done = export.export(RunDir(args.run_dir), args.trial, args.refit,
                             Path(args.out) if args.out else None, say=common.say)
    for note in done.notes:
        common.note(note)
    card = done.card
    test = card["checkpoint"]["test"]
    line = f"Trial {card['trial_id']}: checkpoint test accuracy {test['test_accuracy']:.4f}"
    if card["refit"]:
        line += f", refit {card['refit']['test_accuracy']:.4f} ({card['refit']['seconds']} s)"
    print(line)
    print(f"Exported: {done.folder}/ ({', '.join(card['files'])})")
    job = cli_track.export_job(str(card["trial_id"]), Path(str(done.folder)), args.register)
    logged = cli_track.after(args.run_dir, args.mlflow, common.say, job)
    if logged:
        print(f"MLflow: run {logged['run_id']}, artifact {logged['artifact_path']}"
              + (f"; registered {logged['registered']!r} version {logged['version']}"
                 if logged.get("registered") else ""))
    return common.EXIT_OK
