"""`sweep plot RUN_DIR`: write the run's PNGs (matplotlib; no TensorFlow)."""

from __future__ import annotations

import argparse
import sys

from sweep.cli import common

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

    written = common.write_or_say(lambda out: plots.plot_run(args.run_dir, args.top, out), args.out,
                                  "the plots", required=True, files=["*.png"]) or []
    for p in written:
        print(p)
    if not written:
        print(f"{args.run_dir}: no completed trials to plot yet", file=sys.stderr)
    return common.EXIT_OK
