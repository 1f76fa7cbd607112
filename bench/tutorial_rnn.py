"""The TensorFlow tutorial's pipeline, run as one process for `bench/pipeline.py`.

"Text classification with an RNN" (tensorflow.org/text/tutorials/text_classification_rnn):
raw strings batched as they come, TextVectorization inside the model (so every batch is
padded to its longest review), no cache. Two deliberate differences, so the comparison
is about the pipeline and nothing else:

- the examples are the harness's own train / validation split (same seed, same limits),
  loaded with `sweep.data.sources.load_texts`, so both validate on the same reviews;
- the model is the harness's (Embedding -> Bidirectional LSTM -> Dense(1 logit)), without
  the tutorial's extra Dense(64, relu), with Adam 1e-3.

`--no-autotune` turns tf.data's autotuner off, as the harness does (a second bench row).

Prints one JSON line: fit seconds, the last epoch's validation accuracy, sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit-train", type=int, default=None)
    p.add_argument("--limit-eval", type=int, default=None)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--vocab-size", type=int, default=1000)
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--embedding-dim", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--no-autotune", action="store_true",
                   help="turn tf.data's autotuner off, as the harness does (bench/stalls.py)")
    args = p.parse_args()

    import keras
    import tensorflow as tf

    from sweep.data.sources import load_texts
    from sweep.space.config import DataConfig

    keras.utils.set_random_seed(args.seed)
    cfg = DataConfig(source="tfds:imdb_reviews", limit_train=args.limit_train,
                     limit_eval=args.limit_eval, batch_size=args.batch_size)
    splits = load_texts(cfg, args.seed)

    def strings(split):
        return tf.data.Dataset.from_tensor_slices((split.text.astype(str), split.labels))

    # As in the tutorial: shuffle(10000).batch(64).prefetch(AUTOTUNE) on raw strings.
    train = strings(splits.train).shuffle(10000).batch(args.batch_size).prefetch(tf.data.AUTOTUNE)
    val = strings(splits.val).batch(args.batch_size).prefetch(tf.data.AUTOTUNE)
    if args.no_autotune:
        options = tf.data.Options()
        options.autotune.enabled = False
        train, val = train.with_options(options), val.with_options(options)

    encoder = keras.layers.TextVectorization(max_tokens=args.vocab_size)
    encoder.adapt(train.map(lambda text, label: text))
    model = keras.Sequential([
        encoder,
        keras.layers.Embedding(len(encoder.get_vocabulary()), args.embedding_dim, mask_zero=True),
        keras.layers.Bidirectional(keras.layers.LSTM(args.units)),
        keras.layers.Dense(1),
    ])
    model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.Adam(1e-3),
                  metrics=[keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)])
    start = time.perf_counter()
    history = model.fit(train, epochs=args.epochs, validation_data=val, verbose=0)
    fit_seconds = time.perf_counter() - start
    print(json.dumps({
        "fit_seconds": fit_seconds,
        "val_accuracy": float(history.history["val_accuracy"][-1]),
        "train_examples": len(splits.train),
        "val_examples": len(splits.val),
    }), flush=True)


if __name__ == "__main__":
    main()
