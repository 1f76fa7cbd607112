"""The size of report.html and the time to write it, on synthetic run folders of N trials.

    .venv/bin/python bench/report.py [--trials 2 60 200] [--repeat 3]

Each run folder is made by tests/helpers.synthetic_run (six hyperparameters, five epochs a
trial, 3% of trials failed): what `sweep run` leaves, with made-up figures. For each size
it prints, as a markdown table: the file's size, and the seconds `write_report` takes in a
process that has written one report already (as at the end of `sweep run`, where pandas and
the run's tables are loaded; the best of --repeat), with the importance's share of it; and
the seconds of a whole `sweep report RUN --html` process (imports included).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers import synthetic_run  # noqa: E402

from sweep.analysis import importance, report_html  # noqa: E402
from sweep.analysis.record import RunRecord  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[2, 60, 200])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    print("| trials | report.html | write_report (in process) | of which importance | "
          "`sweep report --html` (whole process) |")
    print("|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        warm = synthetic_run(Path(tmp) / "warm", trials=12)
        report_html.write_report(warm)  # imports and plotly.js's packing, as after a first report
        for n in args.trials:
            run = synthetic_run(Path(tmp) / f"run{n}", trials=n, failed=max(0, round(n * 0.03)))
            record = RunRecord.read(run)
            best, best_imp = float("inf"), float("inf")
            for _ in range(args.repeat):
                start = time.perf_counter()
                importance.importance(record.trials, record.config)
                best_imp = min(best_imp, time.perf_counter() - start)
                start = time.perf_counter()
                path = report_html.write_report(record)
                best = min(best, time.perf_counter() - start)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "sweep", "report", str(run), "--html"], check=True,
                           capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            whole = time.perf_counter() - start
            print(f"| {n} | {path.stat().st_size / 1e6:.2f} MB | {best:.2f} s | {best_imp:.2f} s | "
                  f"{whole:.1f} s |")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
