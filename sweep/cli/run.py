"""`sweep run SPACE`: run or resume a sweep, alone, with local workers, or as a chief or worker.

    sweep run SPACE [flags]     (exit 0; 2 bad input; 1 failed; 130 Ctrl-C)
        --workers N                 a chief and N worker processes on this machine
        --role chief|worker --oracle HOST:PORT [--worker-id ID]
                                    one process of a sweep over several machines

The space and the flags are validated before TensorFlow is imported, so a bad space is
refused in well under a second.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sweep.analysis import results, verdict
from sweep.cli import common
from sweep.space import config
from sweep.space.overrides import BY_NAME, FLAGS

NAME = "run"


def add_parser(sub) -> argparse.ArgumentParser:
    p = common.command(sub, NAME, run, help="run (or resume) a sweep", description="""
        Run the sweep a space file describes; a run of the same name is resumed unless
        --overwrite is given. Flags override the file.""")
    p.add_argument("space", help="the search space (YAML)")
    for name in ("source", "algorithm", "max_trials", "max_time", "epochs", "seed"):
        _add_override(p, name)
    p.add_argument("--results-dir", default="results", metavar="DIR", help="default: results")
    _add_override(p, "name")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run of that name")
    for name in ("limit_train", "limit_eval"):
        _add_override(p, name)
    p.add_argument("--tensorboard", action="store_true",
                   help="write TensorBoard logs with HParams under RUN_DIR/tensorboard")
    p.add_argument("--mixed-precision", action="store_true", help="mixed float16 (GPU)")
    p.add_argument("--verbose", action="store_true", help="show Keras' per-epoch lines")
    _add_override(p, "mlflow")
    d = p.add_argument_group("distributed (KerasTuner's chief/worker oracle)")
    d.add_argument("--workers", type=common.positive_int, metavar="N",
                   help="run a chief and N worker processes on this machine (one GPU each, round-robin)")
    d.add_argument("--role", choices=("chief", "worker"),
                   help="this process's part in a sweep over several machines")
    d.add_argument("--oracle", metavar="HOST:PORT",
                   help="the chief's address (the chief listens there; e.g. 0.0.0.0:8000)")
    d.add_argument("--worker-id", metavar="ID",
                   help="a worker's unique name; restarted with the same ID, it resumes its trial")
    return p


def _add_override(p: argparse.ArgumentParser, name: str) -> None:
    """A flag of the override table (`sweep.space.overrides`), with the table's dest and help."""
    f = BY_NAME[name]
    p.add_argument(f.flag, dest=f.name, metavar=f.metavar, help=f.help, **common.ARG_TYPES[f.kind])


def run(args: argparse.Namespace) -> int:
    from sweep import lifecycle
    from sweep.lifecycle import RunOptions
    from sweep.search import distributed

    role = distributed.role_from_flags(args.workers, args.role, args.oracle, args.worker_id,
                                       args.overwrite)
    cfg = config.load(args.space, **{f.name: getattr(args, f.name) for f in FLAGS})
    options = RunOptions(results_dir=Path(args.results_dir), overwrite=args.overwrite,
                         tensorboard=args.tensorboard, verbose=args.verbose,
                         mixed_precision=args.mixed_precision)
    if args.workers:
        from sweep.search import launcher

        return launcher.launch_local(args.argv, args.workers, options.run_dir(cfg),
                                     overwrite=args.overwrite)
    if role:
        distributed.apply_role(role)  # a chief checks its port here
    with common.native_stderr_hidden(not args.verbose):
        if role and not role.is_chief:
            lifecycle.run_worker(cfg, options, role, say=common.say)
            return common.EXIT_OK
        outcome = lifecycle.run_sweep(cfg, options, role, say=common.say)
    print()
    print(results.format_table(results.leaderboard(outcome.trials, cfg.tuner.objective, 5,
                                                   hp_names=cfg.varying())))
    lines = verdict.test_lines(outcome.test, outcome.trials)
    if lines:
        print("\n" + "\n".join(lines))
    print(f"Results: {outcome.run}/ (trials.csv, history.csv, "
          f"{', '.join(p.name for p in outcome.plots) or 'no plots'})")
    return common.EXIT_OK
