"""The delete rule (sweep.rundir.owned): only what a command made is replaced or removed, and
no other module of sweep/ removes or renames a path."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from sweep.errors import UsageError
from sweep.rundir import owned

SWEEP = Path(__file__).resolve().parents[3] / "sweep"
OWNER = SWEEP / "rundir" / "owned.py"
# rundir's atomic write renames its own temporary file over the target, and removes it on error.
ATOMIC_WRITE = "save_atomic"
MODULE_CALLS = {("os", n) for n in ("replace", "rename", "renames", "remove", "unlink", "rmdir",
                                    "removedirs")} | {("shutil", n) for n in ("rmtree", "move")}
METHODS = {"rename", "unlink", "rmdir", "rmtree"}


def _removals(path: Path) -> list[tuple[int, str, str]]:
    """(line, enclosing function, call) for each call in `path` that removes or renames a path."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, child.name)
                continue
            if isinstance(child, ast.ImportFrom) and child.module in ("os", "shutil"):
                for alias in child.names:
                    if (child.module, alias.name) in MODULE_CALLS:
                        found.append((child.lineno, function, f"from {child.module} import {alias.name}"))
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
                name, owner = child.func.attr, child.func.value
                module = owner.id if isinstance(owner, ast.Name) else None
                if (module, name) in MODULE_CALLS:
                    found.append((child.lineno, function, f"{module}.{name}"))
                elif name in METHODS and module not in ("os", "shutil"):
                    found.append((child.lineno, function, f".{name}()"))
                elif (name == "replace" and len(child.args) == 1 and not child.keywords
                      and module != "dataclasses"):  # Path.replace(target), not str/dataclasses'
                    found.append((child.lineno, function, ".replace()"))
            visit(child, function)

    visit(tree, "<module>")
    return found


def test_only_the_owner_removes_or_renames_paths():
    outside = []
    for path in sorted(SWEEP.rglob("*.py")):
        for line, function, call in _removals(path):
            if path == OWNER:
                continue
            if path.parent.name == "rundir" and function == ATOMIC_WRITE:
                continue
            outside.append(f"{path.relative_to(SWEEP.parent)}:{line} {call} in {function}()")
    assert outside == []
    assert {c for _, _, c in _removals(OWNER)} >= {"shutil.rmtree", ".rename()"}


def test_the_finder_sees_each_kind_of_call(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import os, shutil\nfrom shutil import rmtree\n"
                      "def f(p, q):\n    os.replace(p, q)\n    shutil.rmtree(p)\n    p.unlink()\n"
                      "    p.rename(q)\n    p.replace(q)\n    'a'.replace('a', 'b')\n")
    calls = [c for _, _, c in _removals(source)]
    assert calls == ["from shutil import rmtree", "os.replace", "shutil.rmtree", ".unlink()",
                     ".rename()", ".replace()"]


def test_a_replacement_swaps_in_whole_and_keeps_what_is_not_ours(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dest = tmp_path / "out"
    with owned.Replacement(dest, "export") as tmp:
        (tmp / "a.txt").write_text("1")
    assert (dest / "a.txt").read_text() == "1"
    assert json.loads((dest / owned.MARKER).read_text())["kind"] == "export"
    with owned.Replacement(dest, "export") as tmp:
        (tmp / "b.txt").write_text("2")
    assert sorted(p.name for p in dest.iterdir()) == [owned.MARKER, "b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    with pytest.raises(RuntimeError), owned.Replacement(dest, "export") as tmp:
        raise RuntimeError("the work failed")
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and (dest / "b.txt").exists()
    with pytest.raises(UsageError, match="not make"):
        owned.Replacement(dest, "report").__enter__()  # ours, but of another kind


@pytest.mark.parametrize("setup", ["user_folder", "file", "run", "tuner", "parent_of_runs"])
def test_foreign_destinations_are_refused(tmp_path, monkeypatch, setup):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "results" / "r"
    (run / "tuner").mkdir(parents=True)
    (run / "config.yaml").write_text("name: r\n")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    (tmp_path / "f.txt").write_text("x")
    dest = {"user_folder": tmp_path / "mine", "file": tmp_path / "f.txt", "run": run,
            "tuner": run / "tuner" / "x", "parent_of_runs": tmp_path / "results"}[setup]
    with pytest.raises(UsageError):
        owned.check_destination(dest, "export")


def test_leftovers_of_a_killed_replacement_are_cleared(tmp_path):
    dest = tmp_path / "out"
    dead = tmp_path / ".out.new-otherhost-1"
    dead.mkdir()
    owned.mark(dead, "export")
    empty = tmp_path / f".out.new-{os.uname().nodename}-999999999"
    empty.mkdir()
    foreign = tmp_path / ".out.new-x-1-notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    old = tmp_path / ".out.old"
    old.mkdir()
    owned.mark(old, "export")
    owned.clear_leftovers(dest, "export")
    assert dest.is_dir() and (dest / owned.MARKER).exists()  # the only copy there was, put back
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.new-x-1-notes", "out"]
