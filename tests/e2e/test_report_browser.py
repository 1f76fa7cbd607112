"""report.html in headless Chromium with the network off: no console error, no request that
is not a local file, every chart drawn, the table sorts and filters, the screenshot is not
blank; on a 2-trial run, a run with failed trials and a 60-trial run (synthetic run folders,
tests/helpers.synthetic_run). Dragging along a parallel-coordinates axis keeps a range.

Skipped when Debian's chromium or the playwright package is missing here; CI (.ci/run)
installs chromium, so there they run.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from browser import CHROMIUM, browser, open_report, playwright_available
from helpers import synthetic_run

from sweep.analysis import report_html

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                       "(apt-get install chromium; .ci/run installs it)"),
    pytest.mark.skipif(not playwright_available(), reason="the playwright package is not installed "
                       "(pip install -e '.[dev]')"),
]

RUNS = {  # name -> (trials, failed)
    "two_trials": (2, 0),
    "with_failures": (20, 6),
    "sixty_trials": (60, 2),
}


@pytest.fixture(scope="module")
def chromium():
    with browser() as b:
        yield b


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("browser")
    return {name: report_html.write_report(synthetic_run(root / name, trials=n, failed=f))
            for name, (n, f) in RUNS.items()}


def column_values(page, index: int) -> list[str]:
    return page.eval_on_selector_all(
        "#leaderboard tbody tr", f"rows => rows.map(r => r.cells[{index}].getAttribute('data-v'))")


@pytest.mark.parametrize("name", list(RUNS))
def test_report_opens_offline_draws_every_chart_and_sorts(chromium, reports, name):
    from PIL import Image

    path = reports[name]
    expected = [k for k, _ in report_html.CHARTS
                if f'id="chart-{k}"' in path.read_text()]
    trials, failed = RUNS[name]
    with open_report(chromium, path) as opened:
        page = opened.page

        assert page.evaluate("document.body.dataset.ready") == "true", opened.errors
        assert opened.errors == []
        assert opened.requests and all(u.startswith("file:") for u in opened.requests), \
            [u for u in opened.requests if not u.startswith("file:")]
        # Every chart the page announced is drawn: plotly.js made its SVG inside each one.
        drawn = page.eval_on_selector_all(
            ".chart", "divs => divs.filter(d => d.querySelector('svg.main-svg')).map(d => d.dataset.chart)")
        assert drawn == expected and {"history", "parallel", "curves", "cells"} <= set(drawn)
        assert ("importance" in drawn) == (trials - failed >= 10)
        assert page.locator("#chart-parallel .parcoords").count() == 1

        # Sorting: the trial id column ascending, then descending, by clicking its heading.
        headings = page.eval_on_selector_all("#leaderboard th", "ths => ths.map(t => t.textContent)")
        tid = headings.index("trial_id")
        before = column_values(page, tid)
        assert len(before) == trials
        page.click(f"#leaderboard th >> nth={tid}")
        ascending = column_values(page, tid)
        page.click(f"#leaderboard th >> nth={tid}")
        descending = column_values(page, tid)
        assert ascending == sorted(before) and descending == sorted(before, reverse=True)
        assert ascending != before or descending != before  # the table really reordered
        # Filtering by status hides the others.
        if failed:
            page.select_option("#filter-status", "FAILED")
            shown = page.eval_on_selector_all("#leaderboard tbody tr",
                                              "rows => rows.filter(r => r.style.display !== 'none').length")
            assert shown == failed
            assert page.locator("#failed-trials tbody tr").count() == failed

        shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
        small = shot.resize((shot.width // 4, shot.height // 4))
        colours = small.getcolors(maxcolors=1 << 20) or []
        white = sum(count for count, rgb in colours if min(rgb) > 245)
        assert len(colours) > 50, "the screenshot is (nearly) one colour"
        assert white < 0.97 * small.width * small.height, "the screenshot is blank"


def test_dragging_along_an_axis_keeps_the_trials_in_that_range(chromium, reports):
    with open_report(chromium, reports["sixty_trials"]) as opened:
        page = opened.page
        page.locator("#chart-parallel").scroll_into_view_if_needed()
        brushes = page.locator("#chart-parallel .axis-brush")
        assert brushes.count() == 7  # six hyperparameters and the objective
        box = brushes.nth(6).bounding_box()  # the objective's axis
        x = box["x"] + box["width"] / 2
        page.mouse.move(x, box["y"] + box["height"] * 0.1)
        page.mouse.down()
        page.mouse.move(x, box["y"] + box["height"] * 0.4, steps=8)
        page.mouse.up()
        page.wait_for_function("document.getElementById('chart-parallel').data[0].dimensions[6]"
                               ".constraintrange !== undefined")
        low, high = page.evaluate("document.getElementById('chart-parallel').data[0].dimensions[6]"
                                  ".constraintrange")
        values = page.evaluate("document.getElementById('chart-parallel').data[0].dimensions[6].values")
        kept = [v for v in values if low <= v <= high]
        assert 0 < len(kept) < len(values)  # a stretch of the axis: some trials, not all
        assert opened.errors == []
