"""Who may import whom: the package map of docs/architecture.md, checked on every module's imports.

Every `import` and `from ... import` in sweep/ is read with `ast`, those inside functions
and under `if TYPE_CHECKING:` included, and each one that crosses a package line must be
allowed below. Data flows one way (space -> rundir -> data -> model -> train -> search ->
analysis -> serve, with cli, the lifecycle, confirmation and the API on top); an arrow the
other way is a failure, unless it is listed in KNOWN_EXCEPTIONS with the reason it stays.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from helpers import ROOT

SWEEP = ROOT / "sweep"

# Imported by anyone: the error classes, the one metric table, the version string.
BASE = {"errors", "metrics", "__version__"}

# Package (or top-level module) -> what it may import at module level.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "metrics": set(),
    "space": set(),
    "progress": {"space"},
    "rundir": {"space"},
    "data": {"space", "rundir"},
    "model": {"space"},
    "train": {"space", "data", "model", "rundir", "progress"},  # one model trained or loaded, outside a tuner
    "search": {"space", "data", "model", "rundir", "progress", "train"},
    "analysis": {"space", "rundir", "progress"},
    "serve": {"space", "data", "model", "train", "rundir", "analysis", "progress"},  # not the search
    "track": {"space", "rundir", "analysis", "progress"},  # MLflow (optional): reads the run folder
    "lifecycle": {"space", "data", "model", "train", "search", "rundir", "analysis", "serve", "progress",
                  "track"},
    # `sweep confirm`'s retraining: beside the lifecycle, over the search's training and analysis' numbers
    "confirmation": {"space", "data", "model", "train", "rundir", "analysis", "progress"},
    "cli": {"space", "data", "model", "train", "search", "rundir", "analysis", "serve", "progress",
            "lifecycle", "confirmation", "track"},
    # the Python API (sweep.run, sweep.load, Run, sweep.predict): beside the CLI, on the same functions
    "api": {"space", "data", "model", "train", "search", "rundir", "analysis", "serve", "progress",
            "lifecycle", "confirmation", "notebook", "track"},
    "notebook": set(),  # how Figures show in Jupyter (the API's display glue)
    "__main__": {"cli"},
    "__init__": set(),  # `import sweep` stays light (tests/unit/cli/test_light.py)
}
ALL = set(ALLOWED) - {"__init__", "__main__"}

# ... and, only inside a function or under TYPE_CHECKING (imported when that work is done):
LAZY: dict[str, set[str]] = {
    "__init__": ALL,  # the Python API on top, as the CLI
}

# Arrows the wrong way that stay for now: (importing package, imported module) -> why. None:
# the test evaluation and confirm's retraining moved below analysis (sweep.train.evaluation,
# sweep.train.retrain), the confirm command above it (sweep.confirmation).
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. sweep.search.tuning
    target: str  # what it imports, e.g. sweep.train.evaluation
    line: int
    lazy: bool  # inside a function or under `if TYPE_CHECKING:`

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}{' (lazily)' if self.lazy else ''}"


def unit(module: str) -> str:
    """sweep.search.tuning -> 'search'; sweep.metrics -> 'metrics'; sweep -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


class _Imports(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool):
        self.module, self.is_package = module, is_package
        self.found: list[Import] = []
        self.depth = 0  # functions and TYPE_CHECKING blocks around the node

    def _nested(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = _nested

    def visit_If(self, node: ast.If) -> None:
        test = ast.unparse(node.test)
        if test in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            self._nested(node)
        else:
            self.generic_visit(node)

    def _add(self, target: str, node: ast.AST) -> None:
        if target == "sweep" or target.startswith("sweep."):
            self.found.append(Import(self.module, target, node.lineno, self.depth > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:  # relative: resolve against this module's package
            package = self.module.split(".")
            package = package if self.is_package else package[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join(package + ([node.module] if node.module else []))
        for alias in node.names:
            # `from sweep import rundir` imports the package sweep.rundir, `from sweep.rundir
            # import RunDir` a name of it; `from sweep import __version__` stays "sweep.__version__".
            sub = f"{base}.{alias.name}"
            self._add(sub if _is_module(sub) or base == "sweep" else base, node)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def all_imports() -> list[Import]:
    found = []
    for path in sorted(SWEEP.rglob("*.py")):
        visitor = _Imports(module_name(path), path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        found += visitor.found
    return found


def _crossing(imp: Import) -> tuple[str, str] | None:
    """(from, to) packages when the import leaves its package, else None."""
    src, dst = unit(imp.module), unit(imp.target)
    if src == dst or dst in BASE:
        return None
    if imp.target == "sweep" and src != "__init__":
        return src, "__init__"
    return src, dst


def _allowed(imp: Import, src: str, dst: str) -> bool:
    if dst in ALLOWED.get(src, set()):
        return True
    if imp.lazy and dst in LAZY.get(src, set()):
        return True
    return (src, imp.target) in KNOWN_EXCEPTIONS


def test_every_package_is_on_the_map():
    top = {p.stem if p.is_file() else p.name for p in SWEEP.iterdir()
           if (p.suffix == ".py") or (p / "__init__.py").is_file()}
    missing = top - set(ALLOWED)
    assert not missing, f"place {sorted(missing)} in ALLOWED (and docs/architecture.md)"


def test_imports_follow_the_map():
    wrong = []
    for imp in all_imports():
        crossing = _crossing(imp)
        if crossing and not _allowed(imp, *crossing):
            wrong.append(f"{imp}: {crossing[0]} may not import {crossing[1]}")
    assert not wrong, "imports against the package map:\n" + "\n".join(wrong)


def test_known_exceptions_are_still_needed():
    """An exception the code no longer needs is removed from the list (the map gets stricter)."""
    used = {(unit(i.module), i.target) for i in all_imports()}
    stale = [pair for pair in KNOWN_EXCEPTIONS if pair not in used]
    assert not stale, f"no longer imported, remove from KNOWN_EXCEPTIONS: {stale}"


def test_base_modules_import_nothing_of_ours():
    """errors and metrics sit under everything: they import no other sweep module at all."""
    for imp in all_imports():
        if unit(imp.module) in BASE:
            assert imp.target in ("sweep.errors", "sweep.metrics", "sweep.__version__"), str(imp)


def test_the_check_reads_nested_and_type_checking_imports(tmp_path):
    """The reader sees what the rules rely on: function-local and TYPE_CHECKING imports, lazily."""
    source = ("from typing import TYPE_CHECKING\nfrom sweep import rundir\n"
              "if TYPE_CHECKING:\n    from sweep.data.pipeline import SweepData\n"
              "def f():\n    from sweep.search import tuning\n    import sweep.model.hypermodel\n")
    visitor = _Imports("sweep.analysis.example", False)
    visitor.visit(ast.parse(source))
    got = {(i.target, i.lazy) for i in visitor.found}
    assert got == {("sweep.rundir", False), ("sweep.data.pipeline", True),
                   ("sweep.search.tuning", True), ("sweep.model.hypermodel", True)}
    bad = Import("sweep.rundir", "sweep.analysis.results", 1, True)
    assert _crossing(bad) == ("rundir", "analysis") and not _allowed(bad, "rundir", "analysis")
