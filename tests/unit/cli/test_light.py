"""The light commands import no TensorFlow: `import sweep`, `--help`, `report`, `plot`, a refused space.

Each case runs in a fresh Python (a subprocess), calls `sweep.cli.main` as `sweep` would,
then lists the heavy frameworks found in `sys.modules`. TensorFlow costs seconds to import;
the promise is that these commands answer without it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, make_examples, write_csv, write_space

HEAVY = ("tensorflow", "keras", "keras_tuner", "tensorflow_datasets")
OLD_RUN = ROOT / "tests" / "data" / "run_made_by_0.1"

# Imports MODULE, then runs ARGV through the CLI (unless it is null); prints the exit code
# and the heavy top-level packages that were imported.
PROBE = """
import importlib, json, sys
module, argv = json.loads(sys.argv[1])
importlib.import_module(module)
code = None
if argv is not None:
    from sweep.cli import main
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
print(json.dumps({"code": code, "heavy": heavy}))
"""


def _probe(argv: list[str] | None, cwd: Path, module: str = "sweep") -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps([module, argv]), json.dumps(HEAVY)],
                          cwd=cwd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _old_run(tmp_path: Path) -> str:
    run = tmp_path / "results" / "old_run"
    shutil.copytree(OLD_RUN, run)
    return str(run)


def _plugin_space(tmp: Path):
    """A plugin module in the working folder (docs/extending.md) registers a cell by name."""
    (tmp / "my_plugin.py").write_text("import sweep\nsweep.register_cell('conv1d', 'my_cells:conv1d')\n")
    space = write_space(tmp / "s.yaml", f"csv:{write_csv(tmp / 'd.csv', make_examples(60))}",
                        plugins=["my_plugin"], hyperparameters={"cell": ["gru", "conv1D"]})
    return ["run", str(space), "--results-dir", str(tmp / "results")], 2


CASES = {
    "import sweep": lambda tmp: (None, None),
    "sweep --help": lambda tmp: (["--help"], 0),
    "sweep run --help": lambda tmp: (["run", "--help"], 0),
    "sweep report RUN": lambda tmp: (["report", _old_run(tmp)], 0),
    "sweep plot RUN": lambda tmp: (["plot", _old_run(tmp), "--out", str(tmp / "png")], 0),
    "a space with an unknown key": lambda tmp: (
        ["run", str(write_space(tmp / "s.yaml", f"csv:{write_csv(tmp / 'd.csv', make_examples(60))}",
                                tuner={"algorithms": "random"})),
         "--results-dir", str(tmp / "results")], 2),
    "a space whose plugin registers a cell it misspells": lambda tmp: _plugin_space(tmp),
    "a missing space file": lambda tmp: (["run", str(tmp / "none.yaml")], 2),
    "a bad flag": lambda tmp: (["run", str(tmp / "none.yaml"), "--max-trials", "0"], 2),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_light_commands_import_no_tensorflow(case, tmp_path):
    argv, expected_code = CASES[case](tmp_path)
    seen = _probe(argv, tmp_path)
    assert seen["code"] == expected_code
    assert seen["heavy"] == [], f"{case} imported {seen['heavy']}"


@pytest.mark.slow  # a fresh interpreter imports TensorFlow
def test_the_probe_sees_tensorflow_when_it_is_imported(tmp_path):
    """The check can fail: a module that imports Keras shows up in the list."""
    seen = _probe(["--help"], tmp_path, module="sweep.model.hypermodel")
    assert seen["code"] == 0 and {"keras", "keras_tuner", "tensorflow"} <= set(seen["heavy"])
