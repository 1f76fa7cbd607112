"""Idle training steps: the harness's pipeline with tf.data's autotuner on and off.

Trains the `make bench` model (Bidirectional LSTM-64, vocab 1000, batch 64) on the harness's
own tf.data pipeline (`SweepData.dataset`, IMDB from ../shared), a few epochs with validation,
one process per setting, the settings alternating. A thread samples the process's CPU time
every 0.1 s: training is CPU-bound, so a sample in which the process used (almost) no CPU
is a moment when every thread waited. Prints, per setting, the epoch times, the idle
seconds and the epochs that stalled for over a second.

The harness keeps the autotuner off (`sweep.data.pipeline.dataset`); "on" re-enables it on the
same pipeline, which is what the harness did before.

    python bench/stalls.py [--limit-train 4000] [--epochs 8] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pipeline import BATCH, MODEL, SEED  # noqa: E402

TICK = 0.1  # seconds between CPU samples
IDLE = 0.01  # CPU seconds in a tick below which the process counts as idle (10% of a core)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit-train", type=int, default=4000)
    p.add_argument("--limit-eval", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=8, help="per process (default 8)")
    p.add_argument("--repeats", type=int, default=2, help="processes per setting (default 2)")
    p.add_argument("--child", choices=["on", "off"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(_train(args, autotune=args.child == "on")), flush=True)
        return

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.setdefault("TFDS_DATA_DIR", str(ROOT.parent / "shared" / "tensorflow_datasets"))
    epochs: dict[str, list[dict]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory(prefix="stalls-") as tmp:
        for r in range(args.repeats):
            for setting in ("on", "off"):
                cmd = [sys.executable, __file__, "--child", setting, "--epochs", str(args.epochs),
                       "--limit-train", str(args.limit_train), "--limit-eval", str(args.limit_eval)]
                out = subprocess.run(cmd, env={**env, "STALLS_CACHE": tmp}, check=True,
                                     capture_output=True, text=True).stdout
                rows = json.loads(out.strip().splitlines()[-1])
                epochs[setting] += rows
                print(f"[repeat {r + 1}/{args.repeats}] autotune {setting}: epoch seconds "
                      + " ".join(f"{e['seconds']:.1f}" for e in rows), flush=True)

    print(f"\nIMDB {args.limit_train} training reviews, BiLSTM-64, vocab 1000, batch {BATCH}; "
          f"epochs after the first of each process; cpus {os.cpu_count()}")
    df = pd.DataFrame([{"autotuner": s, **e} for s, rows in epochs.items() for e in rows])
    table = df.groupby("autotuner", sort=False).agg(
        epochs=("seconds", "size"), median_s=("seconds", "median"), max_s=("seconds", "max"),
        cpu=("cpu_seconds", "sum"), wall=("seconds", "sum"), idle_s=("idle_seconds", "sum"),
        stalled=("longest_idle", lambda x: int((x > 1.0).sum())))
    table.insert(3, "cpu_per_wall", table.pop("cpu") / table.pop("wall"))
    print(table.round(2).to_string())
    print("stalled: epochs in which the process sat idle for over 1 s at a stretch")


def _train(args, autotune: bool) -> list[dict]:
    """Trains in this process; one record per epoch after the first (which traces)."""
    import keras
    import keras_tuner as kt
    import tensorflow as tf

    from sweep.data.pipeline import SweepData
    from sweep.model.hypermodel import RNNHyperModel
    from sweep.rundir import RunDir
    from sweep.space.config import from_dict

    cfg = from_dict({"name": "stalls", "hyperparameters": MODEL,
                     "data": {"source": "tfds:imdb_reviews", "max_length": 256, "batch_size": BATCH,
                              "limit_train": args.limit_train, "limit_eval": args.limit_eval}})
    keras.utils.set_random_seed(SEED)
    data = SweepData(cfg.data, SEED, RunDir(os.environ["STALLS_CACHE"]))  # caches in its cache/
    train, val = data.dataset(MODEL["vocab_size"], "train"), data.dataset(MODEL["vocab_size"], "val")
    if autotune:
        options = tf.data.Options()
        options.autotune.enabled = True
        train, val = train.with_options(options), val.with_options(options)
    model = RNNHyperModel(cfg.hyperparameters).build(kt.HyperParameters())

    samples: list[tuple[float, float]] = []  # (time, CPU seconds used in the tick before it)

    def sample() -> None:
        cpu = time.process_time()
        while True:
            time.sleep(TICK)
            now_cpu = time.process_time()
            samples.append((time.perf_counter(), now_cpu - cpu))
            cpu = now_cpu

    threading.Thread(target=sample, daemon=True).start()
    records: list[dict] = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start, self.cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            end = time.perf_counter()
            idle = [t for t, used in samples if self.start + TICK <= t <= end and used < IDLE]
            records.append({"seconds": end - self.start,
                            "cpu_seconds": time.process_time() - self.cpu,
                            "idle_seconds": len(idle) * TICK,
                            "longest_idle": _longest_run(idle) * TICK})

    model.fit(train, validation_data=val, epochs=args.epochs, verbose=0, callbacks=[Record()])
    return records[1:]


def _longest_run(times: list[float]) -> int:
    """Most consecutive ticks among `times` (sample times, ascending)."""
    best = run = 0
    for prev, t in zip([None, *times], times):
        run = run + 1 if prev is not None and t - prev < 1.5 * TICK else 1
        best = max(best, run)
    return best


if __name__ == "__main__":
    main()
