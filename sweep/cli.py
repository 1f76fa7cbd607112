"""`sweep`: the command line. Parses, calls the library, maps errors to exit codes.

    sweep run SPACE [flags]     run or resume a sweep           (exit 0; 2 bad input; 1 failed)
        --workers N                 ... with a chief and N worker processes on this machine
        --role chief|worker --oracle HOST:PORT [--worker-id ID]
                                    ... as one process of a sweep over several machines
    sweep report RUN_DIR        rebuild the CSVs, print a leaderboard
    sweep plot RUN_DIR          write the PNGs

Only this module prints usage or exits. TensorFlow is imported after the space and the
flags are validated, so a bad space is refused in well under a second.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

from sweep import config
from sweep.config import ConfigError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line (its default also prints the usage block)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _int_at_least(low: int, words: str):
    """An argparse type: an integer >= low, refused as 'expected a <words>'."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a {words}, got {text!r}")
        return value

    return parse


_positive_int = _int_at_least(1, "positive integer")
_seed = _int_at_least(0, "non-negative integer")


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
    from sweep import distributed

    role = distributed.role_from_flags(args.workers, args.role, args.oracle, args.worker_id,
                                       args.overwrite)
    cfg = config.load(
        args.space, name=args.name, source=args.data, algorithm=args.tuner,
        max_trials=args.max_trials, epochs=args.epochs, seed=args.seed,
        limit_train=args.limit_train, limit_eval=args.limit_eval,
    )
    if args.workers:
        return distributed.launch_local(args.argv, args.workers, Path(args.results_dir) / cfg.name)
    if role:
        distributed.apply_role(role)  # a chief checks its port here
    if role and not role.is_chief:
        return _run_worker(args, cfg, role)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from sweep import plots, results, tuning
    from sweep.data import SweepData

    run_dir = Path(args.results_dir) / cfg.name
    with _quiet_native_stderr(not args.verbose):
        # Bad data is refused here, before the run folder exists.
        data = SweepData(cfg.data, cfg.tuner.seed, run_dir / "cache")
        tuning.configure_runtime(cfg.tuner.seed, args.mixed_precision)
    resuming = tuning.prepare_run_dir(cfg, run_dir, args.overwrite)
    # Resumed under another tuner id (one machine <-> chief): keep KerasTuner's oracle.
    distributed.adopt_tuner_state(run_dir / tuning.TUNER_DIR, role.tuner_id if role else "tuner0")
    print(f"{'Resuming' if resuming else 'Starting'} sweep {cfg.name!r} in {run_dir}: "
          f"{cfg.tuner.algorithm}, up to {cfg.tuner.max_trials} trials x {cfg.tuner.epochs} epochs, "
          f"data {cfg.data.source}, {_classes(data.class_names)}", flush=True)
    if role:
        print(f"Chief: KerasTuner's oracle listens on {role.address}; start workers with "
              f"`sweep run SPACE --role worker --oracle HOST:{role.port} --worker-id ID`", flush=True)
    varying = cfg.varying()
    seen: set[str] = set()

    def on_trial_end() -> None:
        trials, _ = results.write_tables(run_dir)
        for _, row in trials.iterrows():
            if row.trial_id in seen or row.status in ("RUNNING", "INTERRUPTED"):
                continue
            seen.add(row.trial_id)
            print(_trial_line(row, len(seen), cfg, varying), flush=True)

    options = tuning.SweepOptions(overwrite=args.overwrite, tensorboard=args.tensorboard,
                                  verbose=args.verbose)
    tuning.write_status(run_dir, "running")
    try:
        # Trials that finished before a resume are printed first, and not again.
        trials, _ = results.write_tables(run_dir)
        seen.update(trials.trial_id[trials.status.isin(["COMPLETED", "FAILED", "INVALID"])])
        # A chief's search only serves the oracle; the trials end in the workers.
        with distributed.polling(on_trial_end) if role else contextlib.nullcontext():
            test = tuning.run_sweep(cfg, data, run_dir, options, on_trial_end=on_trial_end)
    except KeyboardInterrupt:
        tuning.write_status(run_dir, "interrupted")
        results.write_tables(run_dir)
        print(f"\nInterrupted. Completed trials are kept in {run_dir}; resume with the same "
              "command (without --overwrite).", file=sys.stderr)
        return EXIT_INTERRUPTED
    except tuning.TooManyFailures as e:
        tuning.write_status(run_dir, "failed", reason=str(e))
        results.write_tables(run_dir)
        print(f"sweep: {e}; see the reason column of {run_dir / 'trials.csv'}", file=sys.stderr)
        return EXIT_FAILED
    tuning.write_status(run_dir, "finished")
    trials, _ = results.write_tables(run_dir)
    written = plots.plot_run(run_dir)
    print()
    print(results.format_table(results.leaderboard(trials, cfg.tuner.objective, 5,
                                                   hp_names=varying)))
    if test:
        print(f"\nBest trial {test['trial_id']} on the test split ({test['test_examples']} "
              f"examples): accuracy {test['test_accuracy']:.4f}, loss {test['test_loss']:.4f}")
    print(f"Results: {run_dir}/ (trials.csv, history.csv, "
          f"{', '.join(p.name for p in written) or 'no plots'})")
    return EXIT_OK


def _run_worker(args: argparse.Namespace, cfg: config.SweepConfig, role) -> int:
    """A distributed worker: trains the trials the chief hands out, until it says stop.

    It writes each trial's files, and leaves the run-wide ones (status, trials.csv,
    history.csv, test evaluation, plots) to the chief.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from sweep import distributed, results, tuning
    from sweep.data import SweepData

    run_dir = Path(args.results_dir) / cfg.name
    with _quiet_native_stderr(not args.verbose):
        data = SweepData(cfg.data, cfg.tuner.seed, run_dir / "cache")
        tuning.configure_runtime(cfg.tuner.seed, args.mixed_precision)
    distributed.check_worker_run_dir(cfg, run_dir)
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES")
    print(f"Worker {role.tuner_id}: sweep {cfg.name!r} in {run_dir}, oracle at {role.address}"
          + (f", CUDA_VISIBLE_DEVICES={gpus}" if gpus is not None else ""), flush=True)
    varying = cfg.varying()
    seen: set[str] = set()

    def mine() -> list:
        trials = results.trials_dataframe(run_dir)
        done = trials[(trials.worker == role.tuner_id)
                      & trials.status.isin(["COMPLETED", "FAILED", "INVALID"])]
        return [row for _, row in done.iterrows() if row.trial_id not in seen]

    def on_trial_end() -> None:
        for row in mine():
            seen.add(row.trial_id)
            print(_trial_line(row, len(seen), cfg, varying), flush=True)

    seen.update(row.trial_id for row in mine())  # from before a restart
    options = tuning.SweepOptions(tensorboard=args.tensorboard, verbose=args.verbose, evaluate=False)
    try:
        tuning.run_sweep(cfg, data, run_dir, options, on_trial_end=on_trial_end)
    except KeyboardInterrupt:
        print(f"\nWorker {role.tuner_id} interrupted; its unfinished trial is re-run when a worker "
              f"with the same --worker-id starts, or when the chief's sweep is resumed.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:
        if not distributed.is_rpc_error(e):
            raise
        print(f"sweep: worker {role.tuner_id}: the oracle at {role.address} failed "
              f"({distributed.rpc_reason(e)})", file=sys.stderr)
        return EXIT_FAILED
    print(f"Worker {role.tuner_id}: the chief has no more trials; ran {len(seen)} here", flush=True)
    return EXIT_OK


@contextlib.contextmanager
def _quiet_native_stderr(quiet: bool = True):
    """Hides what TensorFlow's C++ core writes to file descriptor 2 while it loads.

    TF 2.21 logs oneDNN and CUDA notices there before TF_CPP_MIN_LOG_LEVEL applies: half
    a dozen lines that would bury a one-line error about the data. Python exceptions
    are unaffected (they are printed after the descriptor is restored).
    """
    if not quiet:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _trial_line(row, n: int, cfg: config.SweepConfig, varying: list[str]) -> str:
    hps = " ".join(f"{k}={_short(row.get(k))}" for k in varying)
    metric = row.get(cfg.tuner.objective)
    shown = f"{cfg.tuner.objective}={metric:.4f}" if isinstance(metric, float) and metric == metric \
        else row.get("reason") or ""
    if row.status in ("FAILED", "INVALID") and isinstance(row.get("reason"), str):
        shown = row.get("reason")  # its metrics are those of a broken run
    seconds = row.get("seconds")
    took = f"{seconds:.1f}s" if isinstance(seconds, float) and seconds == seconds else ""
    return f"[{n}/{cfg.tuner.max_trials}] trial {row.trial_id} {row.status:<9} {hps}  {shown}  {took}"


def _classes(names: list[str], shown: int = 10) -> str:
    more = f", ... ({len(names) - shown} more)" if len(names) > shown else ""
    return f"{len(names)} classes ({', '.join(names[:shown])}{more})"


def _short(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


# --- report and plot ----------------------------------------------------------------


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="rebuild trials.csv/history.csv and print a leaderboard")
    p.add_argument("run_dir", help="a run folder (results/NAME)")
    p.add_argument("--top", type=_positive_int, default=10, metavar="K")
    p.add_argument("--sort", metavar="COLUMN", help="a trials.csv column (default: the objective)")
    p.set_defaults(handler=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from sweep import results

    run_dir = Path(args.run_dir)
    cfg = results.load_run(run_dir)
    trials, history = results.write_tables(run_dir)
    objective = cfg.get("tuner", {}).get("objective", "val_accuracy")
    state = results.run_state(run_dir)
    counts = trials.status.value_counts().to_dict() if len(trials) else {}
    print(f"{run_dir}: sweep {state}; {len(trials)} trials "
          f"({', '.join(f'{v} {k.lower()}' for k, v in counts.items()) or 'none yet'}), "
          f"{len(history)} epochs recorded")
    names = results.class_names(run_dir)
    if names:
        print(f"Classes: {', '.join(f'{i}={n}' for i, n in enumerate(names))}")
    if len(trials):
        board = results.leaderboard(trials, objective, args.top, args.sort,
                                    results.varying_hyperparameters(cfg))
        print(results.format_table(board))
    return EXIT_OK


def _add_plot(sub) -> None:
    p = sub.add_parser("plot", help="write the run's PNG plots into its folder")
    p.add_argument("run_dir", help="a run folder (results/NAME)")
    p.add_argument("--top", type=_positive_int, default=3, metavar="K",
                   help="trials in best_curves.png (default 3)")
    p.set_defaults(handler=cmd_plot)


def cmd_plot(args: argparse.Namespace) -> int:
    from sweep import plots

    written = plots.plot_run(args.run_dir, top=args.top)
    for p in written:
        print(p)
    if not written:
        print(f"{args.run_dir}: no completed trials to plot yet", file=sys.stderr)
    return EXIT_OK


COMMANDS: list[Callable] = [_add_run, _add_report, _add_plot]


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
    except ConfigError as e:  # also DataError and NotARunError
        print(f"sweep: error: {e}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
