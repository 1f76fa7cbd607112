"""`sweep plot RUN_DIR`: write the run's PNGs (matplotlib; no TensorFlow)."""

from __future__ import annotations

import argparse

from sweep.cli import common
from sweep.rundir import writes

NAME = "plot"


def add_parser(sub) -> argparse.ArgumentParser:
    p = common.command(sub, NAME, run, help="write the run's PNG plots into its folder")
    common.add_run_dir(p)
    p.add_argument("--top", type=common.positive_int, default=3, metavar="K",
                   help="trials in best_curves.png (default 3)")
    p.add_argument("--out", metavar="DIR", help="write the PNGs here (default: the run folder)")
    return p


def run(args: argparse.Namespace) -> int:
    from sweep.analysis import plots
    from sweep.analysis.record import RunRecord

    record = RunRecord.read(args.run_dir)  # a copy without tuner/: its CSVs, as `sweep report`
    written = common.write_or_say(lambda out: plots.plot_run(record, args.top, out), args.out,
                                  "the plots", required=True, files={"*.png": writes.PLOT}) or []
    for p in written:
        common.say(str(p))
    if not written:
        common.say_stderr(f"{args.run_dir}: no completed trials to plot yet")
    return common.EXIT_OK
