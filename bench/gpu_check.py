"""GPU checks of the hypermodel on the Keras JAX backend (for a GPU machine without TensorFlow).

For every cell x bidirectional (and pooling, and mixed float16) it builds the model with
`RNNHyperModel`, trains on vectorized IMDB (an npz written by `sweep.data.pipeline.vectorize`:
`{split}_ids` flat, `{split}_lengths`, `{split}_labels`), right-padded to max_length, and
records per-epoch seconds, validation accuracy, and whether Keras took the cuDNN kernel
(it calls `jax.experimental.rnn.lstm` only then; counted by wrapping it). A bidirectional
LSTM without a mask is timed too, to show what the cuDNN kernel would buy.

    KERAS_BACKEND=jax python bench/gpu_check.py DATA.npz [--limit-train N] [--out DIR]

Results go to OUT/gpu_check.json, rewritten after every run (so a timeout keeps them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import jax.experimental.rnn as jax_rnn  # noqa: E402
import keras  # noqa: E402
import keras_tuner as kt  # noqa: E402
import numpy as np  # noqa: E402

from sweep.model.hypermodel import RNNHyperModel  # noqa: E402
from sweep.space.config import HYPERPARAMETERS, Fixed  # noqa: E402

CUDNN_CALLS = [0]
_jax_lstm = jax_rnn.lstm


def _counting_lstm(*args, **kwargs):
    # Keras imports jax.experimental.rnn.lstm inside its cuDNN path, at trace time.
    CUDNN_CALLS[0] += 1
    return _jax_lstm(*args, **kwargs)


jax_rnn.lstm = _counting_lstm


def padded(f, split: str, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded (examples, max_length) ids and the labels of one split."""
    lengths = f[f"{split}_lengths"][:limit]
    ids = f[f"{split}_ids"][: int(lengths.sum())]
    x = np.zeros((len(lengths), int(lengths.max())), np.int32)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    cols = np.arange(len(ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    x[rows, cols] = ids
    return x, f[f"{split}_labels"][:limit].astype(np.float32)


class EpochTimes(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(round(time.perf_counter() - self.start, 2))


def hypermodel(vocab: int, **values) -> keras.Model:
    space = {n: Fixed(r.default) for n, r in HYPERPARAMETERS.items()}
    space.update(vocab_size=Fixed(vocab), embedding_dim=Fixed(64), hidden_units=Fixed(64))
    space.update({k: Fixed(v) for k, v in values.items()})
    return RNNHyperModel(space).build(kt.HyperParameters())


def unmasked_bilstm(vocab: int) -> keras.Model:
    """The hypermodel's BiLSTM without mask_zero: the only form Keras sends to cuDNN on JAX."""
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(vocab, 64)(inputs)
    x = keras.layers.Bidirectional(keras.layers.LSTM(64))(x)
    model = keras.Model(inputs, keras.layers.Dense(1, dtype="float32")(x))
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)],
                  jit_compile=True)
    return model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data")
    p.add_argument("--limit-train", type=int, default=6400)
    p.add_argument("--limit-eval", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=2, help="epoch 1 includes XLA compilation")
    p.add_argument("--out", default=os.environ.get("OUT", "."))
    args = p.parse_args()
    with np.load(args.data) as f:
        train = padded(f, "train", args.limit_train)
        val = padded(f, "val", args.limit_eval)
        vocab = int(max(f["train_ids"].max(), f["val_ids"].max())) + 1
    report = {"keras": keras.__version__, "jax": jax.__version__, "backend": keras.backend.backend(),
              "devices": [str(d) for d in jax.devices()], "train_shape": list(train[0].shape),
              "runs": []}
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}), flush=True)
    out = Path(args.out) / "gpu_check.json"

    runs = [dict(cell=c, bidirectional=b) for c in ("lstm", "gru", "simple_rnn") for b in (True, False)]
    runs += [dict(cell="lstm", bidirectional=True, pooling="max"),
             dict(cell="lstm", bidirectional=True, mixed_precision=True),
             dict(cell="gru", bidirectional=True, mixed_precision=True),
             dict(cell="lstm", bidirectional=True, unmasked=True)]
    for run in runs:
        keras.backend.clear_session()
        mixed = run.get("mixed_precision", False)
        keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
        keras.utils.set_random_seed(1)
        CUDNN_CALLS[0] = 0
        row = dict(run)
        try:
            if run.get("unmasked"):
                model = unmasked_bilstm(vocab)
            else:
                values = {k: v for k, v in run.items() if k != "mixed_precision"}
                model = hypermodel(vocab, **values)
            rnn = next(layer for layer in model.layers
                       if isinstance(layer, (keras.layers.Bidirectional, keras.layers.RNN)))
            times = EpochTimes()
            history = model.fit(*train, validation_data=val, batch_size=64, epochs=args.epochs,
                                verbose=0, callbacks=[times])
            row.update(ok=True, epoch_seconds=times.seconds,
                       val_accuracy=round(float(history.history["val_accuracy"][-1]), 4),
                       loss=[round(float(v), 4) for v in history.history["loss"]],
                       rnn_compute_dtype=rnn.compute_dtype, output_dtype=str(model.output.dtype),
                       cudnn_lstm_calls=CUDNN_CALLS[0])
        except Exception as e:  # record and go on: the point is to see what works
            row.update(ok=False, error=f"{type(e).__name__}: {str(e)[:300]}")
        report["runs"].append(row)
        print(json.dumps(row), flush=True)
        out.write_text(json.dumps(report, indent=2))
    keras.mixed_precision.set_global_policy("float32")


if __name__ == "__main__":
    main()
