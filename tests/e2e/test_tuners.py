"""Each of KerasTuner's tuners runs a sweep through the harness."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from helpers import write_space

from sweep import cli

SPACE = {"cell": ["gru", "lstm"], "bidirectional": [False, True], "vocab_size": 100,
         "embedding_dim": 8, "hidden_units": 8, "learning_rate": [0.003, 0.01]}


# In CI: random and Bayesian here (in process); grid and Hyperband in test_kill_resume.py's CI
# cases, whose uninterrupted sweeps are these checks' twins.
@pytest.mark.parametrize("algorithm", [
    "random", pytest.param("grid", marks=pytest.mark.battery), "bayesian",
    pytest.param("hyperband", marks=pytest.mark.battery)])
def test_algorithm_runs_and_records(algorithm, tmp_path, synthetic_csv):
    trials_asked = 3 if algorithm == "hyperband" else 2  # Hyperband: a bracket of 3
    space = write_space(tmp_path / "space.yaml", f"csv:{synthetic_csv}",
                        tuner={"algorithm": algorithm, "max_trials": trials_asked,
                               "epochs": 2 if algorithm == "hyperband" else 1, "seed": 5},
                        hyperparameters=SPACE, baseline=False)
    assert cli.main(["run", str(space), "--results-dir", str(tmp_path / "res")]) == 0
    run = tmp_path / "res" / "synthetic"
    trials = pd.read_csv(run / "trials.csv")
    assert 1 <= len(trials) <= trials_asked and set(trials.status) == {"COMPLETED"}
    # Distinct trials try distinct values (Hyperband may continue a trial's values).
    if algorithm != "hyperband":
        assert not trials.duplicated(["cell", "bidirectional", "learning_rate"]).any()
    assert yaml.safe_load((run / "config.yaml").read_text())["tuner"]["algorithm"] == algorithm
    history = pd.read_csv(run / "history.csv")
    assert len(history) == trials.epochs_run.sum()


def test_grid_covers_the_grid(finished_run):
    """The session's run is a grid over the three cells with max_trials 3: one trial each."""
    trials = pd.read_csv(finished_run / "trials.csv")
    assert yaml.safe_load((finished_run / "config.yaml").read_text())["tuner"]["algorithm"] == "grid"
    assert sorted(trials.cell) == ["gru", "lstm", "simple_rnn"]
