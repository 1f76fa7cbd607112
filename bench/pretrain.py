"""What `embedding_init: lm` costs and buys: pretraining seconds and perplexity, then the same
fine-tuning from the language model and from a random start, side by side.

Runs search_spaces/imdb_pretrained.yaml's architecture as a grid over `embedding_init`
(lm, random) with the recipe's middle fine-tuning values fixed, on a sample
(`--limit-train` reviews; the unlabeled text is sampled to as many), for `--lm-epochs` of
pretraining and `--epochs` of fine-tuning. The LM goes to a cache of its own under OUT (not
the shared one), so every run measures the pretraining.

    python bench/pretrain.py [--limit-train 5000] [--limit-eval 2500] [--lm-epochs 1]
                             [--epochs 3] [--out results/bench_pretrain]

Prints and writes OUT/pretrain_bench.json: the LM's epochs (loss, held-out perplexity,
seconds), each trial's best validation accuracy and seconds, and the best trial's test
accuracy (on `--limit-eval` test reviews; the whole test split with `--limit-eval 0`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit-train", type=int, default=5000)
    ap.add_argument("--limit-eval", type=int, default=2500, help="0: the whole validation and test splits")
    ap.add_argument("--lm-epochs", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench_pretrain")
    args = ap.parse_args()
    os.environ["RNN_SWEEP_CACHE"] = str(args.out / "cache")  # measured, never taken from a cache

    import sweep

    space = yaml.safe_load((ROOT / "search_spaces" / "imdb_pretrained.yaml").read_text())
    space["name"] = "bench_pretrain"
    space["pretrain"]["epochs"] = args.lm_epochs
    space["tuner"].update(algorithm="grid", max_trials=2, epochs=args.epochs)
    space["hyperparameters"].update(embedding_init=["lm", "random"], learning_rate=0.001, lr_decay=1.0,
                                    dropout=0.5, embedding_dropout=0.0, pooling="max")
    start = time.perf_counter()
    run = sweep.run(space, results_dir=args.out, overwrite=True, limit_train=args.limit_train,
                    limit_eval=args.limit_eval or None)
    wall = time.perf_counter() - start
    trials = run.trials
    import pandas as pd

    lm = pd.read_csv(args.out / "bench_pretrain" / "pretrain.csv").to_dict("records")
    test = json.loads((args.out / "bench_pretrain" / "test.json").read_text())
    out = {
        "limit_train": args.limit_train, "limit_eval": args.limit_eval, "lm_epochs": args.lm_epochs,
        "epochs": args.epochs, "wall_seconds": round(wall, 1), "lm": lm,
        "trials": [{"embedding_init": row["embedding_init"], "val_accuracy": row.get("val_accuracy"),
                    "val_loss": row.get("val_loss"), "best_epoch": row.get("best_epoch"),
                    "seconds": row.get("seconds")} for _, row in trials.iterrows()],
        "test": {k: test.get(k) for k in ("trial_id", "test_accuracy", "test_loss", "test_examples")},
    }
    text = json.dumps(out, indent=2, default=str)
    (args.out / "pretrain_bench.json").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
