"""The hyperparameters of a space: their YAML forms and the values each one accepts."""

from __future__ import annotations

import pytest

from sweep.errors import ConfigError
from sweep.space import config
from sweep.space.hyperparameters import Fixed


def load_text(tmp_path, text: str, **overrides):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return config.load(path, **overrides)


def test_float_range_with_integer_bounds_stays_float(tmp_path):
    cfg = load_text(tmp_path, "hyperparameters:\n  learning_rate: {min: 1, max: 2}\n")
    assert not cfg.hyperparameters["learning_rate"].is_int


def test_single_item_list_is_fixed(tmp_path):
    cfg = load_text(tmp_path, "hyperparameters:\n  cell: [lstm]\n")
    assert cfg.hyperparameters["cell"] == Fixed("lstm")


def test_unknown_hyperparameter_suggests_the_known_one(tmp_path):
    with pytest.raises(ConfigError, match="hiden_units.*did you mean 'hidden_units'"):
        load_text(tmp_path, "hyperparameters:\n  hiden_units: 32\n")


def test_pooling_values_are_checked(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("hyperparameters: {pooling: [max, mean]}\n")
    assert config.load(path).hyperparameters["pooling"].values == ("max", "mean")
    path.write_text("hyperparameters: {pooling: maxx}\n")
    with pytest.raises(ConfigError, match="pooling.*'max'"):
        config.load(path)
