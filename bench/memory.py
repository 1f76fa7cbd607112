"""Memory across a sweep: does each trial's peak resident memory grow trial after trial?

Runs a tiny 20-trial sweep (`sweep run` in a subprocess) whose trials all build the same
shapes (only the learning rate and dropout vary), so a rise of the per-trial peak
(trials.csv `peak_rss_mb`, the VmHWM high-water mark reset at each trial's start) can
only be memory kept from earlier trials. Prints every trial's peak and the growth from
trial 2 to the last (trial 1 also pays for vectorizing and the first graph traces).

    python bench/memory.py [--trials 20] [--limit-train 500] [--data SOURCE]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--limit-train", type=int, default=500)
    p.add_argument("--limit-eval", type=int, default=200)
    p.add_argument("--data", default="tfds:imdb_reviews")
    p.add_argument("--max-growth", type=float, default=0.15, help="fail above this (default 0.15)")
    p.add_argument("--keep", metavar="DIR", help="run in DIR and keep it (default: a temp dir)")
    args = p.parse_args()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.setdefault("TFDS_DATA_DIR", str(ROOT.parent / "shared" / "tensorflow_datasets"))

    space = {
        "name": "memory",
        "data": {"source": args.data, "max_length": 64, "batch_size": 64},
        "tuner": {"algorithm": "random", "max_trials": args.trials, "epochs": 1, "seed": 1},
        "hyperparameters": {"cell": "lstm", "bidirectional": True, "vocab_size": 1000,
                            "embedding_dim": 32, "hidden_units": 32,
                            "learning_rate": {"min": 1e-4, "max": 1e-2, "sampling": "log"},
                            "dropout": [0.0, 0.1, 0.2, 0.3]},
    }
    with tempfile.TemporaryDirectory(prefix="memory-") as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "memory.yaml"
        path.write_text(yaml.safe_dump(space, sort_keys=False))
        cmd = [sys.executable, "-m", "sweep", "run", str(path), "--results-dir", str(folder),
               "--overwrite", "--limit-train", str(args.limit_train),
               "--limit-eval", str(args.limit_eval)]
        proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-3000:], sep="\n", file=sys.stderr)
            return proc.returncode
        trials = pd.read_csv(folder / "memory" / "trials.csv")
    trials = trials[trials.status == "COMPLETED"].copy()
    trials["n"] = trials.trial_id.astype(int) + 1
    trials = trials.sort_values("n")
    print(trials[["n", "learning_rate", "dropout", "seconds", "overhead_seconds", "peak_rss_mb"]]
          .to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    second, last = trials.peak_rss_mb.iloc[1], trials.peak_rss_mb.iloc[-1]
    growth = last / second - 1
    print(f"\npeak RSS: trial 2 {second:.0f} MiB, trial {trials.n.iloc[-1]} {last:.0f} MiB: "
          f"growth {growth:+.1%} (limit {args.max_growth:.0%}); max over trials 2.. "
          f"{trials.peak_rss_mb.iloc[1:].max():.0f} MiB")
    share = trials.overhead_seconds.sum() / trials.seconds.sum()
    print(f"time outside fit(): {share:.1%} of trial time")
    return 0 if growth < args.max_growth else 1


if __name__ == "__main__":
    sys.exit(main())
