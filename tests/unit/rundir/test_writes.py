"""The write rule (sweep.rundir.writes): a command writes over only what it wrote, and no module
of sweep/ writes a file but through the owner's writers (the listed exceptions aside)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sweep.errors import UsageError
from sweep.rundir import owned, writes
from sweep.rundir.layout import LMCache, RunDir
from sweep.rundir.lock import LOCK_TOKEN_ENV, RunLock, holds

SWEEP = Path(__file__).resolve().parents[3] / "sweep"
# The owner's writers: whole-or-nothing writes (save_atomic, write_atomic, write_json), the
# marker, and the rule itself.
OWNERS = {SWEEP / "rundir" / n for n in ("atomic.py", "owned.py", "writes.py")}
# Calls that take a temporary file of `save_atomic` (its callback writes there, and it is
# renamed over the target whole): a write inside their arguments is the owner's.
ATOMIC = {"save_atomic", "write_atomic", "save_run_file", "save_output", "save_made", "save_cached"}
# rundir.atomic's writers write whatever path they are given: outside sweep/rundir/ every write
# goes through the write rule's writers (rundir.writes), which check it; these stay, with why.
RAW = {"save_atomic", "write_atomic", "write_json"}
RAW_ELSEWHERE = {
    ("sweep/search/ktcompat.py", "save_json", "write_atomic"):
        "KerasTuner's own JSON files (RUN/tuner/), at the paths its code names, written atomically "
        "in its place; only the process that holds the run (or a worker) runs KerasTuner's code on it",
}
# Every other write in sweep/, with why it stays: (file, function, call).
EXCEPTIONS = {
    ("sweep/rundir/lock.py", "acquire", "os.open"): "the run's lock file (layout: lock), opened to be locked",
    ("sweep/rundir/lock.py", "turn", "os.open"): "RUN/mlflow.lock (layout): whose turn it is to sync",
    ("sweep/search/ktcompat.py", "repair_reloaded_oracle", ".save()"):
        "KerasTuner's oracle state in RUN/tuner/, by the sweep that holds the lock",
    ("sweep/search/tuning.py", "on_trial_end", ".save()"):
        "KerasTuner's trial.json in RUN/tuner/trial_*/, by the sweep that holds the lock",
    ("sweep/search/tuning.py", "search", ".save()"): "KerasTuner's tuner state in RUN/tuner/, under the lock",
    ("sweep/search/launcher.py", "start", "open(w)"): "a worker's log, RUN/logs/<id>.log (layout), appended",
    ("sweep/search/distributed.py", "_write_private", "os.open"):
        "the oracle secret's temporary file, made 0600 inside save_atomic's callback",
    ("sweep/train/runtime.py", "peak_rss_reset", ".write_text()"):
        "/proc/self/clear_refs: a kernel control file (resets the peak RSS), not a file on disk",
    ("sweep/serve/export.py", "_write", ".save()"):
        "model.keras into the export's temporary folder, swapped in whole by owned.Replacement",
    ("sweep/progress/quiet.py", "native_stderr_hidden", "open(w)"):
        "a second file object on the console's descriptor (closefd=False): no file is written",
    ("sweep/cli/__init__.py", "main", "os.open"): "/dev/null for a reader gone (`| head`)",
    ("sweep/notebook.py", "_repr_html_", ".savefig()"): "into a BytesIO, for Jupyter: no file",
}
WRITE_METHODS = {"write_text", "write_bytes", "to_csv", "savefig", "write_html", "write_image", "to_json",
                 "to_parquet", "to_excel", "save", "savez", "savetxt"}
COPIES = {"copy", "copy2", "copyfile", "copytree", "copyfileobj"}
WRITE_FLAGS = {"O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC"}


def _write_mode(call: ast.Call) -> bool:
    keyword = next((k.value for k in call.keywords if k.arg == "mode"), None)
    mode = call.args[1] if len(call.args) > 1 else keyword
    return isinstance(mode, ast.Constant) and bool(set(str(mode.value)) & set("wax+"))


def _writes(path: Path) -> list[tuple[int, str, str]]:
    """(line, enclosing function, call) for each call in `path` that writes a file."""
    return _scan(path)[0]


def _raw_calls(path: Path) -> list[tuple[str, str]]:
    """(enclosing function, name) of each call of rundir.atomic's writers in `path`."""
    return _scan(path)[1]


def _scan(path: Path) -> tuple[list[tuple[int, str, str]], list[tuple[str, str]]]:
    """`_writes` and `_raw_calls` of `path`, in one walk."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str, str]] = []
    raw: list[tuple[str, str]] = []

    def call_of(node: ast.Call) -> str | None:
        func = node.func
        if isinstance(func, ast.Name):
            return "open(w)" if func.id == "open" and _write_mode(node) else None
        if not isinstance(func, ast.Attribute):
            return None
        owner = func.value.id if isinstance(func.value, ast.Name) else None
        name = func.attr
        if owner == "os" and name == "open":
            flags = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
            return "os.open" if flags & WRITE_FLAGS else None
        if owner == "shutil" and name in COPIES:
            return f"shutil.{name}"
        if owner in ("json", "yaml", "pickle") and name == "dump":
            return f"{owner}.dump"
        if name == "to_csv" and (not node.args or ast.unparse(node.args[0]) == "sys.stdout"):
            return None  # a string back, or the console
        if name in WRITE_METHODS:
            return f"{owner}.{name}" if owner in ("np", "numpy") else f".{name}()"
        return None

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, child.name)
                continue
            if isinstance(child, ast.Call):
                func = child.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in RAW:
                    raw.append((function, name))
                if name in ATOMIC:
                    continue  # its callback writes save_atomic's temporary file
                what = call_of(child)
                if what:
                    found.append((child.lineno, function, what))
            visit(child, function)

    visit(tree, "<module>")
    return found, raw


def test_only_the_owner_writes_files():
    outside, used = [], set()
    for path in sorted(SWEEP.rglob("*.py")):
        if path in OWNERS:
            continue
        where = str(path.relative_to(SWEEP.parent))
        for line, function, call in _writes(path):
            key = (where, function, call)
            if key in EXCEPTIONS:
                used.add(key)
            else:
                outside.append(f"{where}:{line} {call} in {function}()")
    assert outside == []
    assert set(EXCEPTIONS) - used == set(), "an exception no longer needed: remove it"


def test_outside_rundir_files_are_written_through_the_write_rule():
    outside, used = [], set()
    for path in sorted(SWEEP.rglob("*.py")):
        if (SWEEP / "rundir") in path.parents:
            continue
        where = str(path.relative_to(SWEEP.parent))
        for function, name in _raw_calls(path):
            key = (where, function, name)
            if key in RAW_ELSEWHERE:
                used.add(key)
            else:
                outside.append(f"{where}: {name} in {function}() (use rundir.writes)")
    assert outside == []
    assert set(RAW_ELSEWHERE) - used == set(), "an exception no longer needed: remove it"


def test_the_finder_sees_each_kind_of_write(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import json, os, shutil, sys\nimport numpy as np\n"
                      "def f(p, q, frame, fig, d):\n    open(p, 'w')\n    open(p)\n    open(p, mode='ab')\n"
                      "    p.write_text('x')\n    frame.to_csv(p)\n    frame.to_csv()\n"
                      "    frame.to_csv(sys.stdout)\n    fig.savefig(p)\n    shutil.copyfile(p, q)\n"
                      "    json.dump(d, p)\n    np.save(p, d)\n"
                      "    os.open(p, os.O_WRONLY | os.O_CREAT)\n    os.open(p, os.O_RDONLY)\n"
                      "    save_atomic(p, lambda tmp: tmp.write_text('fine'))\n")
    calls = [c for _, _, c in _writes(source)]
    assert calls == ["open(w)", "open(w)", ".write_text()", ".to_csv()", ".savefig()", "shutil.copyfile",
                     "json.dump", "np.save", "os.open"]


# --- (a) the writer checks the rule: writing over a run's file takes holding the run ----------


def test_writing_over_a_runs_file_takes_holding_the_run(tmp_path):
    run = RunDir(tmp_path / "run")
    writes.write_run_json(run, run.test_json, {"test_accuracy": 0.9})  # new: free
    with pytest.raises(writes.UnownedWrite, match="without holding the run"):
        writes.write_run_json(run, run.test_json, {"test_accuracy": 0.1})
    assert json.loads(run.test_json.read_text()) == {"test_accuracy": 0.9}  # untouched
    writes.write_run_text(run, run.trials_csv, "trial_id,status\n")
    writes.write_run_text(run, run.trials_csv, "trial_id,status\n0,COMPLETED\n")  # a report's output
    writes.write_run_text(run, run.tokens_cache("f", 10, 8), "x")
    writes.write_run_text(run, run.tokens_cache("f", 10, 8), "x")  # the data cache: rewritten if unreadable
    with RunLock(run):
        assert holds(run)
        writes.write_run_json(run, run.test_json, {"test_accuracy": 0.8})
        for stranger in (run.path / "notes.txt", tmp_path / "elsewhere.json"):
            with pytest.raises(writes.UnownedWrite, match="not a file the layout"):
                writes.write_run_json(run, stranger, {})  # never, held or not
    assert not holds(run)  # released with the lock
    assert json.loads(run.test_json.read_text()) == {"test_accuracy": 0.8}


def _write_over_test_json(run: RunDir, token: str | None, take_lock: bool) -> subprocess.CompletedProcess:
    """Another process that writes over RUN/test.json, after taking the run's lock or not."""
    code = ("import sys\nfrom sweep.rundir import RunDir, writes\nfrom sweep.rundir.lock import RunLock\n"
            f"run = RunDir({str(run.path)!r})\n"
            + ("RunLock(run).acquire()\n" if take_lock else "")
            + "writes.write_run_json(run, run.test_json, {'by': 'child'})\n")
    env = {k: v for k, v in os.environ.items() if k != LOCK_TOKEN_ENV}
    env["PYTHONPATH"] = str(SWEEP.parent)
    if token:
        env[LOCK_TOKEN_ENV] = token
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_a_launchers_child_writes_under_its_lock_and_no_other_process_does(tmp_path):
    """Two processes on one folder: the one holding the run (here a launcher) hands its hold to
    its children by token; a process without it cannot write over the run's files."""
    run = RunDir(tmp_path / "run")
    writes.write_run_json(run, run.test_json, {"by": "sweep"})
    with RunLock(run) as launcher:
        stranger = _write_over_test_json(run, token=None, take_lock=False)
        assert stranger.returncode != 0 and "UnownedWrite" in stranger.stderr, stranger.stderr
        assert json.loads(run.test_json.read_text()) == {"by": "sweep"}
        child = _write_over_test_json(run, token=launcher.token, take_lock=True)
        assert child.returncode == 0, child.stderr
    assert json.loads(run.test_json.read_text()) == {"by": "child"}


def test_an_export_and_the_lm_cache_are_written_only_inside_their_own_folders(tmp_path):
    made = tmp_path / "made"
    made.mkdir()
    owned.mark(made, "export")
    writes.save_made(made, "export", made / "classes.json", writes.text("[]"))
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    with pytest.raises(writes.UnownedWrite, match="that this command made"):
        writes.save_made(theirs, "export", theirs / "classes.json", writes.text("[]"))
    cache = LMCache(tmp_path / "lm")
    writes.save_cached(cache, cache.manifest("gru-x"), writes.text("{}"))
    with pytest.raises(writes.UnownedWrite, match="not inside the language-model cache"):
        writes.save_cached(cache, tmp_path / "gru-x.json", writes.text("{}"))
    assert not (theirs / "classes.json").exists() and not (tmp_path / "gru-x.json").exists()


def test_a_named_file_made_since_the_command_began_is_not_replaced(tmp_path):
    """save_output checks rule (b) again when it writes: a user's file that appeared meanwhile stays."""
    target = tmp_path / "p.csv"
    writes.check_file(target, writes.PREDICTIONS, "--output")  # at the start: a new file
    target.write_text("my,own\n")  # meanwhile
    with pytest.raises(UsageError, match="--force"):
        writes.save_output(target, writes.PREDICTIONS, writes.text("row,predicted\n"), "--output")
    assert target.read_text() == "my,own\n"
    writes.save_output(target, writes.PREDICTIONS, writes.text("row,predicted\n"), "--output", force=True)
    assert target.read_text() == "row,predicted\n"


# --- (b) a file the user names --------------------------------------------------------------


def _run(folder: Path) -> Path:
    (folder / "tuner").mkdir(parents=True)
    (folder / "config.yaml").write_text("name: r\n")
    return folder


def test_a_named_file_is_written_when_new_or_ours(tmp_path):
    writes.check_file(tmp_path / "new.html", writes.REPORT, "--html")
    mine = tmp_path / "mine.html"
    mine.write_text("<html>my page</html>")
    with pytest.raises(UsageError, match="--force"):
        writes.check_file(mine, writes.REPORT, "--html")
    writes.check_file(mine, writes.REPORT, "--html", force=True)
    ours = tmp_path / "ours.html"
    ours.write_text("<!DOCTYPE html>\n<!-- Written by rnn-sweep (sweep/analysis/report_html.py) -->\n")
    writes.check_file(ours, writes.REPORT, "--html")
    (tmp_path / "p.csv").write_text("row,predicted,prob_neg,prob_pos\n0,neg,0.6,0.4\n")
    writes.check_file(tmp_path / "p.csv", writes.PREDICTIONS, "--output")
    with pytest.raises(UsageError, match="a folder"):
        writes.check_file(tmp_path, writes.REPORT, "--html")


def test_a_runs_own_files_and_an_exports_are_never_written_even_with_force(tmp_path):
    run = _run(tmp_path / "results" / "r")
    (run / "report.html").write_text("<!DOCTYPE html>\n<!-- Written by rnn-sweep -->\n")
    for path, match in ((run / "config.yaml", "own file"), (run / "tuner" / "x.json", "own state"),
                        (run / "notes.html", "inside a run folder")):
        with pytest.raises(UsageError, match=match):
            writes.check_file(path, writes.REPORT, "--html", force=True)
    writes.check_file(run / "report.html", writes.REPORT, "--html")  # a report it regenerates
    export = tmp_path / "model"
    export.mkdir()
    owned.mark(export, "export")
    with pytest.raises(UsageError, match="inside the export"):
        writes.check_file(export / "p.csv", writes.PREDICTIONS, "--output", force=True)


# --- (a) a run folder is recognised by what only a run has ----------------------------------


def test_a_run_is_recognised_by_its_saved_space_and_status(tmp_path, small_run):
    assert owned.holds_sweep(RunDir(small_run))
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "status.json").write_text(json.dumps({"owner": "another tool"}))
    (fake / "config.yaml").write_text("my: settings\n")
    assert not owned.holds_sweep(RunDir(fake)) and not owned.may_hold_sweep(RunDir(fake))
    with pytest.raises(UsageError, match="not a run folder"):
        writes.check_run_folder(RunDir(fake))
    fresh = tmp_path / "fresh"
    (fresh / "logs").mkdir(parents=True)
    (fresh / "lock").write_text("")
    writes.check_run_folder(RunDir(fresh))  # what a sweep makes before its saved space


# --- report/plot --out: the marker only in a folder made here ----------------------------------


def test_an_out_folder_takes_a_reports_files_only_where_none_of_yours_would_be_replaced(tmp_path):
    tables = dict.fromkeys(["trials.csv", "history.csv"], writes.TABLES)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "trials.csv").write_text("my own table")
    with pytest.raises(UsageError, match="already holds trials.csv"):
        writes.writable_folder(mine, tables)
    assert (mine / "trials.csv").read_text() == "my own table"
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("x")
    writes.writable_folder(notes, {"*.png": writes.PLOT})  # nothing of yours is replaced
    assert not (notes / owned.MARKER).exists()  # not made here: not marked
    (notes / "best_curves.png").write_bytes(b"\x89PNG\r\n\x1a\n...Software\0rnn-sweep...")
    writes.writable_folder(notes, {"*.png": writes.PLOT})  # its own PNGs, again
    (notes / "cells.png").write_bytes(b"\x89PNG\r\n\x1a\n...Software\0Matplotlib...")
    with pytest.raises(UsageError, match="cells.png"):
        writes.writable_folder(notes, {"*.png": writes.PLOT})
    fresh = writes.writable_folder(tmp_path / "new", {"trials.csv": writes.TABLES})
    assert (fresh / owned.MARKER).exists()
    (fresh / "trials.csv").write_text("anything: the folder is ours")
    writes.writable_folder(fresh, {"trials.csv": writes.TABLES})
    run = _run(tmp_path / "results" / "r")
    for target in (run, run / "cache"):
        with pytest.raises(UsageError, match="run"):
            writes.writable_folder(target, {"*.png": writes.PLOT})


def test_predictions_csv_cells_a_spreadsheet_would_run_are_text():
    import pandas as pd

    from sweep.serve.predict import spreadsheet_safe

    table = pd.DataFrame({"row": [0, 1], "predicted": ["=1+2", "pos"], "prob_-x": [0.25, -0.5],
                          "prob_pos": [0.75, 1.5]})
    safe = spreadsheet_safe(table)
    assert safe.predicted.tolist() == ["'=1+2", "pos"]
    assert safe.columns.tolist() == ["row", "predicted", "prob_-x", "prob_pos"]  # prob_...: not formulas
    assert spreadsheet_safe(pd.DataFrame({"@SUM(A1)": [1]})).columns.tolist() == ["'@SUM(A1)"]
    assert safe["prob_-x"].tolist() == [0.25, -0.5]  # numbers are numbers
