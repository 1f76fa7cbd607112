"""The one rule for what a command may delete, rename or replace: only what it made.

Every folder a command makes (an export, its temporary twin, a report's `--out` folder)
holds a marker file, `.rnn-sweep.json`, naming its kind and what it came from. Before
anything is moved, replaced or deleted the marker is read; a path the user named that
is not ours is refused (`UsageError`: one line, exit 2) before any work. A run folder is
cleared for `run --overwrite` only when it holds a sweep (`holds_sweep`: its saved space
parses and its status or tuner state is one a sweep writes; `rundir.check_overwritable`).
The marker goes only into folders a command made. What a command may write over is the
write rule's (`rundir.writes`).

This is the only module of `sweep/` that removes or renames paths (the temporary file of
`atomic.save_atomic` aside); tests/unit/rundir/test_owned.py checks that.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sweep.errors import NotARunError, UsageError
from sweep.rundir.atomic import read_json, write_json
from sweep.rundir.layout import ExportDir, RunDir, run_names
from sweep.rundir.saved import load_config
from sweep.rundir.status import STATES, pid_alive

MARKER = ".rnn-sweep.json"  # inside every folder a command made: {"kind": ..., ...}
_STATE = RunDir("")
RUN_STATE = tuple(p.name for p in (_STATE.tuner, _STATE.cache, _STATE.confirm_weights, _STATE.logs,
                                   _STATE.tensorboard))  # a run's own folders
_OLD, _NEW = "old", "new"  # `.NAME.old` (replaced, being removed), `.NAME.new-HOST-PID` (being written)


def mark(folder: Path, kind: str, **about) -> None:
    """Writes the marker that lets a later command replace `folder`."""
    write_json(Path(folder) / MARKER, {"kind": kind, "made_by": "rnn-sweep", **about})


def made_by_us(folder: Path, kind: str) -> bool:
    """Whether `folder` is a folder of `kind` that a command made (its marker says so).

    Exports made by 0.2, before the marker, count by their model card's harness line.
    """
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        return False
    marker = read_json(folder / MARKER)
    if isinstance(marker, dict):
        return marker.get("kind") == kind
    if kind == "export":
        card = read_json(ExportDir(folder).card_json)
        return isinstance(card, dict) and str(card.get("harness", "")).startswith("rnn-sweep ")
    return False


def is_run(folder: Path) -> bool:
    """Whether `folder` holds a sweep: its saved space and its status or tuner state."""
    run = RunDir(folder)
    return run.config.is_file() and (run.status.exists() or run.tuner.is_dir())


def holds_sweep(run: RunDir) -> bool:
    """Whether `run` is a run folder by what only a run has: a saved space that parses, and a
    status.json with a state this project writes or KerasTuner's oracle state."""
    try:
        load_config(run)
    except NotARunError:
        return False
    return has_sweep_state(run)


def has_sweep_state(run: RunDir) -> bool:
    """Whether `run` holds a status.json as a sweep writes it (a state, its pid and host), or
    KerasTuner's oracle state."""
    status = read_json(run.status)
    written = isinstance(status, dict) and status.get("state") in STATES and {"pid", "host"} <= set(status)
    return written or isinstance(read_json(run.oracle_json), dict)


def may_hold_sweep(run: RunDir) -> bool:
    """Whether a sweep may write into (or `--overwrite` empty) the existing folder `run`: a run
    folder, or one holding only names of a run's layout whose saved space, if any, parses
    (a sweep killed before its first status)."""
    if holds_sweep(run):
        return True
    names = run_names()
    if any(p.name not in names and not fnmatch.fnmatch(p.name, "*.png") for p in run.path.iterdir()):
        return False
    try:
        return not run.config.exists() or bool(load_config(run))
    except NotARunError:
        return False


def overwritable(run: RunDir) -> bool:
    """Whether `run --overwrite` may empty the existing folder `run`: `may_hold_sweep`, or a
    run whose saved space is damaged (its status or tuner state is a sweep's)."""
    return may_hold_sweep(run) or (run.config.exists() and has_sweep_state(run))


def run_of(path: Path) -> tuple[Path, str | None] | None:
    """(the run folder, the first part below it) when `path` is a run folder or inside one."""
    resolved = Path(os.path.realpath(path))
    for folder in [resolved, *resolved.parents]:
        if is_run(folder):
            below = resolved.relative_to(folder).parts
            return folder, below[0] if below else None
    return None


def check_destination(dest: Path, kind: str, flag: str = "--out") -> None:
    """Raises UsageError unless a command making a `kind` folder may (re)place `dest`.

    Refused: the root, the current folder or one above it; a run folder or anything inside
    a run's own state (tuner/, cache/, confirm/, ...); a folder holding run folders; a file;
    a folder with files in it that no command of this kind made, or one it made that now
    holds folders it did not make.
    """
    dest = Path(dest)
    resolved = Path(os.path.realpath(dest))
    here = Path.cwd().resolve()
    if resolved == Path(resolved.anchor) or dest.name in ("", ".", ".."):
        raise UsageError(f"{flag} {dest}: give a new folder's path, not the root or the current folder")
    if resolved == here or resolved in here.parents:
        raise UsageError(f"{flag} {dest}: that is the current folder or one above it; give a new folder")
    inside = run_of(resolved)
    if inside is not None:
        run, part = inside
        if part is None:
            raise UsageError(f"{flag} {dest}: that is a run folder; refusing to replace it "
                             "(give a new folder)")
        if part in RUN_STATE:
            raise UsageError(f"{flag} {dest}: inside the run's own state ({part}/ of {run}); "
                             "give a folder outside it")
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise UsageError(f"{flag} {dest}: an existing file, not a folder that sweep made; refusing to "
                         "replace it (give a new folder)")
    if not dest.is_dir() or not any(dest.iterdir()):
        return
    # Checked before "it is ours": a folder of ours that someone has put a run or a folder of
    # their own into is no longer only ours.
    runs = [p.name for p in dest.iterdir() if is_run(p)]
    if runs:
        raise UsageError(f"{flag} {dest}: holds run folders ({', '.join(sorted(runs)[:3])}); "
                         "refusing to replace it (give a new folder)")
    if made_by_us(dest, kind):
        known = {ExportDir(dest).saved_model.name} if kind == "export" else set()
        foreign = sorted(p.name for p in dest.iterdir() if p.is_dir() and p.name not in known)
        if foreign:
            raise UsageError(f"{flag} {dest}: sweep made it, but it now holds {', '.join(foreign[:3])}, "
                             "which sweep did not; refusing to replace it (give a new folder)")
        return
    raise UsageError(f"{flag} {dest}: a folder that sweep did not make (no {MARKER} in it); refusing "
                     "to replace it (give a new folder, or empty this one yourself)")


class NotWritable(UsageError):
    """The destination's folder refuses writes (read-only, not ours, no such device)."""


class Replacement:
    """A `kind` folder written beside `dest` and swapped in whole (never half written).

    Made on entry, before any work: the destination is checked (`check_destination`), the
    leftovers of an earlier command killed mid-way are cleared, and `.NAME.new-HOST-PID`
    is made (as any folder, under the umask) and marked. On a clean exit an old folder of
    ours is renamed aside and the new one renamed into place; on an error the new one is
    removed.
    """

    def __init__(self, dest: Path, kind: str, flag: str = "--out", **about):
        self.dest, self.kind, self.flag, self.about = Path(dest), kind, flag, about

    def __enter__(self) -> Path:
        check_destination(self.dest, self.kind, self.flag)
        self.tmp = self.dest.with_name(f".{self.dest.name}.{_NEW}-{socket.gethostname()}-{os.getpid()}")
        try:
            self.dest.parent.mkdir(parents=True, exist_ok=True)
            clear_leftovers(self.dest, self.kind)
            self.tmp.mkdir()
            mark(self.tmp, self.kind, **self.about)
        except OSError as e:
            remove(self.tmp, self.kind)
            raise NotWritable(f"{self.flag} {self.dest}: cannot write there ({e.strerror}); "
                             f"give another {self.flag}") from None
        return self.tmp

    def __exit__(self, kind, error, trace) -> None:
        if error is not None:
            with contextlib.suppress(OSError):
                remove(self.tmp, self.kind)
            return
        old = _aside(self.dest, _OLD)
        if self.dest.is_dir() and not self.dest.is_symlink() and not any(self.dest.iterdir()):
            self.dest.rmdir()  # an empty folder the user gave (check_destination allows it)
        if self.dest.exists():
            if not made_by_us(self.dest, self.kind):  # made meanwhile by someone else
                remove(self.tmp, self.kind)
                raise UsageError(f"{self.flag} {self.dest}: appeared while writing, and sweep did not "
                                 "make it; nothing replaced")
            remove(old, self.kind)
            self.dest.rename(old)
        self.tmp.rename(self.dest)
        remove(old, self.kind)


def _aside(dest: Path, what: str) -> Path:
    return dest.with_name(f".{dest.name}.{what}")


def clear_leftovers(dest: Path, kind: str) -> None:
    """Clears what a `Replacement` of `dest` killed mid-way left: its `.NAME.new-*` folders
    (but a live process's) and `.NAME.old`, which is put back when `dest` itself is gone."""
    dest = Path(dest)
    old = _aside(dest, _OLD)
    if not dest.exists() and made_by_us(old, kind):
        old.rename(dest)  # killed between the two renames: the old folder is the one there is
    for path in dest.parent.glob(f".{dest.name}.*"):
        tail = path.name[len(dest.name) + 2:]
        if tail == _OLD or (tail.startswith(f"{_NEW}-") and not _writer_alive(tail)):
            remove(path, kind)


def _writer_alive(tail: str) -> bool:
    host, _, pid = tail.removeprefix(f"{_NEW}-").rpartition("-")
    return host == socket.gethostname() and pid_alive(pid) and int(pid) != os.getpid()


def remove(folder: Path, kind: str) -> None:
    """Removes `folder` when a command made it as a `kind` folder (or it is empty); else keeps it."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        return
    if made_by_us(folder, kind):
        shutil.rmtree(folder)
    elif not any(folder.iterdir()):
        folder.rmdir()  # made, then killed before the marker: nothing in it


@contextlib.contextmanager
def temporary(kind: str, **about) -> Iterator[Path]:
    """A marked `kind` folder in the system's temporary folder, removed at the end."""
    folder = Path(tempfile.mkdtemp(prefix=f"rnn-sweep-{kind}-"))
    try:
        mark(folder, kind, **about)
        yield folder
    finally:
        remove(folder, kind)


def check_output_file(output: Path, inputs: dict[str, str | None], flag: str = "--output") -> None:
    """Refuses an output file that is one of the command's inputs (also through links) or a
    file inside one of them (`inputs`: flag -> path)."""
    target = Path(os.path.realpath(output))
    for name, given in inputs.items():
        if not given or given == "-":
            continue
        source = Path(os.path.realpath(given))
        same = target == source or (target.exists() and source.exists() and os.path.samefile(target, source))
        if same or (source.is_dir() and target.is_relative_to(source)):
            raise UsageError(f"{flag} {output}: that is {name} {given} (or inside it); refusing to "
                             "write over it (give another file)")
    if target.is_dir():
        raise UsageError(f"{flag} {output}: a folder, not a file")


def clear_run(run: RunDir, keep: str) -> None:
    """Empties a run folder for `run --overwrite` (its lock file `keep` aside).

    Callers check first that it holds a sweep (`rundir.check_overwritable`); this checks
    again, so that nothing else is ever emptied.
    """
    if not run.path.is_dir():
        return
    entries = [e for e in run.path.iterdir() if e.name != keep]  # the lock: held by this sweep
    if entries and not overwritable(run):
        raise UsageError(f"--overwrite: {run} is not a run folder; refusing to delete it")
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def drop_unstarted_trial(trial_dir: Path) -> None:
    """Removes a KerasTuner trial folder created but never started (see ktcompat)."""
    trial_dir = Path(trial_dir)
    if trial_dir.name.startswith("trial_") and trial_dir.parent.name == _STATE.tuner.name:
        shutil.rmtree(trial_dir, ignore_errors=True)
