"""sweep.analysis.report_axes: which axis a hyperparameter gets (from the saved space, not its
name), ranges that fit the data, ticks whose labels do not touch. What Chromium draws with
them is in tests/e2e/test_report_browser.py."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sweep.analysis import report_axes as axes
from sweep.space.hyperparameters import Choice, Range


@pytest.mark.parametrize(("spec", "values", "kind"), [
    (Range(1e-4, 1e-2, sampling="log"), [1e-3, 5e-3], "log"),
    (Range(1e-4, 1e-2), [1e-3, 5e-3], "linear"),  # a linear range, whatever the name
    (Choice((1e38, 0.003, 0.01, 0.03)), [0.003, 0.01], "log"),  # steps by ratio
    (Choice((8, 16, 32, 64, 128)), [8, 128], "log"),
    (Choice((0.1, 0.2, 0.3, 0.4)), [0.1, 0.4], "linear"),  # steps by difference
    (Choice((0.0, 0.2, 0.5)), [0.0, 0.5], "linear"),  # a zero: no log
    (Choice((1000, 20000)), [1000, 20000], "log"),  # two values a factor of 20 apart
    (Choice((16, 64)), [16, 64], "linear"),
])
def test_numbers_get_a_number_axis_log_where_the_space_steps_by_ratio(spec, values, kind):
    assert axes.scale(spec, pd.Series(values)).kind == kind


def test_categories_are_the_values_used_in_the_space_order():
    scale = axes.scale(Choice(("simple_rnn", "lstm", "gru")), pd.Series(["gru", "simple_rnn", "gru"]))
    assert scale.kind == "category" and scale.categories == ("simple_rnn", "gru")
    assert scale.positions(pd.Series(["gru", "simple_rnn"])) == [1.0, 0.0]
    assert axes.scale(Choice((False, True)), pd.Series([True, False])).kind == "category"


@pytest.mark.parametrize(("low", "high", "log", "room", "vertical"), [
    (1.27e-4, 9.3e-3, True, 290, False), (0.003, 0.03, True, 100, False), (0.0, 0.5, False, 290, True),
    (1e-6, 10.0, True, 120, False), (8, 1024, True, 60, True), (0.512, 0.873, False, 300, False),
])
def test_ticks_lie_in_the_span_and_their_labels_do_not_touch(low, high, log, room, vertical):
    values, labels = axes.ticks(low, high, log, room, vertical=vertical)
    assert 2 <= len(values) <= axes.MAX_TICKS and values == sorted(values)
    assert all(low <= v <= high for v in values)
    unit = math.log10 if log else float
    where = [(unit(v) - unit(low)) / (unit(high) - unit(low)) * room for v in values]
    size = [axes.LINE_PX if vertical else len(t) * axes.CHAR_PX + 10 for t in labels]
    assert all(b - a >= (s + t) / 2 for a, b, s, t in zip(where, where[1:], size, size[1:]))


def test_a_lists_ticks_are_its_own_values_thinned_where_they_would_touch():
    assert axes.ticks(8, 1024, True, 400, at=[8, 16, 512, 1024]) == ([8, 16, 512, 1024],
                                                                     ["8", "16", "512", "1024"])
    values, _ = axes.ticks(0.001, 0.0011, False, 100, at=[0.001, 0.00105, 0.0011])
    assert values == [0.001, 0.0011]  # the middle label would touch the first


def test_numbers_read_as_people_write_them():
    assert [axes.number(v) for v in (20000.0, 0.003, 1e-5, 0.25, 1e38)] == ["20000", "0.003", "1e-5",
                                                                            "0.25", "1e38"]


def test_metric_ranges_fit_the_data_within_what_the_metric_can_be():
    low, high = axes.metric_range([0.5525], "val_accuracy")
    assert 0 <= low < 0.5525 < high <= 1 and high - low < 0.2
    assert axes.metric_range([0.99, 1.0], "val_accuracy")[1] == 1.0
    assert axes.metric_range([0.02, 0.5], "val_loss")[0] == 0.0
    assert axes.metric_range([float("nan")], "val_loss") is None
    assert axes.metric_range([float("nan")], "val_accuracy") == [0.0, 1.0]  # every trial failed


def test_count_axes_start_at_one_half_with_whole_ticks():
    assert axes.count_axis(1, 500) == {"range": [0.5, 1.5], "tick0": 0, "dtick": 1}
    assert axes.count_axis(200, 300)["dtick"] in (25, 50)


def test_long_titles_break_at_underscores_and_before_parentheses():
    assert axes.wrap("learning_rate (log scale)", 146) == "learning_rate<br>(log scale)"
    assert axes.wrap("embedding_dropout", 70) == "embedding_<br>dropout"
    assert axes.wrap("cell", 70) == "cell"
