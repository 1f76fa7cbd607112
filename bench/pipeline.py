"""`make bench`: the harness's pipeline against the TensorFlow tutorial's, as whole processes.

Same IMDB examples (the harness's seeded train / validation split), same model
(Bidirectional LSTM-64, embedding 64, vocab 1000, Adam 1e-3), same epochs, batch 64:

    tutorial           bench/tutorial_rnn.py: strings batched as they come, TextVectorization
                       in the model, each batch padded to its longest review, no cache
    tutorial, no auto  the same with tf.data's autotuner off, as the harness has it
                       (bench/stalls.py): what the rest of the harness's pipeline buys
    harness            `sweep run` on a one-trial space at the default max_length (256)
    harness, full      the same with max_length long enough that nothing is truncated

Each is timed as a whole process (wall clock and CPU seconds, start-up and data loading
included; the harness also evaluates on test and writes its tables and plots). The padded
fraction is that of the training batches, computed from the token lengths by replaying the
batching (random order; length buckets for the harness). Run it with the machine otherwise quiet:
the numbers are only as steady as the CPU is free.

    python bench/pipeline.py [--limit-train N] [--limit-eval N] [--epochs N] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sweep.data.pipeline import bucket_boundaries  # noqa: E402  (numpy only; no TensorFlow)

MODEL = {"cell": "lstm", "bidirectional": True, "vocab_size": 1000, "embedding_dim": 64,
         "hidden_units": 64, "learning_rate": 1e-3, "num_layers": 1, "dropout": 0.0}
BATCH = 64
SEED = 42
# TextVectorization's default standardization, for counting the tutorial's tokens.
_PUNCT = re.compile(r"[!\"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~']")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit-train", type=int, default=10000,
                   help="training examples (default 10000 of the 19,997; 0 = all)")
    p.add_argument("--limit-eval", type=int, default=2000,
                   help="validation (and harness test) examples (default 2000; 0 = all)")
    p.add_argument("--epochs", type=int, default=3, help="default 3")
    p.add_argument("--max-length", type=int, default=256, help="the harness's default cut")
    p.add_argument("--repeats", type=int, default=1, help="runs of each, median reported")
    p.add_argument("--json", metavar="PATH", help="also write the results here")
    args = p.parse_args()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    if "TFDS_DATA_DIR" not in env:
        env["TFDS_DATA_DIR"] = str(ROOT.parent / "shared" / "tensorflow_datasets")
    limit_train = args.limit_train or None
    limit_eval = args.limit_eval or None

    texts = _train_texts(limit_train, limit_eval)
    tutorial_lengths = np.array([len(_PUNCT.sub("", t.lower()).split()) for t in texts])
    full_length = int(tutorial_lengths.max()) + 64  # the harness's tokens are no more

    runs: dict[str, list[dict]] = {"tutorial": [], "tutorial_no_autotune": [], "harness": [],
                                   "harness_full": []}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for r in range(args.repeats):
            print(f"[repeat {r + 1}/{args.repeats}]", flush=True)
            runs["harness"].append(_harness(Path(tmp), args, args.max_length, limit_train,
                                            limit_eval, env))
            runs["tutorial"].append(_tutorial(args, limit_train, limit_eval, tutorial_lengths, env))
            runs["tutorial_no_autotune"].append(
                _tutorial(args, limit_train, limit_eval, tutorial_lengths, env, ("--no-autotune",)))
            runs["harness_full"].append(_harness(Path(tmp), args, full_length, limit_train,
                                                 limit_eval, env))
    rows = {name: _median(rs) for name, rs in runs.items()}
    _print_table(rows, args, len(texts), runs)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "runs": runs}, indent=2))


def _train_texts(limit_train, limit_eval) -> list[str]:
    from sweep.data.sources import load_texts
    from sweep.space.config import DataConfig

    cfg = DataConfig(source="tfds:imdb_reviews", limit_train=limit_train, limit_eval=limit_eval)
    return [str(t) for t in load_texts(cfg, SEED).train.text]


def _timed(cmd: list[str], env: dict, cwd: Path | None = None) -> tuple[float, float, str]:
    """Runs `cmd`; returns its wall seconds, its CPU seconds (user + system) and stdout.

    CPU seconds are the work done, whatever else the machine was doing: on a shared VM
    the wall clock of the same run varies by a third, so both are reported.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd[:4])}... failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, proc.stdout


def _tutorial(args, limit_train, limit_eval, lengths: np.ndarray, env: dict,
              extra: tuple[str, ...] = ()) -> dict:
    cmd = [sys.executable, str(ROOT / "bench" / "tutorial_rnn.py"), "--epochs", str(args.epochs),
           "--seed", str(SEED), "--batch-size", str(BATCH), *extra]
    cmd += ["--limit-train", str(limit_train)] if limit_train else []
    cmd += ["--limit-eval", str(limit_eval)] if limit_eval else []
    seconds, cpu, out = _timed(cmd, env)
    result = json.loads(out.strip().splitlines()[-1])
    return {"seconds": seconds, "cpu_seconds": cpu, "fit_seconds": result["fit_seconds"],
            "val_accuracy": result["val_accuracy"], "train_examples": result["train_examples"],
            "padded_fraction": padded_fraction(lengths, [], BATCH, args.epochs),
            "max_length": None, "truncated": 0}


def _harness(tmp: Path, args, max_length: int, limit_train, limit_eval, env: dict) -> dict:
    name = f"bench_l{max_length}"
    space = {
        "name": name,
        "data": {"source": "tfds:imdb_reviews", "max_length": max_length, "batch_size": BATCH},
        "tuner": {"algorithm": "grid", "max_trials": 1, "epochs": args.epochs,
                  "early_stopping_patience": args.epochs, "seed": SEED},
        "hyperparameters": MODEL,
    }
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(space, sort_keys=False))
    cmd = [sys.executable, "-m", "sweep", "run", str(path), "--results-dir", str(tmp / "results"),
           "--overwrite"]
    cmd += ["--limit-train", str(limit_train)] if limit_train else []
    cmd += ["--limit-eval", str(limit_eval)] if limit_eval else []
    seconds, cpu, _ = _timed(cmd, env, cwd=ROOT)
    run = tmp / "results" / name
    import pandas as pd

    trials = pd.read_csv(run / "trials.csv")
    history = pd.read_csv(run / "history.csv")
    (cache,) = (run / "cache").glob("tokens-*.npz")
    with np.load(cache) as f:
        lengths, raw = f["train_lengths"], f["train_raw_lengths"]
    return {"seconds": seconds, "cpu_seconds": cpu, "fit_seconds": float(trials.fit_seconds.iloc[0]),
            "val_accuracy": float(history.sort_values("epoch").val_accuracy.iloc[-1]),
            "train_examples": len(lengths),
            "padded_fraction": padded_fraction(lengths, bucket_boundaries(lengths), BATCH, args.epochs),
            "max_length": max_length, "truncated": int((raw > lengths).sum())}


def padded_fraction(lengths: np.ndarray, boundaries: list[int], batch_size: int, epochs: int,
                    seed: int = SEED) -> float:
    """Share of padding in the training batches: each batch is padded to its longest.

    Replays `bucket_by_sequence_length` (an example goes to the bucket its length falls in,
    a bucket emits a batch when full, leftovers at the end); no boundaries is plain
    batching in random order, as the tutorial does.
    """
    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths)
    padded = 0
    for _ in range(epochs):
        order = lengths[rng.permutation(len(lengths))]
        bucket = np.searchsorted(np.asarray(boundaries, dtype=np.int64), order, side="right")
        for b in np.unique(bucket):
            member = order[bucket == b]
            for i in range(0, len(member), batch_size):
                chunk = member[i:i + batch_size]
                padded += len(chunk) * int(chunk.max())
    return 1.0 - epochs * int(lengths.sum()) / padded


def _median(rs: list[dict]) -> dict:
    out = dict(rs[len(rs) // 2])
    for key in ("seconds", "cpu_seconds", "fit_seconds", "val_accuracy"):
        out[key] = statistics.median(r[key] for r in rs)
    return out


def _print_table(rows: dict[str, dict], args, n_train: int, runs: dict[str, list[dict]]) -> None:
    tut = rows["tutorial"]
    labels = {"tutorial": "tutorial (TextVectorization in model, pad to longest)",
              "tutorial_no_autotune": "tutorial, tf.data autotuner off",
              "harness": f"harness, max_length {rows['harness']['max_length']}",
              "harness_full": f"harness, max_length {rows['harness_full']['max_length']} (no cut)"}
    print(f"\nIMDB: {n_train} training examples x {args.epochs} epochs, BiLSTM-64, "
          f"vocab 1000, batch {BATCH}; cpus {os.cpu_count()}")
    head = f"{'pipeline':<56} {'seconds':>8} {'CPU s':>8} {'fit s':>8} {'ex/s':>7} " \
           f"{'val acc':>8} {'padded':>7} {'speed-up':>8}"
    print(head)
    print("-" * len(head))
    for key, row in rows.items():
        rate = row["train_examples"] * args.epochs / row["seconds"]
        ratio = tut["seconds"] / row["seconds"]
        print(f"{labels[key]:<56} {row['seconds']:>8.1f} {row['cpu_seconds']:>8.1f} "
              f"{row['fit_seconds']:>8.1f} {rate:>7.1f} {row['val_accuracy']:>8.4f} "
              f"{row['padded_fraction']:>7.1%} {ratio:>7.2f}x")
    for key in ("harness", "harness_full"):
        row = rows[key]
        # Each repeat ran the two side by side: their ratios show how steady the machine was.
        each = ", ".join(f"{t['seconds'] / h['seconds']:.2f}x"
                         for t, h in zip(runs["tutorial"], runs[key]))
        print(f"{labels[key]}: {tut['seconds'] / row['seconds']:.2f}x faster (whole process; "
              f"per repeat {each}), {tut['cpu_seconds'] / row['cpu_seconds']:.2f}x in CPU time, "
              f"{tut['fit_seconds'] / row['fit_seconds']:.2f}x (fit only), val accuracy "
              f"{row['val_accuracy'] - tut['val_accuracy']:+.4f} vs tutorial; "
              f"{row['truncated']} training examples truncated; "
              f"{rows['tutorial_no_autotune']['seconds'] / row['seconds']:.2f}x faster than the "
              "tutorial with its autotuner off")


if __name__ == "__main__":
    main()
