"""sweep.model.training, the one routine every training runs through: the callbacks, the NaN
policy and the best epoch's weights (the same rule as trials.csv's best epoch)."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest

from sweep import metrics
from sweep.model import training


def _model() -> keras.Model:
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    return model


@pytest.mark.parametrize("objective, values", [
    ("val_accuracy", [0.5, float("nan"), 0.7, 0.7, 0.6]),
    ("val_loss", [float("nan"), 0.9, 0.4, 0.8, 0.4]),
    ("val_accuracy", [float("nan"), float("nan")]),
])
def test_keep_best_keeps_the_epoch_best_index_names(objective, values):
    model = _model()
    keep = training.KeepBest(objective)
    keep.set_model(model)
    kept = {}
    for epoch, value in enumerate(values):
        model.layers[-1].set_weights([np.full((3, 1), float(epoch)), np.zeros(1)])
        keep.on_epoch_end(epoch, {objective: value})
        kept[epoch] = float(model.layers[-1].get_weights()[0][0, 0])
    assert keep.epoch == metrics.best_index(objective, values)
    if keep.epoch is not None:
        assert float(keep.weights[0][0, 0]) == kept[keep.epoch]


def test_a_nan_loss_stops_the_training_and_raises_diverged():
    model = _model()
    x = np.ones((8, 3), "float32")
    y = np.full((8, 1), np.nan, "float32")  # the loss is NaN from the first batch
    hp = kt.HyperParameters()
    with pytest.raises(training.Diverged) as e:
        training.fit(hp, model, x, y, epochs=5, batch_size=4, verbose=0,
                     callbacks=training.callbacks("val_loss", 2, early_stopping=False))
    assert str(e.value) == "loss became nan at epoch 1"
    assert isinstance(e.value, kt.errors.FailedTrialError)  # KerasTuner records the trial FAILED
    assert len(e.value.history.history["loss"]) == 1  # stopped at the first epoch, not run on


def test_a_finite_run_returns_its_history_with_the_learning_rate_decayed():
    model = _model()
    hp = kt.HyperParameters()
    hp.Fixed("learning_rate", 0.01)
    hp.Fixed("lr_decay", 0.5)
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    history = training.fit(hp, model, x, y, epochs=3, batch_size=4, verbose=0)
    assert len(history.history["loss"]) == 3
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01 * 0.5**2)


def test_callbacks_watch_the_objective_in_its_direction():
    stop, nan = training.callbacks("val_loss", 3)
    assert isinstance(stop, keras.callbacks.EarlyStopping) and isinstance(nan, training.StopOnNaN)
    assert (stop.monitor, stop.patience, stop.mode) == ("val_loss", 3, "min")
    assert training.callbacks("val_auc", 3)[0].mode == "max"
    (only,) = training.callbacks("val_accuracy", 3, early_stopping=False)
    assert isinstance(only, training.StopOnNaN)


def test_divergence_names_the_first_bad_epoch():
    assert training.divergence([0.5, 0.4]) is None
    assert training.divergence([0.5, float("inf"), float("nan")]) == "loss became inf at epoch 2"
