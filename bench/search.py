"""Does the search search? Random, Bayesian and Hyperband at equal budget on real IMDB.

Each algorithm runs the same space (six varying hyperparameters: cell, direction,
learning rate, embedding and hidden sizes, dropout) with the same `max_trials`, once per
sweep seed; every sweep is an ordinary `sweep run` (`sweep.lifecycle.run_sweep`) in a temporary
folder, one after the other in this process. The seed also draws the validation split, so
the three algorithms of one seed are judged on the same data.

Equal budget: random and Bayesian train every trial for `--epochs` (2) epochs. Hyperband
counts a promotion (a trial trained on from another's checkpoint) as a trial, so with the
same `max_trials` it is given `max_epochs` 3 and factor 3: per iteration 3 trials x 1 epoch,
the best of them on to 3 epochs (+2), then 2 trials x 3 epochs: 6 trials, 11 epochs, so 12
trials take 22 epochs against the others' 24. The seconds axis compares them at equal time.

Records, per sweep and trial (in start order), the best validation accuracy so far and the
seconds of training so far (trials.csv `seconds`, so data loading is left out); writes
them as a CSV, plots the median over seeds against trials and against seconds, and prints
a markdown table of the medians for docs/benchmarks.md.

    python bench/search.py [--seeds 5] [--trials 12] [--limit-train 2000] [--limit-eval 500]
        [--csv docs/img/search.csv] [--plot docs/img/search.png]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ALGORITHMS = ("random", "bayesian", "hyperband")

SPACE = {
    "cell": ["lstm", "gru"],
    "bidirectional": [False, True],
    "vocab_size": 5000,
    "embedding_dim": [16, 32, 64],
    "hidden_units": {"min": 16, "max": 64, "step": 16},
    "learning_rate": {"min": 1e-4, "max": 3e-2, "sampling": "log"},
    "dropout": {"min": 0.0, "max": 0.5, "step": 0.1},
}


def sweep_config(algorithm: str, seed: int, args: argparse.Namespace):
    from sweep.space import config

    tuner = {"algorithm": algorithm, "max_trials": args.trials, "epochs": args.epochs,
             "seed": seed, "objective": "val_accuracy"}
    if algorithm == "hyperband":
        tuner.update(epochs=args.hyperband_epochs, hyperband_factor=args.hyperband_factor)
    return config.from_dict({
        "name": f"{algorithm}-{seed}",
        "data": {"source": args.data, "max_length": args.max_length, "batch_size": 64,
                 "limit_train": args.limit_train, "limit_eval": args.limit_eval},
        "tuner": tuner,
        "hyperparameters": SPACE,
    })


def run_one(algorithm: str, seed: int, args: argparse.Namespace, folder: Path) -> pd.DataFrame:
    """One sweep -> one row per trial: best so far by trial index and by seconds."""
    from sweep.lifecycle import RunOptions, run_sweep

    cfg = sweep_config(algorithm, seed, args)
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        outcome = run_sweep(cfg, RunOptions(results_dir=folder, overwrite=True), say=log.write)
    trials = outcome.trials.copy()
    trials["order"] = trials.trial_id.astype(int)
    trials = trials.sort_values("order").reset_index(drop=True)
    score = trials.val_accuracy.where(trials.status == "COMPLETED")
    return pd.DataFrame({
        "algorithm": algorithm, "seed": seed, "trial": np.arange(1, len(trials) + 1),
        "val_accuracy": score, "best_so_far": score.cummax().ffill(),
        "seconds": trials.seconds.fillna(0).cumsum().round(2),
        "epochs": trials.epochs_run.fillna(0).cumsum(),
        "test_accuracy": (outcome.test or {}).get("test_accuracy"),
    })


def medians(frame: pd.DataFrame) -> pd.DataFrame:
    """Median over seeds of the best so far at each trial index, per algorithm."""
    return frame.pivot_table(index="trial", columns="algorithm", values="best_so_far",
                             aggfunc="median")[list(ALGORITHMS)]


def summary(frame: pd.DataFrame) -> str:
    """The markdown table for docs/benchmarks.md, and when each reaches random's final median."""
    med = medians(frame)
    target = med["random"].iloc[-1]
    rows = ["| algorithm | median best val_accuracy after 1/3, 2/3, all trials | "
            f"first trial whose median best >= random's final ({target:.4f}) | "
            "median seconds of training | median epochs | median test accuracy of the winner |",
            "|---|---|---|---|---|---|"]
    n = len(med)
    for algorithm in ALGORITHMS:
        col = med[algorithm]
        at = " / ".join(f"{col.iloc[max(1, round(n * f)) - 1]:.4f}" for f in (1 / 3, 2 / 3, 1))
        reached = col[col >= target - 1e-12]
        first = f"{int(reached.index[0])} of {n}" if len(reached) else f"not within {n}"
        part = frame[frame.algorithm == algorithm]
        last = part.groupby("seed").tail(1)
        rows.append(f"| {algorithm} | {at} | {first} | {last.seconds.median():.0f} | "
                    f"{last.epochs.median():.0f} | {last.test_accuracy.median():.4f} |")
    return "\n".join(rows)


def plot(frame: pd.DataFrame, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.4), layout="constrained")
    by_trial, by_time = fig.subplots(1, 2, sharey=True)
    med = medians(frame)
    for i, algorithm in enumerate(ALGORITHMS):
        color = f"C{i}"
        part = frame[frame.algorithm == algorithm]
        for _, one in part.groupby("seed"):
            by_trial.plot(one.trial, one.best_so_far, color=color, alpha=0.2, lw=1)
            by_time.step(one.seconds, one.best_so_far, where="post", color=color, alpha=0.2, lw=1)
        by_trial.plot(med.index, med[algorithm], color=color, lw=2.5, marker="o", ms=3,
                      label=f"{algorithm} (median of {part.seed.nunique()} seeds)")
        # Median over seeds of the best so far at common times.
        grid = np.linspace(0, part.seconds.max(), 100)
        curves = [np.interp(grid, one.seconds, one.best_so_far, left=np.nan)
                  for _, one in part.groupby("seed")]
        by_time.plot(grid, np.nanmedian(np.vstack(curves), axis=0), color=color, lw=2.5)
    by_trial.axhline(med["random"].iloc[-1], color="0.4", ls=":", lw=1,
                     label="random's final median")
    by_trial.set(xlabel="trial", ylabel="best validation accuracy so far",
                 title="Best so far against trials")
    by_time.set(xlabel="seconds of training (sum of trial times)", title="... and against time")
    for ax in (by_trial, by_time):
        ax.grid(alpha=0.3)
    by_trial.legend(fontsize=8, loc="lower right")
    fig.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5, help="sweep seeds per algorithm (default 5)")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--trials", type=int, default=12, help="max_trials of every sweep (default 12)")
    p.add_argument("--epochs", type=int, default=2, help="epochs per random/Bayesian trial (default 2)")
    p.add_argument("--hyperband-epochs", type=int, default=3)
    p.add_argument("--hyperband-factor", type=int, default=3)
    p.add_argument("--limit-train", type=int, default=2000)
    p.add_argument("--limit-eval", type=int, default=500)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--data", default="tfds:imdb_reviews")
    p.add_argument("--algorithms", default=",".join(ALGORITHMS))
    p.add_argument("--csv", type=Path, default=ROOT / "docs" / "img" / "search.csv")
    p.add_argument("--plot", type=Path, default=ROOT / "docs" / "img" / "search.png")
    p.add_argument("--keep", type=Path, help="keep the run folders here (default: a temp dir)")
    args = p.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TFDS_DATA_DIR", str(ROOT.parent / "shared" / "tensorflow_datasets"))

    frames = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        folder = args.keep or Path(tmp)
        # Seeds outermost: a run cut short still has every algorithm on the seeds done.
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for algorithm in args.algorithms.split(","):
                t0 = time.perf_counter()
                one = run_one(algorithm, seed, args, folder)
                frames.append(one)
                print(f"{algorithm:>9} seed {seed}: best {one.best_so_far.iloc[-1]:.4f} after "
                      f"{len(one)} trials, {one.seconds.iloc[-1]:.0f}s training, "
                      f"{time.perf_counter() - t0:.0f}s in all", flush=True)
                frame = pd.concat(frames, ignore_index=True)
                args.csv.parent.mkdir(parents=True, exist_ok=True)
                frame.to_csv(args.csv, index=False)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    title = (f"IMDB, {args.limit_train} training reviews, max_length {args.max_length}, "
             f"{args.trials} trials per sweep, {args.seeds} seeds ({machine})")
    if set(frame.algorithm) == set(ALGORITHMS):
        plot(frame, args.plot, title)
        print(f"\n{title}; {time.perf_counter() - start:.0f}s in all\n")
        print(summary(frame))
    print(f"\nCSV: {args.csv}" + (f"\nPlot: {args.plot}" if args.plot.exists() else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
