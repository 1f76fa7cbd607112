"""The Keras metrics behind `sweep.metrics.METRICS`, for the model's logits and class ids.

The model gives one logit for two classes (sigmoid) and one logit per class otherwise
(softmax); labels are class ids. Keras' AUC and F1Score want one column per class, with
one-hot labels and probabilities, so these wrappers turn both heads into that form first
(two classes become two columns, [1 - p, p]) and let Keras count:

    auc        keras.metrics.AUC(multi_label=True): the mean of one-vs-rest ROC AUCs (for two
               classes both columns give the same AUC, so it is the usual binary AUC)
    f1         keras.metrics.F1Score(average="macro"), the predicted class being the argmax
    precision  F1Score's own per-class counts: class 1's precision for two classes (the
    recall     usual binary figure, threshold 0.5), their macro mean for more

Registered with Keras' serialization, so a saved compiled model loads again.
"""

from __future__ import annotations

import keras
from keras import ops


def make(name: str, num_classes: int) -> keras.metrics.Metric:
    """The Keras metric `name` ('accuracy', 'auc', 'f1', 'precision', 'recall')."""
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    binary = num_classes == 2
    if name == "accuracy":
        if binary:
            return keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)  # on logits
        return keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    if name == "auc":
        return ClassAUC(num_classes, name="auc")
    if name == "f1":
        return ClassF1(num_classes, name="f1")
    if name in ("precision", "recall"):
        return ClassPrecisionRecall(num_classes, recall=name == "recall", name=name)
    raise ValueError(f"no Keras metric for {name!r}")


def one_hot_probabilities(y_true, logits, num_classes: int):
    """(class ids, logits) -> (one-hot labels, probabilities), both (batch, num_classes)."""
    labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
    logits = ops.cast(logits, "float32")
    if num_classes == 2:
        p = ops.sigmoid(ops.reshape(logits, (-1, 1)))
        probabilities = ops.concatenate([1.0 - p, p], axis=-1)
    else:
        probabilities = ops.softmax(logits, axis=-1)
    return ops.one_hot(labels, num_classes), probabilities


class _OnLogits(keras.metrics.Metric):
    """In front of a Keras metric that wants one-hot labels and probabilities: it takes class
    ids and logits (`one_hot_probabilities`), and its config leaves out the arguments that
    the wrapper fixes (`fixed`) and keeps `num_classes`."""

    default_name = ""

    def __init__(self, num_classes: int = 2, name: str = "", **kwargs):
        for key in self.fixed(num_classes):
            kwargs.pop(key, None)
        super().__init__(name=name or self.default_name, **self.fixed(num_classes), **kwargs)
        self.num_classes = num_classes

    @staticmethod
    def fixed(num_classes: int) -> dict:
        """The wrapped metric's arguments this class sets."""
        return {}

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels, probabilities = one_hot_probabilities(y_true, y_pred, self.num_classes)
        return super().update_state(labels, probabilities, sample_weight)

    def get_config(self):
        config = super().get_config()
        for key in self.fixed(self.num_classes):
            config.pop(key, None)
        return {**config, "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="sweep")
class ClassAUC(_OnLogits, keras.metrics.AUC):
    """ROC AUC from logits and class ids: macro one-vs-rest (binary AUC for two classes)."""

    default_name = "auc"

    @staticmethod
    def fixed(num_classes: int) -> dict:
        return {"multi_label": True, "num_labels": num_classes}


@keras.saving.register_keras_serializable(package="sweep")
class ClassF1(_OnLogits, keras.metrics.F1Score):
    """Macro F1 over classes from logits and class ids (the predicted class: the argmax)."""

    default_name = "f1"

    @staticmethod
    def fixed(num_classes: int) -> dict:
        return {"average": "macro", "threshold": None}


@keras.saving.register_keras_serializable(package="sweep")
class ClassPrecisionRecall(ClassF1):
    """Precision (or recall) from F1Score's per-class counts: class 1's for two classes,
    the macro mean over classes for more."""

    def __init__(self, num_classes: int = 2, recall: bool = False, name: str = "precision",
                 **kwargs):
        super().__init__(num_classes, name=name, **kwargs)
        self.recall = recall

    def result(self):
        missed = self.false_negatives if self.recall else self.false_positives
        per_class = ops.divide(self.true_positives,
                               self.true_positives + missed + keras.backend.epsilon())
        return per_class[1] if self.num_classes == 2 else ops.mean(per_class)

    def get_config(self):
        return {**super().get_config(), "recall": self.recall}
