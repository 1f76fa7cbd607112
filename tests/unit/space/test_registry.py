"""The registries against their readers: the space's validation, the CLI's choices, the plots'
labels and order, and docs/extending.md's table all follow the one table of each kind; users'
entries come and go through the public functions and `plugins:`. No TensorFlow here (the
builders are resolved in tests/unit/model/test_registered.py)."""

from __future__ import annotations

import re
import sys

import pandas as pd
import pytest
from helpers import ROOT

import sweep
from sweep.errors import ConfigError
from sweep.space import allowed, config, overrides, registry
from sweep.space.registry import CELLS, SOURCES, TUNERS

TABLES = {"cell": CELLS, "tuner": TUNERS, "source": SOURCES}
EXTENDING = ROOT / "docs" / "extending.md"


def _space(**hps) -> dict:
    return {"name": "t", "data": {"source": "csv:x.csv"}, "hyperparameters": {"cell": "gru", **hps}}


@pytest.fixture
def mine():
    """A user's cell and source, registered for one test."""
    yield (sweep.register_cell("conv1d", "mypkg.cells:conv1d", label="1-D CNN"),
           sweep.register_source("parquet", lambda location: ([], [])))
    CELLS.remove("conv1d")
    SOURCES.remove("parquet")


def test_docs_list_exactly_the_registered_entries_in_order():
    rows = [line.strip("|").split("|") for line in EXTENDING.read_text(encoding="utf-8").splitlines()
            if re.match(r"\| (cell|tuner|source) \|", line)]
    documented = [(k.strip(), n.strip().strip("`"), label.strip(), b.strip().strip("`"))
                  for k, n, label, b in rows]
    registered = [(kind, e.name, e.label, e.where) for kind, table in TABLES.items() for e in table]
    assert documented == registered


def test_the_space_and_the_command_line_read_the_tables():
    assert allowed.ALGORITHMS == TUNERS.names() and allowed.SOURCE_SCHEMES == SOURCES.names()
    assert overrides.BY_NAME["algorithm"].help == " | ".join(TUNERS.names())
    assert config.HYPERPARAMETERS["cell"].allowed() == CELLS.names()


def test_a_registered_cell_and_source_are_valid_in_a_space_until_removed(mine):
    cfg = config.from_dict({**_space(cell=["lstm", "conv1d"]), "data": {"source": "parquet:r.parquet"}})
    assert cfg.hyperparameters["cell"].values == ("lstm", "conv1d")
    assert CELLS.names()[-1] == "conv1d" and CELLS.label("conv1d") == "1-D CNN"
    assert CELLS.rank("conv1d") == 3 and CELLS.rank("unheard_of") == 4
    CELLS.remove("conv1d")
    with pytest.raises(ConfigError, match=r"hyperparameters\.cell\[1\]: unknown value 'conv1d'.*plugins:"):
        config.from_dict(_space(cell=["lstm", "conv1d"]))


@pytest.mark.parametrize(("space", "message"), [
    (_space(cell="GRU "), r"hyperparameters\.cell: unknown value 'GRU ' \(did you mean 'gru'\?\)"),
    ({**_space(), "data": {"source": "parket:r.parquet"}}, r"data\.source: .*did you mean 'parquet'"),
    ({**_space(), "tuner": {"algorithm": "bayes"}}, r"tuner\.algorithm: .*did you mean 'bayesian'"),
    ({**_space(), "plugins": "mypkg"}, r"plugins: expected a list of Python module names"),
    ({**_space(), "plugins": ["no_such_plugin_module"]},
     r"plugins\[0\]: cannot import 'no_such_plugin_module' \(ModuleNotFoundError: "),
])
def test_unknown_names_are_refused_in_one_line(mine, space, message):
    with pytest.raises(ConfigError, match=message) as e:
        config.from_dict(space)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: sweep.register_cell("lstm", lambda v, r: None), "a built-in cell has that name"),
    (lambda: sweep.register_cell("my cell", lambda v, r: None), "a name is a letter"),
    (lambda: sweep.register_source("csv", lambda loc: None), "a built-in data source"),
    (lambda: sweep.register_model("net", "not a dotted path"), "expected a function or 'module:function'"),
])
def test_registration_refuses_built_in_and_malformed_names(call, message):
    with pytest.raises(ConfigError, match=message):
        call()
    assert "net" not in CELLS and "my cell" not in CELLS


def test_a_plugin_module_registers_on_import_and_is_saved_with_the_space():
    # Imported afresh: another test of this session may have imported it (and unregistered it).
    sys.modules.pop("e2e.extending_plugin", None)
    cfg = config.from_dict({**_space(cell=["gru", "conv1d"]), "plugins": ["e2e.extending_plugin"],
                            "data": {"source": "lines:x.tsv"}})
    try:
        assert cfg.plugins == ("e2e.extending_plugin",) and CELLS.get("conv1d").kind == "layer"
        assert CELLS.get("doubled_mean").kind == "network" and SOURCES.get("lines").kind == "texts"
        again = config.from_dict(cfg.to_dict())
        assert again == cfg
    finally:
        for name in ("conv1d", "doubled_mean"):
            CELLS.remove(name)
        SOURCES.remove("lines")
    assert "plugins" not in config.from_dict(_space()).to_dict()  # spaces without one read as before


def test_plots_and_report_take_order_and_labels_from_the_cell_table(mine):
    from sweep.analysis import plots, presentation, report_figures

    assert [presentation.value(c) for c in CELLS.names()] == [e.label for e in CELLS]
    assert presentation.value_order("cell", pd.Series(CELLS.names()[::-1])) == list(CELLS.names())
    assert [plots._cell_color(c) for c in ("simple_rnn", "lstm", "gru")] == ["C0", "C1", "C2"]
    colours = [report_figures._cell_color(c) for c in (*CELLS.names(), "unheard_of")]
    assert len(set(colours)) == len(colours) and report_figures.HIGHLIGHT not in colours


def test_a_builder_given_by_name_is_imported_only_on_use():
    entry = registry.Entry("x", "x", "no_such_module_here:build", "layer", builtin=False)
    with pytest.raises(ConfigError, match="x: cannot load 'no_such_module_here:build'"):
        entry.resolve()
