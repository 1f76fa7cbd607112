"""Raw reviews per second for an exported model, against the tutorial's way of feeding it.

    TFDS_DATA_DIR=../shared/tensorflow_datasets .venv/bin/python bench/predict.py EXPORT_DIR

EXPORT_DIR is a `sweep export` folder (docs/benchmarks.md used imdb_best's). On the IMDB
test split (all 24,996 reviews unless --limit), side by side in one process:

- sweep predict: the export's vectorizer once over all texts, then its network on
  batches of similar length (`sweep.serve.predict.Predictor`);
- model.keras as exported: vectorizer inside, every text padded to max_length;
- the tutorial's way: the same vectorizer and network in one model, batches in input
  order padded to their longest text (TextVectorization without output_sequence_length,
  so nothing is cut at max_length either: its predictions can differ on long reviews);

then single-review latency of `Predictor.predict([text])` after a warm-up (p50, p95).
Prints a markdown table; each way is timed after one warm-up batch.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def _texts(limit: int | None, seed: int) -> list[str]:
    import tensorflow_datasets as tfds

    ds = tfds.load("imdb_reviews", split="test", data_dir=os.environ.get("TFDS_DATA_DIR"))
    texts = [t.decode() for t in tfds.as_numpy(ds.map(lambda e: e["text"]))]
    if limit:
        texts = list(np.random.default_rng(seed).choice(np.array(texts, dtype=object), limit, replace=False))
    return texts


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.machine()


def _timed(fn, texts: list[str]) -> tuple[np.ndarray, float]:
    fn(texts[:64])  # warm-up: traces and first allocations
    start = time.perf_counter()
    out = fn(texts)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export_dir")
    parser.add_argument("--limit", type=int, help="a seeded sample of the test split")
    parser.add_argument("--batch-size", type=int, default=256, help="sweep predict's batch size")
    parser.add_argument("--tutorial-batch-size", type=int, default=64, help="the tutorial's BATCH_SIZE")
    parser.add_argument("--latency-reviews", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from sweep.rundir import ExportDir
    from sweep.serve.predict import Predictor

    texts = _texts(args.limit, args.seed)
    predictor = Predictor(ExportDir(args.export_dir))
    exported = keras.saving.load_model(ExportDir(args.export_dir).model_keras)
    vectorizer = exported.get_layer("vectorizer")
    config = vectorizer.get_config()
    unpadded = keras.layers.TextVectorization(standardize=config["standardize"], split=config["split"],
                                              vocabulary=vectorizer.get_vocabulary())
    text = keras.Input(shape=(), dtype="string")
    tutorial = keras.Model(text, predictor.network(unpadded(text)))

    def batched(model, size):
        return lambda xs: np.concatenate([
            np.asarray(model.predict_on_batch(tf.constant(xs[i : i + size])))
            for i in range(0, len(xs), size)])

    ways = {
        f"sweep predict (bucketed, batch {args.batch_size})":
            lambda xs: predictor.predict(xs, args.batch_size),
        f"model.keras as exported (padded to max_length, batch {args.tutorial_batch_size})":
            batched(exported, args.tutorial_batch_size),
        f"tutorial's way (padded to the batch's longest, batch {args.tutorial_batch_size})":
            batched(tutorial, args.tutorial_batch_size),
    }
    rows, reference = [], None
    for name, fn in ways.items():
        probs, seconds = _timed(fn, texts)
        if reference is None:
            reference = probs
        same = float((probs.argmax(1) == reference.argmax(1)).mean())
        diff = float(np.abs(probs - reference).max())
        rows.append((name, len(texts) / seconds, seconds, same, diff))
        print(f"  {name}: {len(texts) / seconds:.0f} reviews/s", flush=True)

    rng = np.random.default_rng(args.seed)
    picks = rng.choice(len(texts), args.latency_reviews + 20, replace=False)
    latencies = []
    for n, i in enumerate(picks):
        start = time.perf_counter()
        predictor.predict([texts[i]])
        if n >= 20:  # after the warm-up
            latencies.append(time.perf_counter() - start)
    p50, p95 = np.percentile(np.array(latencies) * 1000, [50, 95])

    print(f"\nMachine: {_cpu()}, {os.cpu_count()} CPUs; "
          f"TF {tf.__version__}, Keras {keras.__version__}; {len(texts):,} IMDB test reviews\n")
    base = rows[-1][1]
    print("| way | reviews/s | seconds | same class as sweep predict | max prob. difference | speed-up |")
    print("|---|---|---|---|---|---|")
    for name, rate, seconds, same, diff in rows:
        print(f"| {name} | {rate:.0f} | {seconds:.1f} | {same:.4f} | {diff:.1e} | {rate / base:.2f}x |")
    print(f"\nSingle review (sweep predict, {len(latencies)} reviews after 20 warm-up): "
          f"p50 {p50:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
