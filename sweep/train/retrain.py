"""`sweep confirm`'s retraining: a configuration trained again with a new seed, and scored on test.

Trains with the sweep's own routine (`sweep.model.training`: same callbacks, NaN policy and
best-epoch rule) and the sweep's hypermodel (`sweep.train.trial_model`). TensorFlow is
imported only when a repeat trains, so `sweep.analysis.confirm` stays light.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sweep import metrics
from sweep.errors import DamagedRun
from sweep.metrics import METRIC_COLUMNS
from sweep.progress import Say
from sweep.rundir import RunDir, read_json, writes
from sweep.space.config import SweepConfig
from sweep.train import evaluation


@dataclass(frozen=True)
class Repeat:
    """One retraining of a configuration: which trial, its rank, the repeat's number and seeds."""

    trial_id: str
    rank: int
    repeat: int
    seed: int
    split_seed: int

    def key(self) -> tuple[str, int, int]:
        return (self.trial_id, self.seed, self.split_seed)


class Retrainer:
    """Trains and scores repeats the way the sweep trains its trials."""

    def __init__(self, run: RunDir, cfg: SweepConfig, verbose: bool, say: Say):
        from sweep.train import runtime

        self.run, self.cfg, self.verbose, self.say = run, cfg, verbose, say
        runtime.configure_runtime(cfg.tuner.seed, mixed_precision=False)
        self._data: tuple[int, object] | None = None  # (split seed, SweepData): one at a time

    def data(self, split_seed: int):
        from sweep.data.pipeline import SweepData

        if self._data is None or self._data[0] != split_seed:
            self._data = None  # a resplit's text is freed before the next is loaded
            self._data = (split_seed, SweepData(self.cfg.data, split_seed, self.run))
        return self._data[1]

    def _model(self, repeat: Repeat):
        import keras_tuner as kt

        from sweep.train.trial_model import hypermodel_class

        trial = read_json(RunDir.trial_json(self.run.trial_dir(repeat.trial_id)))
        if not isinstance(trial, dict) or "hyperparameters" not in trial:
            raise DamagedRun(f"{RunDir.trial_json(self.run.trial_dir(repeat.trial_id))}: missing or "
                             "damaged")
        hp = kt.HyperParameters.from_config(trial["hyperparameters"])
        data = self.data(repeat.split_seed)
        hypermodel = hypermodel_class()(self.cfg.hyperparameters, data, verbose=self.verbose,
                                       objective=self.cfg.tuner.objective, pretrain=self.cfg.pretrain,
                                       say=self.say)
        return hp, hypermodel, data

    def train(self, repeat: Repeat, tag: str) -> dict:
        """Trains one repeat; its best epoch's metrics (the sweep's rule) and its weights saved."""
        import keras

        from sweep.model import training

        start = time.perf_counter()
        hp, hypermodel, _ = self._model(repeat)
        keras.utils.set_random_seed(repeat.seed)  # starting weights, dropout and shuffling
        model = hypermodel.build(hp)
        best = training.KeepBest(self.cfg.tuner.objective)
        epoch_lines = _epoch_lines(self.cfg, repeat, tag, self.say)
        callbacks = [*training.callbacks(self.cfg.tuner.objective, self.cfg.tuner.early_stopping_patience,
                                         self.verbose), best, epoch_lines]
        reason = None
        try:
            history = hypermodel.fit(hp, model, epochs=self.cfg.tuner.epochs, callbacks=callbacks)
            epochs = pd.DataFrame(history.history)
        except training.Diverged as e:  # a NaN loss: kept as a failed repeat
            reason = str(e)
            epochs = pd.DataFrame(epoch_lines.logs)
        out: dict = {m: None for m in METRIC_COLUMNS}
        if reason is None and best.epoch is not None:
            # The metrics of the epoch whose weights were kept: the sweep's best epoch.
            at_best = epochs.iloc[best.epoch]
            out.update({m: float(at_best[m]) for m in map(str, epochs.columns) if metrics.is_metric(m)})
            out.update(epochs_run=len(epochs), best_epoch=best.epoch + 1)
            checkpoint = self.run.confirm_checkpoint(repeat.trial_id, repeat.seed, repeat.split_seed)
            # Weights first, then the row: a row in confirm.csv always has its weights.
            writes.save_run_file(self.run, checkpoint, lambda tmp: np.savez(tmp, *best.weights))
        else:
            reason = reason or f"{self.cfg.tuner.objective} was never a finite number"
            out.update(epochs_run=len(epochs), best_epoch=None)
        out.update(seconds=round(time.perf_counter() - start, 3), reason=reason)
        return out

    def score_on_test(self, repeat: Repeat) -> dict:
        """The repeat's best-epoch weights on the test split (of its own split seed)."""
        path = self.run.confirm_checkpoint(repeat.trial_id, repeat.seed, repeat.split_seed)
        if not path.exists():
            raise DamagedRun(f"{path}: missing (the weights of a row of {self.run.confirm_csv.name}); "
                             "delete that row to train it again")
        hp, hypermodel, data = self._model(repeat)
        model = hypermodel.build(hp)
        with np.load(path) as saved:
            model.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])
        return evaluation.score_on_test(model, data, hp.get("vocab_size"))


def _epoch_lines(cfg: SweepConfig, repeat: Repeat, tag: str, say: Say):
    """A line per epoch (a repeat on the full IMDB takes minutes), and the logs kept."""
    import keras

    objective = cfg.tuner.objective

    class EpochLines(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.logs: list[dict] = []
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = {k: float(v) for k, v in (logs or {}).items()}
            self.logs.append(logs)
            value = logs.get(objective)
            shown = f"{objective}={value:.4f}" if value is not None else ""
            say(f"{tag} trial {repeat.trial_id} seed {repeat.seed} epoch {epoch + 1}/{cfg.tuner.epochs}"
                f"  {shown}  {time.perf_counter() - self.start:.1f}s")

    return EpochLines()
