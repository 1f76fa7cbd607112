"""What the commands share: a parser and RUN_DIR, argparse types, `say`, TensorFlow's log hidden
(`native_stderr_hidden`, from `sweep.progress.quiet`, which the Python API shares).

Imports nothing heavy: every command module imports this one at start-up, `sweep --help`
included.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sweep import rundir
from sweep.errors import UsageError
from sweep.progress import printable
from sweep.progress.quiet import native_stderr_hidden as native_stderr_hidden  # for the commands
from sweep.rundir import RunDir
from sweep.space import config
from sweep.space.config import SweepConfig

EXIT_OK, EXIT_USAGE = 0, UsageError.exit_code


class Parser(argparse.ArgumentParser):
    """argparse that takes flags by their exact names only (no prefixes: `--max-trial` is not
    `--max-trials`), suggests the closest one for an unknown flag, and exits 2 with one line
    (its default also prints the usage block). Its subparsers are Parsers too."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self._args: list[str] = []

    def parse_known_args(self, args=None, namespace=None):
        # Refused here, by the (sub)command that knows its flags, not by `sweep` after it.
        self._args = list(sys.argv[1:] if args is None else args)
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras

    def _unknown_flag(self) -> tuple[str, str] | None:
        """The first --flag given that this parser lacks, and the closest one it has (or "")."""
        for arg in self._args:
            flag = arg.split("=", 1)[0]
            if flag.startswith("--") and flag not in self._option_string_actions:
                close = difflib.get_close_matches(flag, list(self._option_string_actions), n=1)
                return flag, close[0] if close else ""
        return None

    def error(self, message: str):
        unknown = self._unknown_flag()
        if unknown:
            if message.startswith("the following arguments are required"):
                message = f"unrecognized arguments: {unknown[0]}"  # `sweep --vers`: not the COMMAND
            message += f"; did you mean {unknown[1]}?" if unknown[1] else ""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def int_in(low: int, words: str, high: int | None = None) -> Callable[[str], int]:
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


positive_int = int_in(1, "a positive integer")
seed = int_in(0, f"an integer from 0 to {config.MAX_SEED}", config.MAX_SEED)


def duration(text: str) -> str:
    """An argparse type: a duration such as 45s, 90m or 2h (kept as typed, for the saved space)."""
    try:
        config.parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


# How each kind of `sweep.space.overrides.Flag` is read (keyword arguments of add_argument).
ARG_TYPES: dict[str, dict[str, Any]] = {
    "text": {},
    "positive_int": {"type": positive_int},
    "seed": {"type": seed},
    "duration": {"type": duration},
    "algorithm": {"choices": config.ALGORITHMS},
}


def command(sub, name: str, handler: Callable[[argparse.Namespace], int], help: str,
            description: str | None = None) -> argparse.ArgumentParser:
    """A command's parser among `sub` (the subparsers), set to run `handler`.

    argparse refills `description` (line breaks and indents collapse to single spaces), so a
    triple-quoted block prints as one paragraph.
    """
    p = sub.add_parser(name, help=help, description=description)
    p.set_defaults(handler=handler)
    return p


def add_run_dir(p: argparse.ArgumentParser, help: str = "a run folder (results/NAME)") -> None:
    """The RUN_DIR positional of the commands that read a run folder."""
    p.add_argument("run_dir", help=help)


def open_run(run_dir: str) -> tuple[RunDir, SweepConfig]:
    """RUN_DIR's folder and the space saved in it (`NotARunError`, exit 2, if it holds none)."""
    run = RunDir(run_dir)
    return run, rundir.load_config(run)


def say(line: str) -> None:
    """A console line on standard output, shown at once (control characters of data removed)."""
    print(printable(line), flush=True)


def say_stderr(line: str) -> None:
    """A console line on standard error (when standard output carries the command's data)."""
    print(printable(line), file=sys.stderr, flush=True)


def note(message: str) -> None:
    """A line that does not stop the command."""
    print(printable(f"sweep: note: {message}"), file=sys.stderr)


def write_or_say(write: Callable, out: str | None, what: str, required: bool = False,
                 files: dict[str, str] | None = None):
    """Runs `write(out)`; a folder that cannot be written (read-only, a colleague's share)
    is said in one line: a note when the output is optional, else an error (exit 2).
    An --out folder must not hold `files` (glob pattern -> kind) that sweep did not write."""
    from sweep.rundir import writes

    try:
        if out is not None:
            writes.writable_folder(Path(out), files or {})
        return write(out)
    except OSError as e:
        message = f"cannot write {what} to {out or 'the run folder'} ({e.strerror}); pass --out DIR"
        if required:
            raise UsageError(message) from None
        note(message)
        return None
