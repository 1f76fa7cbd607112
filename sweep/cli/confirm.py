"""`sweep confirm RUN_DIR`: retrain the top configurations with new seeds, print their statistics."""

from __future__ import annotations

import argparse

from sweep import rundir
from sweep.analysis import results, verdict
from sweep.cli import common
from sweep.cli import track as cli_track

NAME = "confirm"


def add_parser(sub) -> argparse.ArgumentParser:
    p = common.command(sub, NAME, run, help="retrain a finished run's top configurations with new seeds",
                       description="""
        Retrain the top K completed configurations of a finished run with S new seeds each, as
        the sweep trained them; write confirm.csv and confirm.png, print each configuration's
        mean, sd and 95% interval, and score the best mean on test (test.json's "confirmed").
        The same command resumes; a larger --top or --seeds extends.""")
    common.add_run_dir(p, "a finished run folder (results/NAME)")
    p.add_argument("--top", type=common.positive_int, default=3, metavar="K",
                   help="configurations, from the leaderboard's first (default 3)")
    p.add_argument("--seeds", type=common.int_in(2, "an integer of 2 or more"), default=5, metavar="S",
                   help="new seeds per configuration (default 5)")
    p.add_argument("--resplit", action="store_true",
                   help="also draw a new validation split from the training data for each seed")
    p.add_argument("--verbose", action="store_true", help="show Keras' per-epoch lines")
    cli_track.add_mlflow_flag(p, "the repeats, under the sweep's parent run,")
    return p


def run(args: argparse.Namespace) -> int:
    from sweep import confirmation

    cli_track.check(args.run_dir, args.mlflow)
    with common.native_stderr_hidden(not args.verbose):
        outcome = confirmation.confirm(args.run_dir, args.top, args.seeds, args.resplit,
                                  verbose=args.verbose, say=common.say)
    cli_track.after(args.run_dir, args.mlflow, common.say)
    print()
    print(results.format_table(outcome.summary))
    print(f"\n{outcome.verdict}")
    test = outcome.confirmed
    if test:
        sd = test.get("test_accuracy_sd")
        print(f"Best mean: trial {test['trial_id']}, its {len(test['by_seed'])} repeats on the test "
              f"split ({test['test_examples']} examples): accuracy {test['test_accuracy']:.4f}"
              + (f" ± {sd:.4f} (sd)" if sd is not None else ""))
        against = verdict.confirmed_vs_baseline(test, rundir.read_json(outcome.run.test_json))
        if against:
            print(against)
    made = [p.name for p in (outcome.run.confirm_csv, outcome.plot) if p is not None]
    print(f"Results: {outcome.run}/ ({', '.join(made)}, test.json)")
    return common.EXIT_OK
