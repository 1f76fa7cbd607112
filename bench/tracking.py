"""What MLflow tracking costs a sweep, against a local `mlflow server`.

Runs the same sweep (IMDB by default, a few trials) untracked and tracked, alternately, in
this process (`sweep.lifecycle.run_sweep`, as `sweep run` does), against an `mlflow server`
it starts on 127.0.0.1 with a SQLite store in a temporary folder. Reports, per tracked sweep:

- blocked: the seconds the sweep's own thread spent in tracking calls (the nudge after each
  trial, and the wait for the last records at the end);
- tracker CPU: the CPU seconds of the tracking thread (importing MLflow, reading the run
  folder, the HTTP calls), which at worst compete with training for a core;
- bound = (blocked + tracker CPU) / the sweep's seconds: an upper bound of the slowdown;
- the wall-clock difference between the tracked and untracked sweeps (medians), which on a
  shared machine is mostly noise of a few percent either way.

    python bench/tracking.py [--repeats 2] [--trials 4] [--epochs 2] [--limit-train 2000]
        [--limit-eval 1000] [--data tfds:imdb_reviews]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

SPACE = {"cell": ["lstm", "gru"], "vocab_size": 5000, "embedding_dim": 32, "hidden_units": 32,
         "learning_rate": [0.003, 0.01]}


def sweep_config(name: str, args: argparse.Namespace, uri: str | None):
    from sweep.space import config

    raw = {"name": name,
           "data": {"source": args.data, "max_length": 200, "limit_train": args.limit_train,
                    "limit_eval": args.limit_eval},
           "tuner": {"algorithm": "grid", "max_trials": args.trials, "epochs": args.epochs, "seed": 1},
           "hyperparameters": SPACE}
    if uri:
        raw["tracking"] = {"mlflow": uri, "experiment": f"bench-{name}"}
    return config.from_dict(raw)


class Meter:
    """Times the sweep thread's tracking calls and the tracking thread's CPU."""

    def __init__(self):
        from sweep import track

        self.blocked = 0.0
        self.cpu = 0.0
        self.warnings: list[str] = []
        live = track.Live
        meter = self
        original_update, original_close, original_loop = live.update, live.close, live._loop

        def update(self):
            t = time.perf_counter()
            original_update(self)
            meter.blocked += time.perf_counter() - t

        def close(self, *a, **k):
            t = time.perf_counter()
            try:
                return original_close(self, *a, **k)
            finally:
                meter.blocked += time.perf_counter() - t
                if self.warned:
                    meter.warnings.append(str(self.failed))

        def loop(self):
            start = time.thread_time()
            try:
                original_loop(self)
            finally:
                meter.cpu += time.thread_time() - start

        live.update, live.close, live._loop = update, close, loop

    def reset(self) -> None:
        self.blocked, self.cpu, self.warnings = 0.0, 0.0, []


def run_one(name: str, args: argparse.Namespace, folder: Path, uri: str | None) -> float:
    from sweep.lifecycle import RunOptions, run_sweep

    log = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(log):
        run_sweep(sweep_config(name, args, uri), RunOptions(results_dir=folder, overwrite=True),
                  say=log.write)
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--trials", type=int, default=4)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--limit-train", type=int, default=2000)
    p.add_argument("--limit-eval", type=int, default=1000)
    p.add_argument("--data", default="tfds:imdb_reviews")
    args = p.parse_args()
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    from e2e.mlflow_server import MlflowServer

    meter = Meter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        server = MlflowServer(Path(tmp) / "mlflow").start()
        try:
            for r in range(args.repeats):
                for tracked in (False, True):
                    meter.reset()
                    name = f"{'tracked' if tracked else 'plain'}-{r}"
                    seconds = run_one(name, args, Path(tmp) / "results", server.uri if tracked else None)
                    rows.append((tracked, seconds, meter.blocked, meter.cpu, list(meter.warnings)))
                    print(f"{name}: {seconds:.1f} s" + (
                        f", blocked {meter.blocked:.3f} s, tracker CPU {meter.cpu:.2f} s, bound "
                        f"{100 * (meter.blocked + meter.cpu) / seconds:.2f}%" if tracked else ""), flush=True)
                    if meter.warnings:
                        print(f"  tracking warned: {meter.warnings}")
        finally:
            server.stop()
    plain = [s for t, s, *_ in rows if not t]
    tracked = [row for row in rows if row[0]]
    bounds = [100 * (b + c) / s for _, s, b, c, _ in tracked]
    print(f"\n{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"{args.repeats} x ({args.trials} trials x {args.epochs} epochs, {args.data}, "
          f"--limit-train {args.limit_train} --limit-eval {args.limit_eval})")
    print("| sweep | median seconds | sweep thread blocked on tracking | tracking thread CPU | "
          "bound on the overhead |")
    print("|---|---|---|---|---|")
    print(f"| untracked | {statistics.median(plain):.1f} | | | |")
    print(f"| tracked (local server) | {statistics.median(s for _, s, *_ in tracked):.1f} | "
          f"{statistics.median(b for _, _, b, _, _ in tracked):.3f} s | "
          f"{statistics.median(c for _, _, _, c, _ in tracked):.2f} s | "
          f"{statistics.median(bounds):.2f}% (max {max(bounds):.2f}%) |")


if __name__ == "__main__":
    main()
