"""The YAML forms of a space, defaults, overrides and the saved round trip."""

from __future__ import annotations

import pytest
import yaml
from helpers import ROOT

from sweep.errors import ConfigError
from sweep.space import config
from sweep.space.hyperparameters import Choice, Fixed, Range

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


# --- tuner.initial_points, max_time, start_from ----------------------------------------


def budget_space(tmp_path, tuner: dict, hps: dict | None = None):
    space = {"name": "s", "tuner": {"max_trials": 20, **tuner},
             "hyperparameters": hps or {"cell": ["lstm", "gru"], "bidirectional": [False, True],
                                        "hidden_units": {"min": 16, "max": 64, "step": 16},
                                        "learning_rate": {"min": 1e-4, "max": 1e-2, "sampling": "log"},
                                        "dropout": 0.2}}
    return load_text(tmp_path, yaml.safe_dump(space))


@pytest.mark.parametrize("max_trials, varying, expected", [
    (20, 4, 5),    # varying + 1 spans the four varying ones
    (12, 4, 4),    # a third of the budget at most
    (4, 4, 2),     # at least two
    (100, 4, 5),
])
def test_initial_points_count_only_what_varies(tmp_path, max_trials, varying, expected):
    cfg = budget_space(tmp_path, {"max_trials": max_trials})
    assert len(cfg.varying()) == varying and len(cfg.hyperparameters) > 10  # fixed ones don't count
    assert cfg.initial_points() == expected


def test_initial_points_given_and_raised_to_cover_start_from(tmp_path):
    assert budget_space(tmp_path, {"initial_points": 9}).initial_points() == 9
    starts = [{"cell": "gru"}, {"cell": "lstm"}, {"hidden_units": 32}]
    assert budget_space(tmp_path, {"initial_points": 2, "start_from": starts}).initial_points() == 3


@pytest.mark.parametrize("value, seconds", [("45s", 45), ("90m", 5400), ("2h", 7200),
                                            ("1h30m", 5400), (600, 600), ("90", 90)])
def test_max_time_durations(tmp_path, value, seconds):
    assert budget_space(tmp_path, {"max_time": value}).tuner.max_seconds == seconds


@pytest.mark.parametrize("tuner, message", [
    ({"initial_points": 0}, "tuner.initial_points: expected a positive integer"),
    ({"max_time": "90x"}, "tuner.max_time: expected a duration such as 45s, 90m or 2h, got '90x'"),
    ({"max_time": "2 days"}, "tuner.max_time: expected a duration"),
    ({"max_time": "0s"}, "tuner.max_time: expected a duration above zero"),
    ({"start_from": {"cell": "gru"}}, "tuner.start_from: expected a list of configurations"),
    ({"start_from": ["gru"]}, "tuner.start_from[0]: expected a mapping of hyperparameter: value"),
    ({"start_from": [{"cells": "gru"}]}, "tuner.start_from[0].cells: unknown key (did you mean 'cell'?)"),
    ({"start_from": [{"cell": "simple_rnn"}]},
     "tuner.start_from[0].cell: 'simple_rnn' is not in the space; expected one of lstm, gru"),
    ({"start_from": [{"cell": "gru"}, {"hidden_units": 128}]},
     "tuner.start_from[1].hidden_units: 128 is outside the space's range 16 to 64"),
    ({"start_from": [{"hidden_units": 20}]},
     "tuner.start_from[0].hidden_units: 20 is not on the space's grid"),
    ({"start_from": [{"learning_rate": 0.5}]}, "tuner.start_from[0].learning_rate: 0.5 is outside"),
    ({"start_from": [{"dropout": 0.3}]},
     "tuner.start_from[0].dropout: 0.3 is not in the space; expected one of 0.2"),
    ({"start_from": [{"bidirectional": 1}]}, "tuner.start_from[0].bidirectional: expected true or false"),
    ({"start_from": [{"cell": "gru"}], "algorithm": "grid", "max_trials": 5},
     "tuner.start_from: grid search tries every configuration anyway"),
])
def test_budget_keys_refused_in_one_line(tmp_path, tuner, message):
    with pytest.raises(ConfigError) as e:
        budget_space(tmp_path, tuner, None if tuner.get("algorithm") != "grid" else
                     {"cell": ["lstm", "gru"]})
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_start_from_round_trips_and_max_time_overrides(tmp_path):
    starts = [{"cell": "gru", "learning_rate": 0.003}, {"bidirectional": True}]
    cfg = budget_space(tmp_path, {"start_from": starts, "max_time": "90m"})
    again = config.from_dict(yaml.safe_load(cfg.to_yaml()))
    assert again == cfg and again.tuner.start_from == starts
    assert config.apply_overrides(cfg, max_time="2h").tuner.max_seconds == 7200
    with pytest.raises(ConfigError, match="tuner.max_time"):
        config.apply_overrides(cfg, max_time="soon")


def test_standardize_is_one_of_keras_own_or_0_1s():
    base = {"name": "s", "hyperparameters": {"cell": "gru"}}
    assert config.from_dict(base).data.standardize == "lower_and_strip_punctuation"
    assert config.from_dict({**base, "data": {"standardize": "sweep_0.1"}}).data.standardize == "sweep_0.1"
    with pytest.raises(ConfigError, match=r"data.standardize: unknown value 'lowercase'.*'lower'"):
        config.from_dict({**base, "data": {"standardize": "lowercase"}})


def test_load_takes_a_mapping_or_a_loaded_space_as_the_python_api_does(tmp_path):
    raw = {"name": "m", "tuner": {"max_trials": 4},
           "hyperparameters": {"cell": ["lstm", "gru"], "learning_rate": 0.01}}
    from_mapping = config.load(raw, max_trials=2, name="renamed")
    assert from_mapping.name == "renamed" and from_mapping.tuner.max_trials == 2
    assert raw["tuner"]["max_trials"] == 4  # the caller's dict is left alone
    assert config.load(from_mapping, epochs=7).tuner.epochs == 7
    # A mapping without a name takes the name flag's; a path's name comes from the file.
    nameless = {k: v for k, v in raw.items() if k != "name"}
    assert config.load(nameless, name="given").name == "given"
    path = tmp_path / "space.yaml"
    path.write_text(config.load(raw).to_yaml())
    assert config.load(path) == config.load(raw)
    with pytest.raises(config.ConfigError, match="space: expected a YAML file's path, a mapping"):
        config.load(42)


@pytest.mark.parametrize("value", ["yes", True, 0, None, "Auto"])
def test_data_download_is_auto_or_false(value):
    raw = {"name": "d", "data": {"download": value}, "hyperparameters": {"cell": "gru"}}
    with pytest.raises(config.ConfigError, match="data.download: expected auto or false"):
        config.from_dict(raw)
    assert config.from_dict({**raw, "data": {}}).data.download == "auto"
    assert config.from_dict({**raw, "data": {"download": False}}).data.download is False


def test_baseline_and_pruning_keys(tmp_path):
    """`baseline` (top level) and `tuner.pruning`: defaults, round trip, one-line refusals."""
    cfg = load_text(tmp_path, ISSUE_SPACE)
    assert cfg.baseline is True and cfg.tuner.pruning == "none" and "baseline" not in cfg.to_dict()
    off = load_text(tmp_path, ISSUE_SPACE + "baseline: false\n")
    assert off.baseline is False and config.from_dict(yaml.safe_load(off.to_yaml())) == off
    with pytest.raises(ConfigError, match=r"^baseline: expected true or false, got"):
        load_text(tmp_path, ISSUE_SPACE + "baseline: maybe\n")
    refused = (r"^tuner.pruning: unknown value 'medain' \(did you mean 'median'\?\); "
               r"expected one of none, median$")
    with pytest.raises(ConfigError, match=refused):
        load_text(tmp_path, ISSUE_SPACE.replace("  seed: 42", "  seed: 42\n  pruning: medain"))
