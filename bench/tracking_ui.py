"""Screenshots of the MLflow UI showing a sweep, for docs/tracking.md.

Tracks a run folder (`sweep track`, the same content as live tracking) to an MLflow server,
then opens the experiment in headless Chromium (Playwright driving the system's chromium)
and saves two screenshots: the runs table with the sweep's parent run expanded into its
trials, and the chart view of the trials' metrics.

    python bench/tracking_ui.py RUN_DIR [--mlflow URI] [--out docs/img/mlflow_sweep.png]
        [--chart docs/img/mlflow_charts.png] [--chromium /usr/bin/chromium]

Without --mlflow it starts its own server (127.0.0.1, SQLite in a temporary folder).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]


def _click(page, *names: str) -> None:
    """Clicks the first element with one of these accessible names or texts, if any shows."""
    for name in names:
        with contextlib.suppress(Exception):
            page.get_by_text(name, exact=True).first.click(timeout=3000)
            return
        with contextlib.suppress(Exception):
            page.get_by_role("button", name=name).first.click(timeout=3000)
            return


def _open(page, url: str, parent: str) -> None:
    """Opens `url`, closes what covers the runs, and expands the parent into its trials."""
    page.goto(url, timeout=120_000)
    page.wait_for_timeout(8000)
    _click(page, "Got it")
    with contextlib.suppress(Exception):  # the assistant panel takes a third of the width
        page.locator("[aria-label='Close']").last.click(timeout=3000)
    if not page.get_by_text(re.compile(r"^trial \d+$")).first.is_visible():  # expanded before
        button = "button[contains(@data-component-id, 'runnamecellrenderer')]"  # [+] beside the name
        page.locator(f"xpath=//a[contains(@href, '{parent}')]/ancestor::*[.//{button}][1]//{button}"
                     ).first.click(timeout=10_000)
    page.wait_for_timeout(4000)


def shoot(uri: str, experiment_id: str, parent: str, out: Path, chart: Path | None, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": 800})
        _open(page, f"{uri}/#/experiments/{experiment_id}/runs", parent)
        page.screenshot(path=str(out))
        if chart is not None:
            _open(page, f"{uri}/#/experiments/{experiment_id}/runs?compareRunsMode=CHART", parent)
            with contextlib.suppress(Exception):  # the per-epoch validation curves first
                page.get_by_placeholder("Search metric charts").fill("val_", timeout=5000)
                page.wait_for_timeout(3000)
            page.screenshot(path=str(chart))
        browser.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir")
    p.add_argument("--mlflow", metavar="URI")
    p.add_argument("--out", default=str(ROOT / "docs" / "img" / "mlflow_sweep.png"))
    p.add_argument("--chart", default=str(ROOT / "docs" / "img" / "mlflow_charts.png"))
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args()
    from sweep.rundir import RunDir
    from sweep.track.mlflow import Reconciler

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        uri = args.mlflow
        if uri is None:
            from e2e.mlflow_server import MlflowServer

            server = MlflowServer(Path(tmp) / "mlflow").start()
            stack.callback(server.stop)
            uri = server.uri
        reconciler = Reconciler(RunDir(args.run_dir), uri)
        reconciler.sync()
        chart = Path(args.chart) if args.chart else None
        shoot(uri, reconciler.state["experiment_id"], reconciler.state["parent"], Path(args.out), chart,
              args.chromium)
    print(args.out, args.chart)


if __name__ == "__main__":
    main()
