"""The YAML forms of a space, defaults, overrides and the saved round trip."""

from __future__ import annotations

import pytest
import yaml
from helpers import ROOT

from sweep import config
from sweep.errors import ConfigError
from sweep.hyperparameters import Choice, Fixed, Range

ISSUE_SPACE = """
name: imdb_rnn
data:
  source: tfds:imdb_reviews
  validation_split: 0.2
  max_length: 256
  batch_size: 64
tuner:
  algorithm: bayesian
  objective: val_accuracy
  max_trials: 20
  epochs: 5
  early_stopping_patience: 2
  seed: 42
hyperparameters:
  cell: [simple_rnn, lstm, gru]
  bidirectional: [false, true]
  vocab_size: [1000, 5000, 10000, 20000]
  embedding_dim: {min: 16, max: 256, step: 16}
  hidden_units: {min: 16, max: 128, step: 16}
  learning_rate: {min: 1.0e-4, max: 1.0e-2, sampling: log}
  num_layers: [1, 2]
  dropout: 0.2
"""


def load_text(tmp_path, text: str, **overrides):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return config.load(path, **overrides)


def test_the_three_forms(tmp_path):
    cfg = load_text(tmp_path, ISSUE_SPACE)
    hp = cfg.hyperparameters
    assert hp["cell"] == Choice(("simple_rnn", "lstm", "gru"))
    assert hp["bidirectional"] == Choice((False, True))
    assert hp["embedding_dim"] == Range(16, 256, 16) and hp["embedding_dim"].is_int
    assert hp["learning_rate"] == Range(1e-4, 1e-2, None, "log") and not hp["learning_rate"].is_int
    assert hp["dropout"] == Fixed(0.2)
    assert cfg.tuner.algorithm == "bayesian" and cfg.data.max_length == 256


def test_defaults_fill_what_the_space_leaves_out(tmp_path):
    cfg = load_text(tmp_path, "hyperparameters:\n  cell: gru\n")
    assert cfg.name == "space"  # the file's stem
    assert cfg.data == config.DataConfig() and cfg.tuner == config.TunerConfig()
    assert cfg.hyperparameters["cell"] == Fixed("gru")
    assert cfg.hyperparameters["vocab_size"] == Fixed(10000)
    assert set(cfg.hyperparameters) == set(config.HYPERPARAMETERS)
    assert cfg.varying() == []


def test_flags_override_the_file(tmp_path):
    cfg = load_text(tmp_path, ISSUE_SPACE, source="csv:x.csv", algorithm="random", max_trials=3,
                    epochs=1, seed=7, limit_train=100, limit_eval=50, name="quick")
    assert (cfg.data.source, cfg.data.limit_train, cfg.data.limit_eval) == ("csv:x.csv", 100, 50)
    assert (cfg.tuner.algorithm, cfg.tuner.max_trials, cfg.tuner.epochs, cfg.tuner.seed) == (
        "random", 3, 1, 7)
    assert cfg.name == "quick"


def test_resolved_config_round_trips(tmp_path):
    cfg = load_text(tmp_path, ISSUE_SPACE)
    again = config.from_dict(yaml.safe_load(cfg.to_yaml()))
    assert again == cfg


def test_grid_needs_a_finite_grid(tmp_path):
    with pytest.raises(ConfigError, match="hyperparameters.learning_rate: grid search"):
        load_text(tmp_path, ISSUE_SPACE, algorithm="grid")


def test_exponent_without_dot_is_a_number(tmp_path, csv_path):
    """PyYAML reads `1e-3` as a string (YAML 1.1); a space file means the number."""
    space = tmp_path / "space.yaml"
    space.write_text(
        f"name: x\ndata: {{source: 'csv:{csv_path}'}}\n"
        "hyperparameters:\n  learning_rate: 1e-3\n"
        "  clipnorm: [1E0, 2.5e+0]\n  dropout: {min: 1e-2, max: 5e-1, sampling: log}\n"
    )
    cfg = config.load(space)
    assert cfg.hyperparameters["learning_rate"] == config.Fixed(0.001)
    assert cfg.hyperparameters["clipnorm"] == config.Choice((1.0, 2.5))
    assert cfg.hyperparameters["dropout"] == config.Range(0.01, 0.5, None, "log")


@pytest.mark.parametrize("path", sorted((ROOT / "search_spaces").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_spaces_load(path):
    cfg = config.load(path)
    assert cfg.name == path.stem
    assert config.from_dict(yaml.safe_load(cfg.to_yaml())) == cfg
