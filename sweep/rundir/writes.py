"""The write rule, beside `owned`'s delete rule: a command writes over only what it wrote.

(a) Inside a run folder a command writes only the files `layout` names: the sweep while it
    holds the run's lock, any other command only the report outputs it regenerates
    (report.html, trials.csv, history.csv, the PNGs).
(b) A file the user names (`report --html FILE`, `predict --output FILE`, `Run.html(path)`)
    is written only when it does not exist or this project wrote it, recognised by its
    format and header (`written_by_us`); never a run's own file or state, nor inside an
    export.
(c) Anything else is refused before any work: one line (`UsageError`, exit 2), naming
    --force where replacing the user's own file is reasonable.

A run folder is recognised by what only a run has (`owned.holds_sweep`): its saved space,
which parses, and a status.json or tuner state this project wrote.

The rule is checked twice: before any work, on what the user named (`check_run_folder`,
`check_file`, `writable_folder`), and again by the writer itself, one per kind of place, each
writing whole (`atomic.save_atomic`): `save_run_file` (a run's file), `save_output` (a report
output or a file the user named), `save_made` (a folder this command made: an export being
written) and `save_cached` (the language-model cache). A new file is free to write; writing
over one is a replacement, under the rule. tests/unit/rundir/test_writes.py checks that sweep/
writes files only through them (the listed exceptions aside).
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sweep.errors import UsageError
from sweep.rundir import atomic, lock
from sweep.rundir.layout import ExportDir, LMCache, RunDir, run_names
from sweep.rundir.owned import MARKER, RUN_STATE, has_sweep_state, made_by_us, mark, may_hold_sweep, run_of
from sweep.rundir.saved import load_config

REPORT = "report"  # report.html (`sweep report --html`, `Run.html`)
PREDICTIONS = "predictions"  # predict's CSV
TABLES = "tables"  # trials.csv, history.csv (`report --out`)
PLOT = "plot"  # a PNG (`plot --out`)

# How a file this project wrote starts, by kind; PNGs carry the generator in their Software
# text chunk (plots.py), report.html in its first comment (report_template.html).
GENERATOR = "rnn-sweep"
_HEADS = {PREDICTIONS: ("row,predicted,",), TABLES: ("trial_id,",)}
# The files of a fresh run folder that a sweep may find before it writes the saved space:
# its lock, the workers' logs and the distributed oracle's secret (made by the launcher).
_BEFORE_SPACE = {RunDir("").lock.name, RunDir("").logs.name, RunDir("").oracle_secret.name}
# What a command may write over in a run folder without holding the run (rule (a)): the outputs
# a report regenerates; the data cache, whose files are functions of their names (rewritten only
# when unreadable, and made while the data loads, before the lock is taken); mlflow.json, under
# its own turn (`lock.turn`: the live sweep and `sweep track` both write it).
_OUTPUTS = ("report.html", "trials.csv", "history.csv", "*.png")  # a run's report outputs
_FREE = (*_OUTPUTS, "cache/*", "mlflow.json")


class UnownedWrite(RuntimeError):
    """A write the write rule does not allow: a fault in sweep's code, never the user's."""


def save_run_file(run: RunDir, path: Path, save_file: Callable[[Path], Any]) -> None:
    """Writes `path`, a file of the run folder `run`, whole (`save_atomic`), under rule (a).

    A new file is free to write (a fresh run's, a new trial's); writing over one is a
    replacement, made only by the process that holds the run (`lock.holds`: its lock, a
    worker's, or its launcher's), what `_FREE` names aside.

    Raises:
        UnownedWrite: `path` is not a file the layout names inside `run`, or it exists and
            this process does not hold the run.
    """
    path = Path(path)
    part = _part_of(run, path)
    if part is None or not any(fnmatch.fnmatch(part.split("/")[0], name) for name in run_names()):
        raise UnownedWrite(f"{path}: not a file the layout of the run folder {run} names")
    if path.exists() and not lock.holds(run) and not any(fnmatch.fnmatch(part, f) for f in _FREE):
        raise UnownedWrite(f"{path}: writing over a run's file without holding the run {run} "
                           "(rundir.writes, rule (a))")
    atomic.save_atomic(path, save_file)


def text(content: str) -> Callable[[Path], Any]:
    """What the writers below take to write `content` (UTF-8)."""
    return lambda tmp: tmp.write_text(content, encoding="utf-8")


def write_run_text(run: RunDir, path: Path, content: str) -> None:
    """`save_run_file` of `content` (UTF-8)."""
    save_run_file(run, path, text(content))


def write_run_json(run: RunDir, path: Path, obj: Any) -> None:
    """`save_run_file` of `obj` as JSON."""
    write_run_text(run, path, json.dumps(obj, indent=2))


def _part_of(run: RunDir, path: Path) -> str | None:
    """`path` below `run`, as a POSIX path ('tuner/trial_0/epochs.csv'), or None."""
    try:
        return Path(os.path.realpath(path)).relative_to(os.path.realpath(run.path)).as_posix()
    except ValueError:
        return None


def save_output(path: Path, kind: str, save_file: Callable[[Path], Any], flag: str = "--out",
                force: bool = False) -> None:
    """Writes a report output or a file the user named (a `kind` file), whole.

    Inside a run folder, one of the run's report outputs (rule (a): report.html, the tables,
    the PNGs); elsewhere, under rule (b) (`check_file`, checked again here: a file made since
    the command started is not replaced), in a folder this project made anything of its own.

    Raises:
        UsageError: rule (b) refuses the file.
    """
    path = Path(path)
    inside = run_of(path)
    if inside is not None and inside[1] is not None:
        run = RunDir(inside[0])
        part = _part_of(run, path)
        if part is not None and any(fnmatch.fnmatch(part, f) for f in _OUTPUTS):
            save_run_file(run, path, save_file)
            return
    check_file(path, kind, flag, force or made_by_us(path.parent, "report"))
    atomic.save_atomic(path, save_file)


def save_made(folder: Path, kind: str, path: Path, save_file: Callable[[Path], Any]) -> None:
    """Writes `path` inside `folder`, a `kind` folder this command made (its marker), whole.

    Raises:
        UnownedWrite: `folder` is not one this project made, or `path` is not inside it.
    """
    if not made_by_us(folder, kind) or Path(folder) not in Path(path).parents:
        raise UnownedWrite(f"{path}: not inside a {kind} folder that this command made ({folder})")
    atomic.save_atomic(path, save_file)


def save_cached(cache: LMCache, path: Path, save_file: Callable[[Path], Any]) -> None:
    """Writes `path`, a file of the language-model cache, whole; each language model's files are
    named by what made them (`LMCache`), and rewritten only as it trains on.

    Raises:
        UnownedWrite: `path` is not inside the cache.
    """
    if Path(cache.path) not in Path(path).parents:
        raise UnownedWrite(f"{path}: not inside the language-model cache {cache}")
    atomic.save_atomic(path, save_file)


def written_by_us(path: Path, kind: str) -> bool:
    """Whether the file at `path` is a `kind` file this project wrote (its header says so)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    if kind == REPORT:  # report_template.html's first comment
        return head.startswith(b"<!DOCTYPE html>\n<!-- Written by " + GENERATOR.encode())
    if kind == PLOT:
        return head.startswith(b"\x89PNG") and GENERATOR.encode() in head
    return head.decode("utf-8", "replace").startswith(_HEADS.get(kind, ("\0",)))


def check_run_folder(run: RunDir, flag: str = "--name") -> None:
    """Refuses to run a sweep in an existing folder that is neither a run nor fresh.

    Fresh: empty, or holding only what a sweep makes before its saved space (its lock,
    logs/, oracle.secret).
    """
    if not run.path.exists():
        return
    if not run.path.is_dir() or run.path.is_symlink():
        raise UsageError(f"{run}: exists and is not a folder; give another {flag} or --results-dir")
    others = sorted(p.name for p in run.path.iterdir() if p.name not in _BEFORE_SPACE)
    if others and not may_hold_sweep(run):
        if has_sweep_state(run):
            load_config(run)  # a run whose saved space is damaged: its error names config.yaml
        raise UsageError(f"{run}: not a run folder (it holds {', '.join(others[:3])}, but no saved space "
                         f"and status of a sweep); refusing to write into it: give another {flag} or "
                         "--results-dir")


def _in_export(path: Path) -> Path | None:
    for folder in path.parents:
        if ExportDir(folder).is_export() or made_by_us(folder, "export"):
            return folder
    return None


def check_file(path: Path, kind: str, flag: str, force: bool = False) -> None:
    """Raises UsageError unless a command may write the `kind` file the user named at `path`.

    Refused: a folder; a run's own file or state (a run's report.html aside, for a report);
    a file inside an export; an existing file this project did not write, unless `force`.
    """
    path = Path(path)
    resolved = Path(os.path.realpath(path))
    if resolved.is_dir():
        raise UsageError(f"{flag} {path}: a folder, not a file")
    inside = run_of(resolved)
    if inside is not None:
        run, part = inside
        own_report = kind == REPORT and resolved == RunDir(run).report_html
        if part is not None and not own_report:
            what = ("the run's own state" if part in RUN_STATE else
                    "a run's own file" if part in run_names() else "inside a run folder")
            raise UsageError(f"{flag} {path}: {what} ({part} of {run}); refusing to write there "
                             "(give a file outside the run)")
    export = _in_export(resolved)
    if export is not None:
        raise UsageError(f"{flag} {path}: inside the export {export}; refusing to write there "
                         "(give a file outside it)")
    if resolved.exists() and not force and not written_by_us(resolved, kind):
        raise UsageError(f"{flag} {path}: an existing file that sweep did not write; refusing to replace "
                         "it (give a new file, or pass --force to replace it)")


def check_folder_files(folder: Path, files: dict[str, str], flag: str = "--out") -> list[str]:
    """The files (glob pattern -> kind) already in an output folder that sweep did not write.

    A folder a command made (its marker) is ours as a whole; elsewhere each file is judged
    by its header (`written_by_us`).
    """
    folder = Path(folder)
    if not folder.is_dir() or made_by_us(folder, "report"):
        return []
    export = _in_export(folder / MARKER)
    if export is not None:
        raise UsageError(f"{flag} {folder}: inside the export {export}; give a folder of its own")
    return sorted({p.name for pattern, kind in files.items() for p in folder.glob(pattern)
                   if not written_by_us(p, kind)})


def writable_folder(folder: Path, files: dict[str, str], flag: str = "--out") -> Path:
    """Checks and makes an output folder for `files` (glob pattern -> kind: a report's tables,
    the plots).

    A run folder, a run's state or an export is refused (their files are theirs); a folder
    sweep did not make may receive the files only where none of the same name is there that
    sweep did not write. Only a folder made here is marked as sweep's.
    """
    folder = Path(folder)
    inside = run_of(folder)
    if inside is not None and (inside[1] is None or inside[1] in RUN_STATE):
        raise UsageError(f"{flag} {folder}: {'a run folder' if inside[1] is None else 'inside a run'}; "
                         "give a folder of its own")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{flag} {folder}: an existing file, not a folder")
    clash = check_folder_files(folder, files, flag)
    if clash:
        raise UsageError(f"{flag} {folder}: already holds {', '.join(clash[:3])}, not written by sweep; "
                         "refusing to replace them (give a new folder)")
    if not folder.exists():
        folder.mkdir(parents=True)
        mark(folder, "report")  # made here: what is written into it is ours to rewrite
    return folder
