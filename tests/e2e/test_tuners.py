"""Each of KerasTuner's tuners runs a sweep through the harness."""

from __future__ import annotations

import json
from types import SimpleNamespace

import keras_tuner as kt
import pandas as pd
import pytest
import yaml
from conftest import make_examples, write_csv, write_space

from sweep import cli, tuning
from sweep.config import DataConfig, Fixed
from sweep.data import SweepData
from sweep.hypermodel import RNNHyperModel

SPACE = {"cell": ["gru", "lstm"], "bidirectional": [False, True], "vocab_size": 100,
         "embedding_dim": 8, "hidden_units": 8, "learning_rate": [0.003, 0.01]}


@pytest.mark.parametrize("algorithm", ["random", "grid", "bayesian", "hyperband"])
def test_algorithm_runs_and_records(algorithm, tmp_path, synthetic_csv):
    space = write_space(tmp_path / "space.yaml", f"csv:{synthetic_csv}",
                        tuner={"algorithm": algorithm, "max_trials": 3, "epochs": 2, "seed": 5},
                        hyperparameters=SPACE)
    assert cli.main(["run", str(space), "--results-dir", str(tmp_path / "res")]) == 0
    run = tmp_path / "res" / "synthetic"
    trials = pd.read_csv(run / "trials.csv")
    assert 1 <= len(trials) <= 3 and set(trials.status) == {"COMPLETED"}
    # Distinct trials try distinct values (Hyperband may continue a trial's values).
    if algorithm != "hyperband":
        assert not trials.duplicated(["cell", "bidirectional", "learning_rate"]).any()
    assert yaml.safe_load((run / "config.yaml").read_text())["tuner"]["algorithm"] == algorithm
    history = pd.read_csv(run / "history.csv")
    assert len(history) == trials.epochs_run.sum()


def test_grid_covers_the_grid(tmp_path, synthetic_csv):
    space = write_space(tmp_path / "space.yaml", f"csv:{synthetic_csv}",
                        tuner={"algorithm": "grid", "max_trials": 10, "epochs": 1},
                        hyperparameters={"cell": ["simple_rnn", "lstm", "gru"], "vocab_size": 100,
                                         "embedding_dim": 8, "hidden_units": 8})
    assert cli.main(["run", str(space), "--results-dir", str(tmp_path / "res")]) == 0
    trials = pd.read_csv(tmp_path / "res" / "synthetic" / "trials.csv")
    assert sorted(trials.cell) == ["gru", "lstm", "simple_rnn"]


@pytest.mark.parametrize("num_classes", [2, 3])
def test_test_score_is_what_keras_evaluate_gives(tmp_path, num_classes):
    """The best trial's test score comes from one prediction pass; it must equal evaluate()."""
    path = write_csv(tmp_path / "d.csv", make_examples(300, num_classes=num_classes))
    data = SweepData(DataConfig(source=f"csv:{path}", max_length=16, batch_size=8), 0, None)
    space = dict(cell=Fixed("gru"), bidirectional=Fixed(True), vocab_size=Fixed(100),
                 embedding_dim=Fixed(8), hidden_units=Fixed(4), learning_rate=Fixed(1e-2),
                 num_layers=Fixed(1), dropout=Fixed(0.0), clipnorm=Fixed(0.0))
    hp = kt.HyperParameters()
    model = RNNHyperModel(space, num_classes=num_classes).build(hp)
    model.fit(data.dataset(100, "train"), epochs=1, verbose=0)
    trial = SimpleNamespace(trial_id="0", hyperparameters=hp)
    tuner = SimpleNamespace(oracle=SimpleNamespace(get_best_trials=lambda n=1: [trial],
                                                   trials={"0": trial}),
                            load_model=lambda t: model)

    result = tuning.evaluate_best(tuner, data, tmp_path)
    expected = model.evaluate(data.dataset(100, "test"), verbose=0, return_dict=True)
    assert result["test_examples"] == len(data.splits.test) == 60
    assert result["test_accuracy"] == pytest.approx(expected["accuracy"], abs=1e-6)
    assert result["test_loss"] == pytest.approx(expected["loss"], rel=1e-4)
    assert json.loads((tmp_path / "test.json").read_text()) == result
    by_length = pd.read_csv(tmp_path / "length_accuracy.csv")
    assert by_length.examples.sum() == 60
    assert (by_length.accuracy * by_length.examples).sum() / 60 == pytest.approx(
        result["test_accuracy"])
