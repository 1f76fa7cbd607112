"""The metric table decides, alone, which way each metric improves and how it is labelled."""

from __future__ import annotations

import pytest

from sweep import metrics
from sweep.space import config


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
    assert config.OBJECTIVES == metrics.OBJECTIVES
    assert metrics.OBJECTIVES == tuple(f"{p}{m}" for p in ("val_", "") for m in
                                       ("accuracy", "loss", "auc", "f1", "precision", "recall"))
    for name in ("val_auc", "f1", "val_precision", "recall"):
        assert config.TunerConfig(objective=name).direction == "max"
    assert config.TunerConfig(objective="val_loss").direction == "min"
    assert config.TunerConfig(objective="accuracy").direction == "max"


def test_labels_name_the_split_and_the_unit():
    assert metrics.label("val_accuracy") == "validation accuracy (fraction correct)"
    assert metrics.label("loss") == "training loss (cross-entropy, nats)"
    assert metrics.label("seconds") == "seconds"
    assert metrics.is_fraction("val_accuracy") and not metrics.is_fraction("val_loss")


def test_only_the_objectives_metric_is_compiled_beside_accuracy():
    assert metrics.compiled("val_accuracy") == metrics.compiled("loss") == ["accuracy"]
    assert metrics.compiled("val_f1") == metrics.compiled("f1") == ["accuracy", "f1"]
    assert metrics.metric_columns("val_loss") == metrics.METRIC_COLUMNS
    assert metrics.metric_columns("recall") == [*metrics.METRIC_COLUMNS, "val_recall", "recall"]
    assert metrics.label("val_f1") == "validation F1 score (macro over classes)"
    assert metrics.is_fraction("val_auc")


# Against scikit-learn's definitions: binary (one logit) and four classes (softmax logits).
@pytest.mark.parametrize("num_classes", [2, 4])
def test_keras_metrics_match_their_definitions(num_classes):
    np = pytest.importorskip("numpy")
    skm = pytest.importorskip("sklearn.metrics")
    from sweep.model.keras_metrics import make

    rng = np.random.default_rng(num_classes)
    y = rng.integers(num_classes, size=300)
    if num_classes == 2:
        logits = (rng.normal(size=300) + 1.5 * (y - 0.5))[:, None]
        p = 1 / (1 + np.exp(-logits[:, 0]))
        scores, predicted, average = p, (p > 0.5).astype(int), "binary"
    else:
        logits = rng.normal(size=(300, num_classes)) + 1.5 * np.eye(num_classes)[y]
        e = np.exp(logits)
        scores = e / e.sum(1, keepdims=True)
        predicted, average = scores.argmax(1), "macro"
    expected = {
        "accuracy": (predicted == y).mean(),
        "auc": skm.roc_auc_score(y, scores, multi_class="ovr", average="macro"),
        "f1": skm.f1_score(y, predicted, average="macro"),
        "precision": skm.precision_score(y, predicted, average=average),
        "recall": skm.recall_score(y, predicted, average=average),
    }
    for name, want in expected.items():
        metric = make(name, num_classes)
        for part in (slice(0, 128), slice(128, 300)):  # two batches: counts accumulate
            metric.update_state(y[part], logits[part].astype("float32"))
        tolerance = 5e-3 if name == "auc" else 1e-5  # Keras' AUC: 200 thresholds
        assert float(metric.result()) == pytest.approx(want, abs=tolerance), name


# --- Which value is better, which epoch is best, a trial's status ---------------------


@pytest.mark.parametrize("column, a, b, expected", [
    ("val_accuracy", 0.9, 0.8, True), ("val_accuracy", 0.8, 0.9, False),
    ("val_loss", 0.2, 0.3, True), ("val_loss", 0.3, 0.2, False),
    ("val_accuracy", 0.8, 0.8, False),  # equal is not better: the first of equals stays best
    ("val_accuracy", float("nan"), 0.1, False), ("val_loss", 0.5, float("nan"), True),
    ("val_loss", float("inf"), 1.0, False), ("val_accuracy", 0.1, None, True),
    ("val_accuracy", None, None, False), ("seconds", 3.0, 4.0, True),
])
def test_better_follows_the_direction_and_never_prefers_a_missing_value(column, a, b, expected):
    assert metrics.better(column, a, b) is expected


@pytest.mark.parametrize("column, values, expected", [
    ("val_accuracy", [0.5, 0.7, 0.6, 0.7], 1),  # the first of equals
    ("val_loss", [0.5, 0.7, 0.4, 0.45], 2),
    ("val_accuracy", [float("nan"), 0.6, float("nan")], 1),
    ("val_loss", [float("nan"), float("nan")], None),
    ("val_loss", [], None),
])
def test_best_index_is_the_first_best_finite_value(column, values, expected):
    assert metrics.best_index(column, values) == expected


def test_best_index_reads_pandas_columns_with_missing_values():
    import pandas as pd

    assert metrics.best_index("val_accuracy", pd.Series([pd.NA, 0.3, 0.9], dtype="Float64")) == 2
    assert metrics.best_index("val_loss", pd.Series([None, "x", 2.0, 1.0], dtype=object)) == 3


def test_trial_status_compares_and_prints_as_keras_tuners_strings():
    import pandas as pd

    assert metrics.TrialStatus.COMPLETED == "COMPLETED" and str(metrics.TrialStatus.FAILED) == "FAILED"
    statuses = pd.Series(["COMPLETED", "FAILED", "RUNNING", "INVALID"])
    assert statuses.eq(metrics.TrialStatus.COMPLETED).tolist() == [True, False, False, False]
    assert statuses.isin(metrics.ENDED).tolist() == [True, True, False, True]
    import keras_tuner as kt

    for name in ("RUNNING", "IDLE", "INVALID", "STOPPED", "COMPLETED", "FAILED"):
        assert getattr(kt.engine.trial.TrialStatus, name) == metrics.TrialStatus[name]
