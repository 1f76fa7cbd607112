"""The extension point end to end: a space that names a plugin module (`plugins:`) sweeps its
1-D CNN cell and its whole network beside nothing built in, on its own data source; the CNN's
trial exports and predicts like a built-in cell, the network of the user's own layer is
refused in one line. One 2-trial, 1-epoch grid on 160 tiny examples."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import make_examples, write_space

from sweep import cli
from sweep.space import registry


@pytest.fixture
def plugin_run(tmp_path, capsys):
    rows = make_examples(160, seed=5)
    (tmp_path / "data.tsv").write_text("".join(f"{label}\t{text}\n" for text, label in rows))
    space = write_space(
        tmp_path / "space.yaml", f"lines:{tmp_path / 'data.tsv'}", plugins=["e2e.extending_plugin"],
        data={"max_length": 16}, tuner={"algorithm": "grid", "max_trials": 2, "epochs": 1},
        hyperparameters={"cell": ["conv1d", "doubled_mean"], "vocab_size": 60, "embedding_dim": 8,
                         "hidden_units": 8, "learning_rate": 0.01})
    code = cli.main(["run", str(space), "--results-dir", str(tmp_path / "results")])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    yield tmp_path / "results" / "synthetic"
    for name in ("conv1d", "doubled_mean"):
        registry.CELLS.remove(name)
    registry.SOURCES.remove("lines")


def test_a_plugin_cell_sweeps_exports_and_predicts(plugin_run, capsys):
    trials = pd.read_csv(plugin_run / "trials.csv", dtype={"trial_id": str})
    assert sorted(trials.cell) == ["conv1d", "doubled_mean"]
    assert (trials.status == "COMPLETED").all(), trials[["cell", "status"]]
    assert "plugins:\n- e2e.extending_plugin" in (plugin_run / "config.yaml").read_text()
    cnn, own = (trials.trial_id[trials.cell == c].iloc[0] for c in ("conv1d", "doubled_mean"))

    assert cli.main(["export", str(plugin_run), "--trial", cnn, "--out", str(plugin_run / "cnn")]) == 0
    card = json.loads((plugin_run / "cnn" / "model_card.json").read_text())
    assert card["hyperparameters"]["cell"] == "conv1d"
    capsys.readouterr()
    assert cli.main(["predict", str(plugin_run / "cnn"), "a great film", "the worst film"]) == 0
    table = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert len(table) == 2 and table.filter(like="prob_").sum(axis=1).round(4).eq(1).all()

    assert cli.main(["export", str(plugin_run), "--trial", own]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not Keras built-ins" in err[0] and "Doubled" in err[0], err
