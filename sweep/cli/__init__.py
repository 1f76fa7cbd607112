"""`sweep`: the command line. Parses, calls the library, maps errors to exit codes.

    sweep run SPACE [flags]     run or resume a sweep           (exit 0; 2 bad input; 1 failed)
        --workers N                 ... with a chief and N worker processes on this machine
        --role chief|worker --oracle HOST:PORT [--worker-id ID]
                                    ... as one process of a sweep over several machines
    sweep report RUN_DIR        rebuild the CSVs, print a leaderboard
    sweep plot RUN_DIR          write the PNGs
    sweep confirm RUN_DIR       retrain the top configurations with new seeds (--top K --seeds S)
    sweep track RUN_DIR         bring an MLflow tracking server up to date (--mlflow URI)

Only this module prints usage or exits. TensorFlow is imported after the space and the
flags are validated, so a bad space is refused in well under a second.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from sweep import rundir
from sweep.analysis import results
from sweep.cli import track as cli_track
from sweep.errors import Interrupted, SweepError, UsageError
from sweep.rundir import RunDir
from sweep.space import config

EXIT_OK, EXIT_USAGE = 0, UsageError.exit_code


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line (its default also prints the usage block)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _int_in(low: int, words: str, high: int | None = None):
    """An argparse type: an integer in [low, high], refused as 'expected <words>'."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {words}, got {text!r}")
        return value

    return parse


_positive_int = _int_in(1, "a positive integer")
_seed = _int_in(0, f"an integer from 0 to {config.MAX_SEED}", config.MAX_SEED)


def _duration(text: str) -> str:
    """An argparse type: a duration such as 45s, 90m or 2h (kept as typed, for the saved space)."""
    try:
        config.parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


# --- run ----------------------------------------------------------------------------


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run (or resume) a sweep", description=(
        "Run the sweep a space file describes; a run of the same name is resumed unless "
        "--overwrite is given. Flags override the file."))
    p.add_argument("space", help="the search space (YAML)")
    p.add_argument("--data", metavar="SOURCE", help="data source: tfds:NAME[/CONFIG], csv:PATH or dir:PATH")
    p.add_argument("--tuner", metavar="ALG", choices=config.ALGORITHMS,
                   help="random | grid | bayesian | hyperband")
    p.add_argument("--max-trials", type=_positive_int, metavar="N")
    p.add_argument("--max-time", type=_duration, metavar="DURATION",
                   help="time budget of the search, e.g. 45s, 90m, 2h (counted across resumes): no "
                        "trial starts once it is spent")
    p.add_argument("--epochs", type=_positive_int, metavar="N")
    p.add_argument("--seed", type=_seed, metavar="N")
    p.add_argument("--results-dir", default="results", metavar="DIR", help="default: results")
    p.add_argument("--name", help="run folder name (default: the space's name)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run of that name")
    p.add_argument("--limit-train", type=_positive_int, metavar="N",
                   help="train on a seeded sample of N examples of the training part")
    p.add_argument("--limit-eval", type=_positive_int, metavar="N",
                   help="validate and test on at most N examples each")
    p.add_argument("--tensorboard", action="store_true",
                   help="write TensorBoard logs with HParams under RUN_DIR/tensorboard")
    p.add_argument("--mixed-precision", action="store_true", help="mixed float16 (GPU)")
    p.add_argument("--verbose", action="store_true", help="show Keras' per-epoch lines")
    cli_track.add_mlflow_flag(p, "every trial")
    d = p.add_argument_group("distributed (KerasTuner's chief/worker oracle)")
    d.add_argument("--workers", type=_positive_int, metavar="N",
                   help="run a chief and N worker processes on this machine (one GPU each, round-robin)")
    d.add_argument("--role", choices=("chief", "worker"),
                   help="this process's part in a sweep over several machines")
    d.add_argument("--oracle", metavar="HOST:PORT",
                   help="the chief's address (the chief listens there; e.g. 0.0.0.0:8000)")
    d.add_argument("--worker-id", metavar="ID",
                   help="a worker's unique name; restarted with the same ID, it resumes its trial")
    p.set_defaults(handler=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from sweep import lifecycle
    from sweep.lifecycle import RunOptions
    from sweep.search import distributed

    role = distributed.role_from_flags(args.workers, args.role, args.oracle, args.worker_id,
                                       args.overwrite)
    cfg = config.load(
        args.space, name=args.name, source=args.data, algorithm=args.tuner,
        max_trials=args.max_trials, epochs=args.epochs, seed=args.seed, max_time=args.max_time,
        limit_train=args.limit_train, limit_eval=args.limit_eval, mlflow=args.mlflow,
    )
    options = RunOptions(results_dir=Path(args.results_dir), overwrite=args.overwrite,
                         tensorboard=args.tensorboard, verbose=args.verbose,
                         mixed_precision=args.mixed_precision)
    if args.workers:
        from sweep.search import launcher

        return launcher.launch_local(args.argv, args.workers, RunDir(options.results_dir / cfg.name),
                                     overwrite=args.overwrite)
    if role:
        distributed.apply_role(role)  # a chief checks its port here
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _native_stderr_hidden(not args.verbose):
        if role and not role.is_chief:
            lifecycle.run_worker(cfg, options, role, say=_say)
            return EXIT_OK
        outcome = lifecycle.run_sweep(cfg, options, role, say=_say)
    print()
    print(results.format_table(results.leaderboard(outcome.trials, cfg.tuner.objective, 5,
                                                   hp_names=cfg.varying())))
    test = outcome.test
    if test:
        print(f"\nBest trial {test['trial_id']} on the test split ({test['test_examples']} "
              f"examples): accuracy {test['test_accuracy']:.4f}, loss {test['test_loss']:.4f}")
    print(f"Results: {outcome.run}/ (trials.csv, history.csv, "
          f"{', '.join(p.name for p in outcome.plots) or 'no plots'})")
    return EXIT_OK


def _say(line: str) -> None:
    print(line, flush=True)


@contextlib.contextmanager
def _native_stderr_hidden(hide: bool = True) -> Iterator[None]:
    """Keeps what TensorFlow's C++ core writes to file descriptor 2 off the console.

    TF logs oneDNN, CUDA and XLA notices there (some before TF_CPP_MIN_LOG_LEVEL applies,
    some during training) that would bury the sweep's own lines. Python's `sys.stderr`
    keeps the console, so errors and tracebacks still show; the native lines go to a
    temporary file, whose tail is shown only if the command ends in an unexpected error.
    """
    if not hide:
        yield
        return
    sys.stderr.flush()
    console = os.dup(2)
    native = tempfile.TemporaryFile()
    os.dup2(native.fileno(), 2)
    python_stderr = sys.stderr
    sys.stderr = open(console, "w", buffering=1, closefd=False)
    try:
        yield
    except (SweepError, KeyboardInterrupt):
        raise
    except BaseException:
        native.seek(0)
        tail = native.read()[-4000:].decode(errors="replace").strip()
        if tail:
            print(f"TensorFlow's native log (tail):\n{tail}", file=sys.stderr)
        raise
    finally:
        sys.stderr.close()  # flushes; the descriptor stays open (closefd=False)
        sys.stderr = python_stderr
        os.dup2(console, 2)
        os.close(console)
        native.close()


# --- report and plot ----------------------------------------------------------------


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="rebuild trials.csv/history.csv and print a leaderboard")
    p.add_argument("run_dir", help="a run folder (results/NAME)")
    p.add_argument("--top", type=_positive_int, default=10, metavar="K")
    p.add_argument("--sort", metavar="COLUMN", help="a trials.csv column (default: the objective)")
    p.add_argument("--out", metavar="DIR",
                   help="write trials.csv and history.csv here (default: the run folder, if writable)")
    p.set_defaults(handler=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    run_dir = RunDir(args.run_dir)
    cfg = rundir.load_config(run_dir)
    trials, history = results.read_tables(run_dir)
    _write_or_say(lambda out: results.save_tables(trials, history, out or run_dir), args.out,
                  "trials.csv and history.csv")
    objective = cfg.tuner.objective
    state = rundir.run_state(run_dir)
    counts = trials.status.value_counts().to_dict() if len(trials) else {}
    print(f"{run_dir}: sweep {state}; {len(trials)} trials "
          f"({', '.join(f'{v} {str(k).lower()}' for k, v in counts.items()) or 'none yet'}), "
          f"{len(history)} epochs recorded")
    names = rundir.class_names(run_dir)
    if names:
        print(f"Classes: {', '.join(f'{i}={n}' for i, n in enumerate(names))}")
    if len(trials):
        board = results.leaderboard(trials, objective, args.top, args.sort, cfg.varying())
        print(results.format_table(board))
    return EXIT_OK


def _add_plot(sub) -> None:
    p = sub.add_parser("plot", help="write the run's PNG plots into its folder")
    p.add_argument("run_dir", help="a run folder (results/NAME)")
    p.add_argument("--top", type=_positive_int, default=3, metavar="K",
                   help="trials in best_curves.png (default 3)")
    p.add_argument("--out", metavar="DIR", help="write the PNGs here (default: the run folder)")
    p.set_defaults(handler=cmd_plot)


def cmd_plot(args: argparse.Namespace) -> int:
    from sweep.analysis import plots

    written = _write_or_say(lambda out: plots.plot_run(args.run_dir, args.top, out), args.out,
                            "the plots", required=True) or []
    for p in written:
        print(p)
    if not written:
        print(f"{args.run_dir}: no completed trials to plot yet", file=sys.stderr)
    return EXIT_OK


def _write_or_say(write: Callable, out: str | None, what: str, required: bool = False):
    """Runs `write(out)`; a folder that cannot be written (read-only, a colleague's share)
    is said in one line: a note when the output is optional, else an error (exit 2)."""
    try:
        if out is not None:
            Path(out).mkdir(parents=True, exist_ok=True)
        return write(out)
    except OSError as e:
        message = f"cannot write {what} to {out or 'the run folder'} ({e.strerror}); pass --out DIR"
        if required:
            raise UsageError(message) from None
        print(f"sweep: note: {message}", file=sys.stderr)
        return None


# --- confirm ----------------------------------------------------------------------------


def _add_confirm(sub) -> None:
    p = sub.add_parser("confirm", help="retrain a finished run's top configurations with new seeds",
                       description=(
        "Retrain the top K completed configurations of a finished run with S new seeds each, "
        "as the sweep trained them; write confirm.csv and confirm.png, print each "
        "configuration's mean, sd and 95%% interval, and score the best mean on test "
        "(test.json's \"confirmed\"). The same command resumes; a larger --top or --seeds "
        "extends."))
    p.add_argument("run_dir", help="a finished run folder (results/NAME)")
    p.add_argument("--top", type=_positive_int, default=3, metavar="K",
                   help="configurations, from the leaderboard's first (default 3)")
    p.add_argument("--seeds", type=_int_in(2, "an integer of 2 or more"), default=5, metavar="S",
                   help="new seeds per configuration (default 5)")
    p.add_argument("--resplit", action="store_true",
                   help="also draw a new validation split from the training data for each seed")
    p.add_argument("--verbose", action="store_true", help="show Keras' per-epoch lines")
    cli_track.add_mlflow_flag(p, "the repeats, under the sweep's parent run,")
    p.set_defaults(handler=cmd_confirm)


def cmd_confirm(args: argparse.Namespace) -> int:
    from sweep.analysis import confirm

    cli_track.check(args.run_dir, args.mlflow)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _native_stderr_hidden(not args.verbose):
        outcome = confirm.confirm(args.run_dir, args.top, args.seeds, args.resplit,
                                  verbose=args.verbose, say=_say)
    cli_track.after(args.run_dir, args.mlflow, _say)
    print()
    print(results.format_table(outcome.summary))
    print(f"\n{outcome.verdict}")
    test = outcome.confirmed
    if test:
        sd = test.get("test_accuracy_sd")
        print(f"Best mean: trial {test['trial_id']}, its {len(test['by_seed'])} repeats on the test "
              f"split ({test['test_examples']} examples): accuracy {test['test_accuracy']:.4f}"
              + (f" ± {sd:.4f} (sd)" if sd is not None else ""))
    made = [p.name for p in (outcome.run.confirm_csv, outcome.plot) if p is not None]
    print(f"Results: {outcome.run}/ ({', '.join(made)}, test.json)")
    return EXIT_OK


# --- export and predict ---------------------------------------------------------------


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="write a completed trial as a model that reads raw text",
                       description=(
        "Write model.keras (raw strings in, one probability per class out; Keras built-ins only), "
        "saved_model/ (TensorFlow SavedModel, signature `serve`), classes.json and a model card."))
    p.add_argument("run_dir", help="a run folder (results/NAME)")
    p.add_argument("--trial", metavar="ID", help="a completed trial (default: the best)")
    p.add_argument("--refit", action="store_true",
                   help="retrain its hyperparameters on train + validation for its best number "
                        "of epochs, and export that model")
    p.add_argument("--out", metavar="DIR", help="the export folder (default RUN/export/trial_ID[_refit])")
    p.add_argument("--verbose", action="store_true", help="show TensorFlow's own lines")
    cli_track.add_mlflow_flag(p, "the export folder, as an artifact of the trial's run,")
    p.add_argument("--register", metavar="NAME",
                   help="with MLflow tracking: register the export in the Model Registry as NAME")
    p.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from sweep.serve import export

    if cli_track.check(args.run_dir, args.mlflow) is None and args.register:
        raise UsageError("--register: needs MLflow tracking (--mlflow URI or MLFLOW_TRACKING_URI)")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _native_stderr_hidden(not args.verbose):
        done = export.export(RunDir(args.run_dir), args.trial, args.refit,
                             Path(args.out) if args.out else None, say=_say)
    for note in done.notes:
        print(f"sweep: note: {note}", file=sys.stderr)
    card = done.card
    test = card["checkpoint"]["test"]
    line = f"Trial {card['trial_id']}: checkpoint test accuracy {test['test_accuracy']:.4f}"
    if card["refit"]:
        line += f", refit {card['refit']['test_accuracy']:.4f} ({card['refit']['seconds']} s)"
    print(line)
    print(f"Exported: {done.folder}/ ({', '.join(card['files'])})")
    job = cli_track.export_job(str(card["trial_id"]), Path(str(done.folder)), args.register)
    logged = cli_track.after(args.run_dir, args.mlflow, _say, job)
    if logged:
        print(f"MLflow: run {logged['run_id']}, artifact {logged['artifact_path']}"
              + (f"; registered {logged['registered']!r} version {logged['version']}"
                 if logged.get("registered") else ""))
    return EXIT_OK


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="class probabilities for new text from an export or a run",
                       description=(
        "MODEL is an export folder or a run folder (its best trial's export, made if missing). "
        "Writes CSV: row, predicted, prob_<class> per class, in input order."))
    p.add_argument("model", help="an export folder, or a run folder")
    p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify ('-' reads standard input)")
    p.add_argument("--input", metavar="FILE",
                   help="a .csv (text column found by name, or --text-column) or a file of one text per line")
    p.add_argument("--text-column", metavar="C", help="the CSV's text column(s), comma-separated")
    p.add_argument("--output", metavar="FILE", help="write the CSV here (default: standard output)")
    p.add_argument("--batch-size", type=_positive_int, default=256, metavar="N",
                   help="texts per network call (default 256)")
    p.set_defaults(handler=cmd_predict)


def cmd_predict(args: argparse.Namespace) -> int:
    from sweep.serve import predict

    source = args.input
    if args.texts == ["-"] and source is None:
        source = "-"
    elif args.texts and source is not None:
        raise UsageError("predict: give texts or --input, not both")
    elif not args.texts and source is None:
        raise UsageError("predict: give texts, --input FILE, or - for standard input")
    texts = predict.read_texts([] if source else args.texts, source, args.text_column)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _native_stderr_hidden(True):
        folder = predict.resolve_model(Path(args.model), _say_stderr)
        table = predict.predict_table(folder, texts, args.batch_size, show_progress=sys.stderr.isatty())
    if args.output:
        _write_or_say(lambda _: rundir.write_atomic(Path(args.output), table.to_csv(index=False)),
                      None, args.output, required=True)
    else:
        table.to_csv(sys.stdout, index=False)
    return EXIT_OK


def _say_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


COMMANDS: list[Callable] = [_add_run, _add_report, _add_plot, _add_confirm, _add_export, _add_predict,
                            cli_track.add_track]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sweep", description=(
        "KerasTuner sweeps over recurrent text classifiers, with pandas reports and plots."))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # what `run --workers` passes on to the processes it starts
    try:
        return args.handler(args)
    except UsageError as e:  # bad space, flags or data; not a run folder: nothing ran
        print(f"sweep: error: {e}", file=sys.stderr)
        return e.exit_code
    except Interrupted as e:
        print(f"\n{e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:  # before the sweep started: nothing to keep
        print("\nInterrupted before the sweep started; run the same command again.", file=sys.stderr)
        return Interrupted.exit_code
    except SweepError as e:
        print(f"sweep: {e}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())
