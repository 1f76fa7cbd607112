"""`sweep report RUN_DIR`: rebuild trials.csv and history.csv, print a leaderboard and the three most
important hyperparameters; `--html [FILE]` also writes report.html. No TensorFlow."""

from __future__ import annotations

import argparse
from pathlib import Path

from sweep.analysis import results
from sweep.analysis.record import RunRecord
from sweep.cli import common
from sweep.errors import UsageError
from sweep.rundir import RunDir, writes

NAME = "report"


def add_parser(sub) -> argparse.ArgumentParser:
    p = common.command(sub, NAME, run, help="rebuild trials.csv/history.csv and print a leaderboard")
    common.add_run_dir(p)
    p.add_argument("--top", type=common.positive_int, default=10, metavar="K")
    p.add_argument("--sort", metavar="COLUMN", help="a trials.csv column (default: the objective)")
    p.add_argument("--out", metavar="DIR",
                   help="write trials.csv and history.csv here (default: the run folder, if writable)")
    p.add_argument("--html", nargs="?", const="", metavar="FILE",
                   help="also write the self-contained HTML report (default FILE: report.html in --out "
                        "DIR, else in the run folder)")
    p.add_argument("--force", action="store_true",
                   help="let --html FILE replace a file that sweep did not write (never a run's own)")
    return p


def run(args: argparse.Namespace) -> int:
    record = RunRecord.read(args.run_dir)
    run_dir, trials, history = record.run, record.trials, record.history
    if args.html is not None:  # before any work: the page's file is one sweep may write
        writes.check_file(_html_target(run_dir, args), writes.REPORT, "--html", force=args.force)
    # An unknown --sort column is refused before anything is written or printed.
    board = record.leaderboard(args.top, args.sort) if len(trials) else None
    if record.read_only and args.out is None:
        common.note(record.read_only)  # a copy of the CSVs, or fewer trials than they list: kept as they are
    else:
        common.write_or_say(lambda out: results.save_tables(trials, history, out or run_dir), args.out,
                            "trials.csv and history.csv",
                            files=dict.fromkeys(["trials.csv", "history.csv"], writes.TABLES))
    common.say(f"{run_dir}: {record.state_line()}, {len(history)} epochs recorded")
    names = record.class_names()
    if names:
        common.say(f"Classes: {', '.join(f'{i}={n}' for i, n in enumerate(names))}")
    if board is not None:
        common.say(results.format_table(board))
    lines = record.test_lines()
    if lines:
        common.say("\n".join(lines))
    imp = None
    if record.varying:
        from sweep.analysis import importance  # Optuna, on first use

        imp = importance.importance(trials, record.config)
        common.say(importance.summary_line(imp, record.objective))
    if args.html is not None:
        common.say(f"Report: {_write_html(record, args, imp)}")
    return common.EXIT_OK


def _write_html(record: RunRecord, args: argparse.Namespace, imp) -> Path:
    from sweep.analysis import report_html

    target = _html_target(record.run, args)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        written = report_html.write_report(record, target, imp, force=args.force)
    except OSError as e:
        raise UsageError(f"cannot write the report to {target} ({e.strerror}); pass --html FILE") from None
    return written


def _html_target(run_dir: RunDir, args: argparse.Namespace) -> Path:
    return Path(args.html) if args.html else Path(args.out or run_dir.path) / run_dir.report_html.name
