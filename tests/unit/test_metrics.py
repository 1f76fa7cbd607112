"""The metric table decides, alone, which way each metric improves and how it is labelled."""

from __future__ import annotations

import pytest

from sweep import config, metrics


@pytest.mark.parametrize("column, direction", [
    ("val_accuracy", "max"), ("accuracy", "max"), ("test_accuracy", "max"),
    ("val_loss", "min"), ("loss", "min"), ("test_loss", "min"),
])
def test_direction_follows_the_metric_on_any_split(column, direction):
    assert metrics.direction(column) == direction
    assert metrics.ascending(column) is (direction == "min")


def test_costs_sort_small_first_and_other_columns_large_first():
    assert metrics.ascending("seconds") and metrics.ascending("peak_rss_mb")
    assert not metrics.ascending("hidden_units")
    with pytest.raises(KeyError):
        metrics.direction("seconds")


def test_objectives_and_config_agree():
    assert config.OBJECTIVES == metrics.OBJECTIVES == ("val_accuracy", "val_loss", "accuracy", "loss")
    assert config.TunerConfig(objective="val_loss").direction == "min"
    assert config.TunerConfig(objective="accuracy").direction == "max"


def test_labels_name_the_split_and_the_unit():
    assert metrics.label("val_accuracy") == "validation accuracy (fraction correct)"
    assert metrics.label("loss") == "training loss (cross-entropy, nats)"
    assert metrics.label("seconds") == "seconds"
    assert metrics.is_fraction("val_accuracy") and not metrics.is_fraction("val_loss")
