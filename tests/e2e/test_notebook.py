"""examples/seed_question.ipynb: stored with its outputs, and every cell runs (small limits).

The run executes the notebook in a Jupyter kernel (nbclient) on IMDB samples far smaller than
`make notebook`'s, through the environment variables its first code cell reads.
"""

from __future__ import annotations

import os
import re

import nbformat
import pytest
from helpers import ROOT, requires_imdb

NOTEBOOK = ROOT / "examples" / "seed_question.ipynb"
# Plots shown inline: the curves, the cells, the lengths and confirm's.
PLOT_CELLS = ('run.plot("best_curves")', 'run.plot("cells")', 'run.plot("length_accuracy")',
              'run.plot("confirm")')


def _images(cell) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def _code(nb, snippet: str):
    return next(c for c in nb.cells if c.cell_type == "code" and snippet in c.source)


def test_the_stored_notebook_holds_its_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), "run `make notebook` to store outputs"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    for snippet in PLOT_CELLS:
        assert _images(_code(nb, snippet)) == 1, snippet
    board = _code(nb, "run.report(top=6)").outputs[0]["data"]["text/html"]
    for cell in ("simple_rnn", "lstm", "gru"):
        assert cell in board
    predicted = _code(nb, "sweep.predict(model, reviews)").outputs[0]["data"]["text/plain"]
    assert "prob_pos" in predicted
    # Nothing of the machine it ran on: relative paths only.
    text = NOTEBOOK.read_text(encoding="utf-8")
    assert not re.search(r"/(?:work|tmp|home|root)/", text)


# In CI: test_the_stored_notebook_holds_its_outputs (every cell ran, no error) and test_api.py
# (the calls the notebook makes, on a tiny synthetic sweep).
@pytest.mark.battery
@requires_imdb
def test_every_cell_of_the_notebook_runs(tmp_path, monkeypatch):
    for key, value in {"LIMIT_TRAIN": "200", "LIMIT_EVAL": "100", "EPOCHS": "1", "SEEDS": "2",
                       "RESULTS": str(tmp_path / "results")}.items():
        monkeypatch.setenv(f"SWEEP_NOTEBOOK_{key}", value)
    monkeypatch.setenv("SWEEP_PROGRESS", "plain")
    # The kernel imports this checkout's sweep, whatever the environment has installed.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    from execute import execute

    nb = execute(NOTEBOOK, timeout=600)  # `make notebook`'s way
    for snippet in PLOT_CELLS:
        assert _images(_code(nb, snippet)) == 1, snippet
    run = tmp_path / "results" / "seed_question"
    assert (run / "confirm.csv").is_file() and (run / "export").is_dir()
    predicted = _code(nb, "sweep.predict(model, reviews)").outputs[0]["data"]["text/plain"]
    assert predicted.count("pos") + predicted.count("neg") >= 4
