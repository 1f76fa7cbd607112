"""Every exception that crosses a module line, in two tiers (as KerasTuner's `errors.py`).

    SweepError
    ├── UsageError      exit 2: a bad space, flag or data, a folder that is not a run or is
    │   ├── ConfigError         in use; refused before anything trains
    │   ├── DataError
    │   ├── NotARunError
    │   ├── RunInUse
    │   └── DamagedRun
    ├── RunFailed       exit 1: the sweep ran and stopped on failures
    │   ├── TooManyFailures
    │   └── DiskFull
    └── Interrupted     exit 130: stopped by Ctrl-C; what is done is kept

A trial that fails (NaN, OOM, an exception) is not among them: KerasTuner records it as
FAILED and the sweep goes on. The CLI maps these classes to exit codes (`exit_code`) and
prints their message as one line; the Python API says the same message in its own words
(`in_python_words`: `--overwrite` is `overwrite=True` there).
"""

from __future__ import annotations

import re


class SweepError(Exception):
    """Base class: a message fit for one line of the terminal."""

    exit_code = 1


class UsageError(SweepError):
    """Nothing has run: fix the input and run again."""

    exit_code = 2


class ConfigError(UsageError):
    """A bad space file or flag, naming the key and what was expected."""


class DataError(UsageError):
    """Data that cannot be used (missing, empty, one class, not UTF-8)."""


class NotARunError(UsageError):
    """The folder given is not a sweep's run folder (or it cannot be read as one)."""


class RunInUse(UsageError):
    """Another live sweep holds the run folder's lock."""


class DamagedRun(UsageError):
    """A file of the run's tuner state cannot be read: the message names it and the way out."""


class RunFailed(SweepError):
    """The sweep ran and stopped without finishing."""

    exit_code = 1


class TooManyFailures(RunFailed):
    """`tuner.max_consecutive_failed_trials` trials failed in a row."""

    def __init__(self, limit: int, reason: str = ""):
        super().__init__(
            f"stopped after {limit} failed trials in a row"
            + (f"; the last one: {reason}" if reason else "")
            + " (raise tuner.max_consecutive_failed_trials to keep going)"
        )


class DiskFull(RunFailed):
    """The disk filled up (ENOSPC): the sweep stopped as interrupted and resumes later."""


class Interrupted(SweepError):
    """Ctrl-C (SIGINT): completed trials are kept and the same command resumes."""

    exit_code = 130


def failure_reason(message: str) -> str:
    """A failed trial's traceback (KerasTuner's `trial.message`) as one line.

    The last line, without the exception's module path: "keras_tuner.src.errors.
    FailedTrialError: loss became nan" -> "loss became nan"; other errors keep their class
    name ("ResourceExhaustedError: OOM when ...").
    """
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else ""
    kind, sep, text = last.partition(": ")
    if sep and " " not in kind:
        name = kind.rsplit(".", 1)[-1]
        last = text if name == "FailedTrialError" else f"{name}: {text}"
    return last[:300]


# --- One message, two interfaces -------------------------------------------------------

# The flags that the Python API takes as True/False keywords; every other `--flag-name` is the
# keyword `flag_name` with a value.
SWITCHES = {"overwrite", "refit", "resplit", "tensorboard", "mixed_precision", "verbose"}
# Words of the command line that Python says otherwise.
PHRASES = {"the same command": "the same call"}
_FLAG = re.compile(r"(?<![\w/.-])--([a-z][a-z0-9-]*)(?:(:)|( )(?=\d|[A-Z]+\b))?")


def in_python_words(message: str) -> str:
    """A message written for the command line, as the Python API says it.

    "pass --overwrite or --name" -> "pass overwrite=True or name=...", "--seeds 3" ->
    "seeds=3", "--trial ID" -> "trial=ID", "--sort: no column" -> "sort: no column", and
    "run the same command" -> "run the same call". Text in backticks (a command to type) is
    kept as it is.
    """
    parts = message.split("`")
    for i in range(0, len(parts), 2):
        for cli, python in PHRASES.items():
            parts[i] = parts[i].replace(cli, python)
        parts[i] = _FLAG.sub(_keyword, parts[i])
    return "`".join(parts)


def _keyword(flag: re.Match) -> str:
    name, colon, value_follows = flag.group(1).replace("-", "_"), flag.group(2), flag.group(3)
    if colon:
        return f"{name}:"
    if name in SWITCHES:
        return f"{name}=True" + (value_follows or "")
    return f"{name}=" if value_follows else f"{name}=..."
