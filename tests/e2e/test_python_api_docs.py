"""docs/python-api.md's examples, run as written: its ```python blocks in order, one namespace.

They train on the real IMDB with small limits, so the test needs the prepared copy in
../shared (skipped without it). It runs in a temporary folder holding the space files, so
`results/` lands there.
"""

from __future__ import annotations

import re

import pytest
from helpers import ROOT, requires_imdb

DOC = ROOT / "docs" / "python-api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_the_page_has_examples_of_every_name():
    code = "\n".join(BLOCK.findall(DOC.read_text(encoding="utf-8")))
    for name in ("sweep.run(", "sweep.load(", ".path", ".status", ".config", ".trials", ".history",
                 ".best", ".test", ".plot(", ".report(", ".confirm(", ".export(", "sweep.predict(",
                 "sweep.UsageError"):
        assert name in code, name


# In CI: test_api.py makes every call of the page on a tiny synthetic sweep, and
# test_the_page_has_examples_of_every_name checks the page names them all.
@pytest.mark.battery
@requires_imdb
def test_the_python_api_page_runs_as_written(tmp_path, monkeypatch, capsys):
    (tmp_path / "search_spaces").symlink_to(ROOT / "search_spaces")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, block in enumerate(BLOCK.findall(DOC.read_text(encoding="utf-8"))):
        exec(compile(block, f"{DOC.name} block {i + 1}", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    run = namespace["run"]
    assert run.status == "finished" and len(run.trials) == 3
    assert "unknown override 'max_trial'" in out
    assert (tmp_path / "cells.png").is_file()
    table = namespace["table"]
    assert list(table.columns) == ["row", "predicted", "prob_neg", "prob_pos"]
    assert len(namespace["same"]) == 1
