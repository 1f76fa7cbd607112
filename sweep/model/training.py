"""How one configuration trains: its callbacks, the NaN policy and the best epoch's weights.

The one routine behind every training in the project: a sweep's trial (`SweepHyperModel.fit`
through `RNNHyperModel.fit`), a `sweep confirm` repeat and an `sweep export --refit`. Knows
Keras only (no data, no files).

    callbacks()   early stopping on the objective, and a stop on a NaN loss
    fit()         model.fit with the learning-rate decay; a NaN loss raises Diverged
    KeepBest      the weights of the best epoch (metrics.best_index's rule, KerasTuner's too)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import keras
import keras_tuner as kt

from sweep import metrics


class Diverged(kt.errors.FailedTrialError):
    """The loss became NaN or infinite: the configuration failed (a sweep records it FAILED).

    Attributes:
        history: the Keras History of the run, its epochs so far.
    """

    def __init__(self, message: str, history: keras.callbacks.History):
        super().__init__(message)
        self.history = history


def callbacks(objective: str, patience: int, verbose: bool = False,
              early_stopping: bool = True) -> list[keras.callbacks.Callback]:
    """What every training of a configuration runs with.

    Args:
        objective: the monitored metric (its direction from `sweep.metrics`).
        patience: epochs without improvement before early stopping.
        verbose: say so when a NaN loss stops the training.
        early_stopping: False where no validation data is left to watch (a refit).
    """
    out: list[keras.callbacks.Callback] = [StopOnNaN(verbose)]
    if early_stopping:
        out.insert(0, keras.callbacks.EarlyStopping(
            monitor=objective, mode=metrics.direction(objective), patience=patience))
    return out


def fit(hp: kt.HyperParameters, model: keras.Model, *args, **kwargs) -> keras.callbacks.History:
    """`model.fit(*args, **kwargs)`, with the learning rate decayed per epoch when `lr_decay` < 1,
    and the encoder unfrozen on schedule under `EncoderAdam`.

    Raises:
        Diverged: a loss of the run was not finite (the NaN policy: the configuration failed).
    """
    encoder_adam = _encoder_adam(model)
    if encoder_adam is not None and encoder_adam.epochs:
        kwargs["callbacks"] = [Unfreeze(), *(kwargs.get("callbacks") or [])]
    decay = hp.values.get("lr_decay", 1.0)
    if decay != 1.0:
        base = hp.get("learning_rate")
        # By absolute epoch, so a Hyperband trial resumed at initial_epoch stays on schedule.
        schedule = keras.callbacks.LearningRateScheduler(lambda epoch: base * decay**epoch)
        kwargs["callbacks"] = [schedule, *(kwargs.get("callbacks") or [])]
    history = model.fit(*args, **kwargs)
    reason = divergence(history.history.get("loss", []))
    if reason:
        raise Diverged(reason, history)
    return history


def divergence(losses: list[float]) -> str | None:
    """Why a run with these per-epoch losses failed ("loss became nan at epoch 3"), or None."""
    bad = [i for i, v in enumerate(losses) if not math.isfinite(v)]
    return f"loss became {losses[bad[0]]} at epoch {bad[0] + 1}" if bad else None


def _encoder_adam(model: keras.Model) -> EncoderAdam | None:
    """The model's EncoderAdam, also inside the LossScaleOptimizer that Keras wraps around
    it under mixed precision (`--mixed-precision`), or None."""
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    return optimizer if isinstance(optimizer, EncoderAdam) else None


class EncoderAdam(keras.optimizers.Adam):
    """Adam with the encoder on a schedule of its own (ULMFiT's fine-tuning, Howard & Ruder 2018).

    The encoder comes in layer groups, each frozen for its first epochs (`Unfreeze`, which
    `fit` adds, sets `frozen`): their gradients are zeroed, so Adam's moments stay 0 and they
    do not move (`pretrain.freeze_epochs`, `pretrain.unfreeze`). Then they train at `scale`
    times the rate (`encoder_lr_scale`: discriminative rates). Scaling the gradient would not
    do it: Adam's step does not depend on the gradient's scale.

    A group's Adam starts afresh when it unfreezes: Keras corrects the moments' bias by the
    optimizer's step count, which for moments started at zero hundreds of steps in would
    mis-scale their steps for an epoch and more (after a 352-step epoch frozen, the recipe's:
    1.7 times the rate at the first, 3.6 at the 12th, 1.8 on average over that epoch), so their
    rate carries the correction by their own count, from `unfrozen_at`.

    Args:
        groups: (variable paths (`Variable.path`), epochs frozen) per layer group of the encoder.
        scale: their learning rate as a fraction of the head's.
        **kwargs: Adam's.
    """

    def __init__(self, groups: Sequence[tuple[Iterable[str], int]], scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.group_of = {path: i for i, (paths, _) in enumerate(groups) for path in paths}
        self.frozen_epochs = [epochs for _, epochs in groups]
        self.scale = scale
        self.frozen = [keras.Variable(1.0 if epochs else 0.0, trainable=False, name=f"frozen_{i}")
                       for i, epochs in enumerate(self.frozen_epochs)]
        self.unfrozen_at = [keras.Variable(0.0, trainable=False, name=f"unfrozen_at_{i}")  # step counts
                            for i in range(len(self.frozen_epochs))]

    @property
    def epochs(self) -> int:
        """Epochs until the whole encoder trains (0: it always does)."""
        return max(self.frozen_epochs, default=0)

    def update_step(self, gradient, variable, learning_rate):
        # `variable` may be the backend's own (TensorFlow's has no path): found by its index.
        group = self.group_of.get(self._trainable_variables[self._get_variable_index(variable)].path)
        if group is not None:
            learning_rate = learning_rate * self.scale
            if self.frozen_epochs[group]:
                learning_rate = learning_rate * self._own_bias_correction(group, variable.dtype)
        return super().update_step(gradient, variable, learning_rate)

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is not None:
            grads = [g if g is None or (group := self.group_of.get(v.path)) is None
                     else _scaled(g, 1.0 - self.frozen[group])
                     for g, v in zip(grads, trainable_variables, strict=True)]
        return super().apply(grads, trainable_variables)

    def schedule(self, epoch: int) -> None:
        """Freezes or unfreezes each group for `epoch` (0-based); an unfrozen group's Adam
        counts its steps from the next one."""
        for epochs, frozen, since in zip(self.frozen_epochs, self.frozen, self.unfrozen_at, strict=True):
            if epoch < epochs:
                frozen.assign(1.0)
            elif float(frozen.numpy()):
                since.assign(float(self.iterations.numpy()))
                frozen.assign(0.0)

    def _own_bias_correction(self, group: int, dtype):
        """Adam's bias correction by the group's own step count over the optimizer's, which
        `super().update_step` applies. Frozen steps count as the first (their moments are 0,
        so they move nothing either way)."""
        ops = keras.ops
        step = ops.cast(self.iterations + 1, dtype)
        own = ops.maximum(step - ops.cast(self.unfrozen_at[group], dtype), 1.0)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)

        def correction(t):
            return ops.sqrt(1 - ops.power(beta_2, t)) / (1 - ops.power(beta_1, t))
        return correction(own) / correction(step)


def _scaled(grad, factor):
    if hasattr(grad, "indices"):  # an embedding's sparse gradient (tf.IndexedSlices)
        return type(grad)(grad.values * factor, grad.indices, grad.dense_shape)
    return grad * factor


class Unfreeze(keras.callbacks.Callback):
    """Sets `EncoderAdam`'s schedule at each epoch (by absolute epoch, so a Hyperband trial
    resumed at initial_epoch stays on schedule)."""

    def on_epoch_begin(self, epoch, logs=None):
        encoder_adam = _encoder_adam(self.model)
        assert encoder_adam is not None, "Unfreeze needs the model's EncoderAdam"
        encoder_adam.schedule(epoch)


class StopOnNaN(keras.callbacks.Callback):
    """Keras' TerminateOnNaN, which says so only when `verbose` (the failure reason says it)."""

    def __init__(self, verbose: bool = False):
        super().__init__()
        self.verbose = verbose

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            if self.verbose:
                print(f"Batch {batch}: invalid loss {loss}, terminating training", flush=True)
            self.model.stop_training = True


class KeepBest(keras.callbacks.Callback):
    """Holds the weights of the best epoch so far by `monitor` (`metrics.best_index`'s rule:
    the first epoch with the best finite value; KerasTuner keeps its trials' the same way).

    Attributes:
        epoch: the best epoch, 0-based (None while no value was finite).
        weights: its weights.
    """

    def __init__(self, monitor: str):
        super().__init__()
        self.monitor = monitor
        self.best: float | None = None
        self.epoch: int | None = None
        self.weights: list = []

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        current = None if value is None else float(value)
        if metrics.better(self.monitor, current, self.best):
            self.best, self.epoch = current, epoch
            self.weights = self.model.get_weights()
