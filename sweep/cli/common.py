"""What the commands share: a parser and RUN_DIR, argparse types, `say`, TensorFlow's native log.

Imports nothing heavy: every command module imports this one at start-up, `sweep --help`
included.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sweep import rundir
from sweep.errors import SweepError, UsageError
from sweep.progress import printable
from sweep.rundir import RunDir
from sweep.space import config
from sweep.space.config import SweepConfig

EXIT_OK, EXIT_USAGE = 0, UsageError.exit_code


class Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line (its default also prints the usage block)."""

    def error(self, message: str):
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


@contextlib.contextmanager
def native_stderr_hidden(hide: bool = True) -> Iterator[None]:
    """Keeps what TensorFlow's C++ core writes to file descriptor 2 off the console.

    TF logs oneDNN, CUDA and XLA notices there (some before TF_CPP_MIN_LOG_LEVEL applies,
    some during training) that would bury the sweep's own lines. Python's `sys.stderr`
    keeps the console, so errors and tracebacks still show; the native lines go to a
    temporary file, whose tail is shown only if the command ends in an unexpected error.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
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
