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
which parses, and a status.json or tuner state this project wrote. tests/unit/rundir/test_writes.py
checks that sweep/ writes files only through the writers listed there.
"""

from __future__ import annotations

import os
from pathlib import Path

from sweep.errors import UsageError
from sweep.rundir.layout import ExportDir, RunDir, run_names
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
