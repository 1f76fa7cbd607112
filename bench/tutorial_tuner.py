"""The peer of `bench/time_to_quality.py`: KerasTuner's own Hyperband over the TensorFlow
tutorial's pipeline, written as the KerasTuner guide teaches it, as one process.

- data: the harness's own train / validation / test split (`sweep.data.sources.load_texts`,
  same seed), so both sides are selected on the same 5,000 validation reviews and scored on
  the same test split; raw strings batched as they come, TextVectorization inside the model
  (every batch padded to its longest review), as in "Text classification with an RNN";
- the search: a model-building function over the old default space's ranges (SimpleRNN,
  LSTM or GRU, one-way or bidirectional, vocabulary, embedding and hidden sizes, learning
  rate, 1-2 layers, dropout 0.2), `keras_tuner.Hyperband(max_epochs=5, factor=3)` on
  `val_accuracy` with early stopping (patience 2), as the guide's examples do;
- the budget: KerasTuner has none in time, so the oracle proposes no trial once `--budget`
  seconds have passed (the trial running goes on), as `sweep run --max-time` does;
- test: the best trial's model is scored once on the test split.

Prints one JSON line per ended trial ({"event": "trial", "seconds": since the process
started, "val_accuracy": its best}) and a last one with the winner's test accuracy.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

START = time.monotonic()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, required=True, help="seconds of search")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--limit-train", type=int, default=None)
    p.add_argument("--limit-eval", type=int, default=None)
    p.add_argument("--max-trials", type=int, default=20)
    args = p.parse_args()

    import keras
    import keras_tuner as kt
    import numpy as np
    import tensorflow as tf

    from sweep.data.sources import load_texts
    from sweep.space.config import DataConfig

    keras.utils.set_random_seed(args.seed)
    splits = load_texts(DataConfig(source="tfds:imdb_reviews", limit_train=args.limit_train,
                                   limit_eval=args.limit_eval), args.seed)

    def strings(split, shuffle=False):
        ds = tf.data.Dataset.from_tensor_slices((split.text.astype(str), split.labels))
        if shuffle:
            ds = ds.shuffle(10000, seed=args.seed)
        return ds.batch(64).prefetch(tf.data.AUTOTUNE)

    train, val, test = strings(splits.train, True), strings(splits.val), strings(splits.test)
    encoders: dict[int, keras.layers.TextVectorization] = {}

    def encoder(vocab_size: int):
        # Adapted once per vocabulary size, as a user would cache it outside the builder.
        if vocab_size not in encoders:
            layer = keras.layers.TextVectorization(max_tokens=vocab_size)
            layer.adapt(train.map(lambda text, label: text))
            encoders[vocab_size] = layer
        return encoders[vocab_size]

    cells = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}

    def build(hp):
        vocab = hp.Choice("vocab_size", [1000, 5000, 10000, 20000])
        cell = cells[hp.Choice("cell", list(cells))]
        bidirectional = hp.Boolean("bidirectional")
        units = hp.Int("hidden_units", 16, 128, step=16)
        layers = hp.Choice("num_layers", [1, 2])
        enc = encoder(vocab)
        model = keras.Sequential([enc, keras.layers.Embedding(
            len(enc.get_vocabulary()), hp.Int("embedding_dim", 16, 256, step=16), mask_zero=True)])
        for i in range(layers):
            rnn = cell(units, dropout=0.2, return_sequences=i < layers - 1)
            model.add(keras.layers.Bidirectional(rnn) if bidirectional else rnn)
        model.add(keras.layers.Dense(1))
        model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True),
                      optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")),
                      metrics=[keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)])
        return model

    class BudgetHyperband(kt.oracles.HyperbandOracle):
        def populate_space(self, trial_id):
            if time.monotonic() - START >= args.budget:
                return {"status": "STOPPED", "values": None}
            return super().populate_space(trial_id)

    class Reporting(kt.Hyperband):
        def __init__(self, oracle, **kwargs):
            # Hyperband's own __init__ makes its oracle; this one has the budget.
            kt.Tuner.__init__(self, oracle=oracle, **kwargs)

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            value = trial.metrics.get_best_value("val_accuracy") if trial.metrics.exists("val_accuracy") \
                else None
            print(json.dumps({"event": "trial", "trial_id": trial.trial_id, "status": trial.status,
                              "seconds": round(time.monotonic() - START, 1),
                              "val_accuracy": None if value is None else float(value)}), flush=True)

    oracle = BudgetHyperband(objective=kt.Objective("val_accuracy", "max"), max_epochs=5, factor=3,
                             hyperband_iterations=10, seed=args.seed)
    with tempfile.TemporaryDirectory() as folder:
        tuner = Reporting(hypermodel=build, oracle=oracle, directory=folder, project_name="peer")
        stop = keras.callbacks.EarlyStopping("val_accuracy", patience=2, restore_best_weights=True)
        tuner.search(train, validation_data=val, callbacks=[stop], verbose=0)
        best = tuner.get_best_models(1)[0]
        logits = np.concatenate([best.predict_on_batch(x) for x, _ in test])[:, 0]
        accuracy = float(((logits > 0).astype(int) == splits.test.labels).mean())
        trials = len(tuner.oracle.trials)
    print(json.dumps({"event": "end", "seconds": round(time.monotonic() - START, 1),
                      "test_accuracy": accuracy, "trials": trials,
                      "test_examples": int(len(splits.test))}), flush=True)


if __name__ == "__main__":
    main()
