"""`sweep`: the command line. One module per command; this package assembles them.

    sweep run SPACE             run or resume a sweep (also its chief and workers)   cli/run.py
    sweep report RUN_DIR        rebuild the CSVs, print a leaderboard                cli/report.py
    sweep plot RUN_DIR          write the PNGs                                       cli/plot.py
    sweep confirm RUN_DIR       retrain the top configurations with new seeds        cli/confirm.py
    sweep export RUN_DIR        a completed trial as a model that reads raw text     cli/export.py
    sweep predict MODEL TEXT    class probabilities for new text                     cli/predict.py
    sweep track RUN_DIR         bring an MLflow tracking server up to date           cli/track.py

Each command module has a `NAME`, an `add_parser(subparsers)` that sets the handler, and the
handler, which calls the library and prints. `main` maps the errors of `sweep.errors` to
exit codes and one line each, here and nowhere else: only this package prints usage or exits.
Command modules import TensorFlow (through the library) inside their handlers, so `--help`,
`report`, `plot` and a refused space stay light.
"""

from __future__ import annotations

import argparse
import os
import sys
from types import ModuleType

from sweep import __version__
from sweep.cli import confirm, export, plot, predict, report, run, track
from sweep.cli.common import EXIT_OK, EXIT_USAGE, Parser
from sweep.errors import Interrupted, SweepError, UsageError
from sweep.progress import printable

__all__ = ["COMMANDS", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

# The registry: name -> module, in --help's order.
COMMANDS: dict[str, ModuleType] = {m.NAME: m for m in (run, report, plot, confirm, export, predict, track)}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="sweep", description=(
        "KerasTuner sweeps over recurrent text classifiers, with pandas reports and plots."))
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # what `run --workers` passes on to the processes it starts
    try:
        code = args.handler(args)
        sys.stdout.flush()  # here, so that a reader gone (`| head`) is caught below
        return code
    except BrokenPipeError:  # the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:  # before the sweep started: nothing to keep
        print("\nInterrupted before the sweep started; run the same command again.", file=sys.stderr)
        return Interrupted.exit_code
    except SweepError as e:
        print(printable(_one_line(e)), file=sys.stderr)  # no escape codes from names in it
        return e.exit_code


def _one_line(e: SweepError) -> str:
    """How each tier of `sweep.errors` is said; its class gives the exit code (`exit_code`)."""
    if isinstance(e, UsageError):  # bad space, flags or data; not a run folder: nothing ran
        return f"sweep: error: {e}"
    if isinstance(e, Interrupted):  # after the Ctrl-C line the terminal echoed
        return f"\n{e}"
    return f"sweep: {e}"


if __name__ == "__main__":
    sys.exit(main())
