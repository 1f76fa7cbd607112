"""Time to quality: how good a model each way finds within a wall-clock budget, and what it
scores on test, beside a linear baseline.

For each sweep seed and budget, as whole processes one after the other on this machine:

- harness: `sweep run SPACE --max-time BUDGET --seed SEED` (default: the default space);
  a trial's end time is its trial.json's last write, since the process started;
- peer: KerasTuner's own Hyperband over the TensorFlow tutorial's pipeline
  (`bench/tutorial_tuner.py`), under the same budget, on the same splits;
- linear: TF-IDF (unigrams + bigrams) + logistic regression (`sweep.search.baseline`), its C
  chosen on the same validation split, as one process (it needs no budget: about a minute).

Both searches stop proposing trials when the budget is spent and finish the trial under way.
Best-so-far validation accuracy is recorded against seconds since the process started; the
winner of each sweep is scored once on test. The drop from the winner's validation figure to
its test figure is reported too: the maximum over more trials on one validation split reads
higher. Writes a CSV of every ended trial, a CSV of the sweeps, a plot, and prints the
markdown table of medians over seeds for docs/benchmarks.md.

    python bench/time_to_quality.py [--budgets 5m,15m] [--seeds 42,7,1]
        [--space search_spaces/imdb_rnn.yaml] [--arms harness,peer,linear]
        [--limit-train N --limit-eval N] [--out docs/img/time_to_quality] [--merge]

The full run (2 budgets x 3 seeds x 2 searches, plus the linear fits) needs about 2.5 hours of
a quiet machine; `--budgets 5m --seeds 42` is the small setting.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ARMS = ("harness", "peer", "linear")
LINEAR = """
import json, sys, time
from sweep.data.sources import load_texts
from sweep.search import baseline
from sweep.space import config
cfg = config.load(sys.argv[1], seed=int(sys.argv[2]), limit_train=int(sys.argv[3]) or None,
                  limit_eval=int(sys.argv[4]) or None)
print(json.dumps(baseline.fit_and_score(load_texts(cfg.data, cfg.tuner.seed), cfg.tuner.seed)))
"""


def _env() -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    shared = ROOT.parent / "shared" / "tensorflow_datasets"
    if "TFDS_DATA_DIR" not in env and shared.exists():
        env["TFDS_DATA_DIR"] = str(shared)
    return env


def _limits(args) -> list[str]:
    out = []
    if args.limit_train:
        out += ["--limit-train", str(args.limit_train)]
    if args.limit_eval:
        out += ["--limit-eval", str(args.limit_eval)]
    return out


def run_harness(args, seed: int, budget: float, folder: Path) -> tuple[pd.DataFrame, dict]:
    """One `sweep run` under --max-time: its ended trials by end time, and its test.json."""
    name = f"ttq-{seed}-{int(budget)}"
    start = time.time()
    command = [sys.executable, "-m", "sweep", "run", str(args.space), "--max-time", str(int(budget)),
               "--seed", str(seed), "--results-dir", str(folder), "--name", name, "--overwrite"]
    proc = subprocess.run(command + _limits(args), env=_env(), capture_output=True, text=True)
    wall = time.time() - start
    if proc.returncode != 0:
        raise SystemExit(f"sweep run failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n"
                         f"{proc.stderr[-2000:]}")
    run = folder / name
    trials = pd.read_csv(run / "trials.csv", dtype={"trial_id": str})
    trials = trials[trials.status.isin(["COMPLETED", "FAILED"])].copy()
    trials["seconds"] = [(run / "tuner" / f"trial_{t}" / "trial.json").stat().st_mtime - start
                         for t in trials.trial_id]
    test = json.loads((run / "test.json").read_text())
    events = trials[["seconds", "val_accuracy"]].sort_values("seconds")
    row = trials[trials.trial_id == str(test["trial_id"])].iloc[0]
    summary = {"trials": len(trials), "winner_val_accuracy": float(row.val_accuracy),
               "test_accuracy": float(test["test_accuracy"]), "wall_seconds": round(wall, 1),
               "winner": _describe(row)}
    return events, summary


def _describe(row: pd.Series) -> str:
    keys = ["cell", "bidirectional", "hidden_units", "embedding_dim", "vocab_size", "embedding_init"]
    return " ".join(f"{k}={row[k]}" for k in keys if k in row and pd.notna(row[k]))


def run_peer(args, seed: int, budget: float) -> tuple[pd.DataFrame, dict]:
    start = time.time()
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "tutorial_tuner.py"), "--budget", str(budget),
                           "--seed", str(seed), *_limits(args)], env=_env(), capture_output=True, text=True)
    wall = time.time() - start
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    if proc.returncode != 0 or not lines or lines[-1]["event"] != "end":
        raise SystemExit(f"the peer failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    trials = pd.DataFrame([x for x in lines if x["event"] == "trial" and x["val_accuracy"] is not None])
    end = lines[-1]
    best = trials.val_accuracy.max()
    return trials[["seconds", "val_accuracy"]], {
        "trials": end["trials"], "winner_val_accuracy": float(best), "test_accuracy": end["test_accuracy"],
        "wall_seconds": round(wall, 1), "winner": ""}


def run_linear(args, seed: int) -> tuple[pd.DataFrame, dict]:
    start = time.time()
    command = [sys.executable, "-c", LINEAR, str(args.space), str(seed), str(args.limit_train or 0),
               str(args.limit_eval or 0)]
    proc = subprocess.run(command, env=_env(), capture_output=True, text=True)
    wall = time.time() - start
    if proc.returncode != 0:
        raise SystemExit(f"the linear baseline failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return pd.DataFrame({"seconds": [round(wall, 1)], "val_accuracy": [result["val_accuracy"]]}), {
        "trials": 1, "winner_val_accuracy": result["val_accuracy"], "test_accuracy": result["test_accuracy"],
        "wall_seconds": round(wall, 1), "winner": f"C={result['C']:g}"}


def table(sweeps: pd.DataFrame) -> str:
    """Medians over seeds, per budget and arm: the markdown table for docs/benchmarks.md."""
    rows = ["| budget | way | seeds | median trials | median winner val accuracy | median test accuracy "
            "(min-max) | median val -> test drop | median wall s |", "|---|---|---|---|---|---|---|---|"]
    for (budget, arm), g in sweeps.groupby(["budget", "arm"], sort=False):
        drop = (g.winner_val_accuracy - g.test_accuracy).median()
        rows.append(f"| {budget} | {arm} | {len(g)} | {g.trials.median():.0f} | "
                    f"{g.winner_val_accuracy.median():.4f} | {g.test_accuracy.median():.4f} "
                    f"({g.test_accuracy.min():.4f}-{g.test_accuracy.max():.4f}) | {drop:+.4f} | "
                    f"{g.wall_seconds.median():.0f} |")
    return "\n".join(rows)


def plot(events: pd.DataFrame, sweeps: pd.DataFrame, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    budgets = list(dict.fromkeys(events.budget))
    fig = Figure(figsize=(5.5 * len(budgets), 4.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(budgets), sharey=True))
    colors = {"harness": "C0", "peer": "C1", "linear": "C2"}
    for ax, budget in zip(axes, budgets):
        part = events[events.budget == budget]
        for arm in ("harness", "peer"):
            for seed, one in part[part.arm == arm].groupby("seed"):
                one = one.sort_values("seconds")
                end = sweeps[(sweeps.arm == arm) & (sweeps.seed == seed) & (sweeps.budget == budget)]
                x, y = list(one.seconds), list(one.val_accuracy.cummax())
                if len(end) and x:  # on to the end of the process: the sweep's result stood until then
                    x, y = x + [float(end.wall_seconds.iloc[0])], y + [y[-1]]
                ax.step(x, y, where="post", color=colors[arm], alpha=0.8, marker="o", markevery=list(
                    range(len(one))), label=f"{arm} (seed {seed}): test {end.test_accuracy.iloc[0]:.4f}"
                    if len(end) else f"{arm} (seed {seed})")
        lin = sweeps[(sweeps.arm == "linear") & (sweeps.budget == budget)]
        if len(lin):
            ax.axhline(lin.winner_val_accuracy.median(), color=colors["linear"], ls="--",
                       label=f"linear baseline (validation; test {lin.test_accuracy.median():.4f})")
        ax.set(xlabel="seconds since the process started", title=f"budget {budget}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("best validation accuracy so far")
    fig.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def _merge(out: Path, events: pd.DataFrame, sweeps: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Earlier runs' rows at `out` plus this run's, this run's standing where both have a sweep."""
    key = ["arm", "seed", "budget"]
    merged = []
    for new, suffix in ((events, "_trials.csv"), (sweeps, "_sweeps.csv")):
        path = out.with_name(out.name + suffix)
        if not path.exists():
            merged.append(new)
            continue
        old = pd.read_csv(path)
        ran = sweeps[key].astype(str).agg("|".join, axis=1)
        keep = ~old[key].astype(str).agg("|".join, axis=1).isin(set(ran))
        merged.append(pd.concat([old[keep], new], ignore_index=True))
    return merged[0], merged[1]


def main() -> int:
    from sweep.space.allowed import parse_duration

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budgets", default="5m,15m")
    p.add_argument("--seeds", default="42,7,1")
    p.add_argument("--space", type=Path, default=ROOT / "search_spaces" / "imdb_rnn.yaml")
    p.add_argument("--arms", default=",".join(ARMS))
    p.add_argument("--limit-train", type=int)
    p.add_argument("--limit-eval", type=int)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "time_to_quality")
    p.add_argument("--keep", type=Path, help="keep the harness's run folders here")
    p.add_argument("--merge", action="store_true",
                   help="add this run's sweeps to --out's CSVs of earlier runs "
                        "(the same arm, seed and budget: replaced)")
    p.add_argument("--replot", action="store_true",
                   help="redraw the plot and the table from --out's CSVs of an earlier run, running nothing")
    args = p.parse_args()
    if args.replot:
        events = pd.read_csv(args.out.with_name(args.out.name + "_trials.csv"))
        sweeps = pd.read_csv(args.out.with_name(args.out.name + "_sweeps.csv"))
        title = f"{args.space.name}: best validation accuracy so far"
        plot(events, sweeps, args.out.with_suffix(".png"), title)
        print(table(sweeps))
        return 0
    arms = args.arms.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    budgets = args.budgets.split(",")
    all_events, all_sweeps = [], []
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ttq-"))
    for i, seed in enumerate(seeds):
        if "linear" in arms:
            events, summary = run_linear(args, seed)
            for budget in budgets:  # the same fit stands beside every budget
                all_events.append(events.assign(arm="linear", seed=seed, budget=budget))
                all_sweeps.append({"arm": "linear", "seed": seed, "budget": budget, **summary})
            print(json.dumps(all_sweeps[-1]), flush=True)
        for budget in budgets:
            seconds = parse_duration(budget)
            searches = [a for a in ("harness", "peer") if a in arms]
            for arm in (searches if i % 2 == 0 else searches[::-1]):  # alternate who goes first
                events, summary = (run_harness(args, seed, seconds, folder) if arm == "harness"
                                   else run_peer(args, seed, seconds))
                all_events.append(events.assign(arm=arm, seed=seed, budget=budget))
                all_sweeps.append({"arm": arm, "seed": seed, "budget": budget, **summary})
                print(json.dumps(all_sweeps[-1]), flush=True)
    events = pd.concat(all_events, ignore_index=True)
    sweeps = pd.DataFrame(all_sweeps)
    if args.merge:
        events, sweeps = _merge(args.out, events, sweeps)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    events.to_csv(args.out.with_name(args.out.name + "_trials.csv"), index=False)
    sweeps.to_csv(args.out.with_name(args.out.name + "_sweeps.csv"), index=False)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    plot(events, sweeps, args.out.with_suffix(".png"),
         f"{args.space.name}: best validation accuracy so far ({machine}; "
         f"{'limit-train ' + str(args.limit_train) if args.limit_train else 'full IMDB'})")
    print(table(sweeps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
