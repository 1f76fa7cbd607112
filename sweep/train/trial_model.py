"""The hypermodel a sweep's trials build and train: `RNNHyperModel` with the run's data.

KerasTuner calls `fit(hp, model, ...)` on it; it picks the training and validation data
vectorized for the trial's vocab_size and trains with the one routine
(`sweep.model.training`), timing it. `sweep confirm` retrains with the same class.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sweep import metrics
from sweep.progress.events import Say
from sweep.space.config import PretrainConfig

if TYPE_CHECKING:
    from sweep.data.pipeline import SweepData


def hypermodel_class() -> type:
    """The class `SweepHyperModel(space, data, verbose=False, objective="val_accuracy",
    pretrain=PretrainConfig(), say=None)`; `embedding_init: lm` trials start from the
    language model `sweep.train.pretrain` trains (or finds) with `pretrain`, saying how it goes.

    Made on call, so that importing this module imports no Keras.
    """
    from sweep.model.hypermodel import RNNHyperModel

    class SweepHyperModel(RNNHyperModel):
        """RNNHyperModel that trains on the dataset vectorized for its vocab_size."""

        def __init__(self, space, data: SweepData, verbose: bool = False,
                     objective: str = "val_accuracy", pretrain: PretrainConfig | None = None,
                     say: Say | None = None):
            from sweep.train.pretrain import Pretrainer

            pretrain = pretrain or PretrainConfig()
            pretrainer = Pretrainer(pretrain, data, say or (lambda line: None))
            super().__init__(space, num_classes=len(data.class_names),
                             word_vectors=data.word_vectors, metrics=metrics.compiled(objective),
                             encoder_weights=pretrainer.encoder_weights,
                             freeze_epochs=pretrain.freeze_epochs, unfreeze=pretrain.unfreeze)
            self.data = data
            self.verbose = verbose
            self.fit_seconds = 0.0
            self.params: int | None = None

        def fit(self, hp, model, *args, **kwargs):
            vocab = hp.get("vocab_size")
            train = self.data.dataset(vocab, "train")
            val = self.data.dataset(vocab, "val")
            kwargs["verbose"] = 2 if self.verbose else 0
            self.params = model.count_params()
            start = time.perf_counter()
            try:
                # A NaN loss raises training.Diverged, a FailedTrialError: KerasTuner records
                # the trial FAILED with its reason.
                return super().fit(hp, model, train, validation_data=val, **kwargs)
            finally:
                self.fit_seconds = time.perf_counter() - start

    return SweepHyperModel
