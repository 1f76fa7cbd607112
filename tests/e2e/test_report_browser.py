"""report.html in headless Chromium with the network off: no console error, no request that
is not a local file, every chart drawn, the table sorts and filters, the screenshot is not
blank; on a 2-trial run, a run with failed trials and a 60-trial run (synthetic run folders,
tests/helpers.synthetic_run). Dragging along a parallel-coordinates axis keeps a range, and
the leaderboard those trials. Edge cases (issue 30) on run folders written as CSVs: one trial,
numeric choices (a diverged one), all hyperparameters varied: no tick labels overlap, the
leaderboard fits 1280 px, axes fit the data. Each case saves a screenshot in its tmp_path.

Skipped when Debian's chromium or the playwright package is missing here; CI (.ci/run)
installs chromium, so there they run.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
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


def test_dragging_along_an_axis_keeps_the_trials_in_that_range_and_filters_the_leaderboard(chromium, reports,
                                                                                             tmp_path):
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
        # The leaderboard keeps those trials only, and both places say how many.
        page.wait_for_function("(document.getElementById('brush-count') || {}).textContent"
                               f"?.startsWith('{len(kept)} ')", timeout=10_000)
        assert page.inner_text("#shown-count").startswith(f"{len(kept)} of 60 trials")
        assert page.inner_text("#brush-count").startswith(f"{len(kept)} of {len(values)} trials")
        col = page.eval_on_selector_all("#leaderboard th", "ths => ths.map(t => t.textContent)").index(
            "val_accuracy")
        shown = page.eval_on_selector_all("#leaderboard tbody tr", "rows => rows.filter(r => r.offsetParent)"
                                          f".map(r => Number(r.cells[{col}].getAttribute('data-v')))")
        assert sorted(shown) == pytest.approx(sorted(kept))
        screenshot(page, tmp_path, "brushed")
        assert opened.errors == []


# --- Edge cases (issue 30): run folders written as trials.csv, history.csv and config.yaml ---

LEARNING_RATES = [1e38, 0.003, 0.01, 0.03]  # a diverging choice first, as a space file may list it
WIDE_SPACE = {  # all thirteen hyperparameters varied: a leaderboard wider than the page
    "cell": ["simple_rnn", "lstm", "gru"], "bidirectional": [False, True], "vocab_size": [1000, 20000],
    "embedding_dim": [16, 64], "hidden_units": [8, 16, 32, 64, 128, 256, 512, 1024],
    "learning_rate": {"min": 1e-4, "max": 1e-2, "sampling": "log"}, "lr_decay": [0.9, 1.0],
    "num_layers": [1, 2], "dropout": {"min": 0.0, "max": 0.5}, "embedding_init": ["random", "word2vec"],
    "embedding_dropout": [0.0, 0.2], "clipnorm": [0.0, 1.0], "pooling": ["last", "max_mean"],
}
# Tick labels, grouped by the axis they belong to (plotly's cartesian axes, parallel
# coordinates' axes, colour bars), plus every chart's parallel-coordinates axis titles.
OVERLAPS_JS = """() => {
  const groups = new Map();
  const add = (key, t) => { if (!groups.has(key)) groups.set(key, []); groups.get(key).push(t); };
  document.querySelectorAll(".chart").forEach(chart => chart.querySelectorAll("text").forEach(t => {
    if (!t.textContent.trim()) return;
    if (t.classList.contains("axis-title")) return add(chart, t);
    const axis = t.closest("g.xaxislayer-above, g.yaxislayer-above, g.axis-overlays, g.cbaxis");
    if (axis) add(axis, t);
  }));
  const found = [];
  for (const texts of groups.values()) {
    const boxes = texts.map(t => [t.textContent, t.getBoundingClientRect()]);
    boxes.forEach(([a, r], i) => boxes.slice(i + 1).forEach(([b, s]) => {
      const w = Math.min(r.right, s.right) - Math.max(r.left, s.left);
      const h = Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top);
      if (w > 1 && h > 1) found.push(a + " / " + b);
    }));
  }
  return found;
}"""


def csv_run(path: Path, space: dict, trials: list[dict], epochs: int = 1, seed: int = 0) -> Path:
    """A finished run folder without tuner/ (as copied), from its CSVs: no training, milliseconds.

    Each dict of `trials` gives a trial's hyperparameters that varied (missing ones drawn from
    `space`'s lists), and optionally val_accuracy, status, seconds and reason.
    """
    from sweep.space import config

    rng = np.random.default_rng(seed)
    path.mkdir(parents=True)
    cfg = config.from_dict({"name": path.name, "data": {"source": "csv:reviews.csv", "max_length": 16},
                            "tuner": {"algorithm": "random", "max_trials": len(trials), "epochs": epochs,
                                      "seed": seed}, "hyperparameters": space})
    (path / "config.yaml").write_text(cfg.to_yaml())
    (path / "status.json").write_text(json.dumps({"state": "finished", "pid": 0, "host": "vm", "time": 0}))
    rows, history = [], []
    for i, given in enumerate(trials):
        hps = {name: getattr(spec, "value", None) for name, spec in cfg.hyperparameters.items()}
        for name in cfg.varying():
            spec = space[name]
            drawn = rng.choice(spec).item() if isinstance(spec, list) else \
                float(rng.uniform(spec["min"], spec["max"]))
            hps[name] = given.get(name, drawn)
        done = given.get("status", "COMPLETED") == "COMPLETED"
        value = given.get("val_accuracy", round(float(rng.uniform(0.5, 0.9)), 4)) if done else None
        rows.append({"trial_id": f"{i:02d}", "status": given.get("status", "COMPLETED"), **hps,
                     "val_accuracy": value, "val_loss": 0.7 - (value or 0.5) / 2 if done else None,
                     "epochs_run": epochs, "best_epoch": epochs if done else None,
                     "seconds": given.get("seconds", 30.0), "reason": given.get("reason")})
        for e in range(1, epochs + 1 if done else 1):
            history.append({"trial_id": f"{i:02d}", "epoch": e, "loss": 0.6, "accuracy": 0.7,
                            "val_loss": 0.7 - value / 2 + 0.1 / e, "val_accuracy": value - 0.05 / e,
                            "seconds": 1.0})
    pd.DataFrame(rows).to_csv(path / "trials.csv", index=False)
    pd.DataFrame(history, columns=["trial_id", "epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                                   "seconds"]).to_csv(path / "history.csv", index=False)
    return path


@pytest.fixture(scope="module")
def edge_reports(tmp_path_factory, reports) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("edges")
    runs = {
        # one trial of 42 s, one hyperparameter varied
        "one_trial": csv_run(root / "one_trial", {"learning_rate": LEARNING_RATES},
                             [{"learning_rate": 0.01, "val_accuracy": 0.5525, "seconds": 42.0}]),
        # numeric choices: the diverged 1e38 only in a failed trial; 30 epochs
        "choices": csv_run(root / "choices", {"cell": ["lstm", "gru"], "learning_rate": LEARNING_RATES,
                                              "hidden_units": WIDE_SPACE["hidden_units"]},
                           [{"learning_rate": 1e38, "status": "FAILED", "reason": "loss became nan"},
                            {"learning_rate": 0.003, "hidden_units": 8, "val_accuracy": 0.71},
                            {"learning_rate": 0.03, "hidden_units": 1024, "val_accuracy": 0.64},
                            {"learning_rate": 0.01, "hidden_units": 512, "val_accuracy": 0.8},
                            {"learning_rate": 0.01, "hidden_units": 16, "val_accuracy": 0.78}], epochs=30),
        "wide": csv_run(root / "wide", WIDE_SPACE, [{} for _ in range(12)], epochs=3),
    }
    return {**reports, **{name: report_html.write_report(run) for name, run in runs.items()}}


@pytest.fixture(scope="module")
def edge_page(chromium, edge_reports):
    """`edge_page(name)`: that report open at 1280 px, opened once for the tests that read it."""
    with contextlib.ExitStack() as stack:
        opened: dict = {}

        def get(name: str):
            if name not in opened:
                opened[name] = stack.enter_context(open_report(chromium, edge_reports[name], width=1280))
            return opened[name]

        yield get


def layout(page, chart: str) -> dict:
    """The layout plotly.js drew a chart with (ranges and types filled in)."""
    return page.evaluate(f"(() => {{ const l = document.getElementById('chart-{chart}')._fullLayout; "
                         "const out = {}; for (const k in l) if (/^[xy]axis\\d*$/.test(k)) out[k] = "
                         "{type: l[k].type, range: l[k].range, title: (l[k].title || {}).text}; "
                         "return out; })()")


def screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


@pytest.mark.parametrize("name", ["two_trials", "with_failures", "sixty_trials", "one_trial", "choices",
                                  "wide"])
def test_no_tick_labels_overlap_and_the_leaderboard_fits_1280_px(edge_page, name, tmp_path):
    opened = edge_page(name)
    page = opened.page
    assert page.evaluate("document.body.dataset.ready") == "true", opened.errors
    screenshot(page, tmp_path, name)
    assert page.evaluate(OVERLAPS_JS) == []
    box = "document.querySelector('#leaderboard-section .scroll')"
    assert page.evaluate(f"{box}.scrollWidth <= {box}.clientWidth"), "the leaderboard scrolls sideways"
    headings = page.eval_on_selector_all("#leaderboard th", "ths => ths.filter(t => t.offsetParent)"
                                         ".map(t => t.textContent)")
    assert {"rank", "trial_id", "val_accuracy"} <= set(headings)
    if name == "wide":  # columns left out are a click away
        total = page.locator("#leaderboard th").count()
        assert len(headings) < total
        page.click("#more-columns")
        shown = page.eval_on_selector_all("#leaderboard th", "ths => ths.filter(t => t.offsetParent)")
        assert len(shown) == total
        screenshot(page, tmp_path, "wide_more_columns")
        page.click("#more-columns")
        assert page.evaluate(f"{box}.scrollWidth <= {box}.clientWidth")
    assert opened.errors == []


@pytest.mark.parametrize("name", ["one_trial", "two_trials"])
def test_one_or_two_trials_get_sensible_axes_and_words(edge_page, name):
    opened = edge_page(name)  # its screenshot: the test above
    page = opened.page
    history, curves = layout(page, "history"), layout(page, "curves")
    for axis in (history["yaxis"], curves["yaxis"]):  # validation accuracy: within [0, 1]
        assert 0 <= axis["range"][0] < axis["range"][1] <= 1, axis
    assert history["xaxis2"]["range"][0] >= 0  # training time
    assert history["xaxis"]["range"][0] >= 0  # trial number
    assert curves["yaxis2"]["range"][0] >= 0  # validation loss
    values = page.evaluate("document.getElementById('chart-history').data[0].y")
    assert all(history["yaxis"]["range"][0] < v < history["yaxis"]["range"][1] for v in values if v)
    summary = page.inner_text("#summary")
    if name == "one_trial":
        assert "42 s of trials" in summary and "minutes" not in summary
        assert "1 hyperparameter varied" in summary and "up to 1 trial x 1 epoch," in summary
    assert opened.errors == []


def tick_texts(page, chart: str) -> dict[str, list[str]]:
    """Each axis's tick labels as drawn: cartesian axes by their id, parallel axes by title."""
    return page.evaluate(f"""(() => {{
      const chart = document.getElementById('chart-{chart}'), out = {{}};
      chart.querySelectorAll('g.xaxislayer-above, g.yaxislayer-above').forEach(g => {{
        const id = Array.from(g.querySelectorAll('g[class$=tick]')).map(t => t.getAttribute('class'))[0];
        if (id) out[id.replace('tick', '') + '@' + g.closest('g.subplot').getAttribute('class')] =
          Array.from(g.querySelectorAll('text')).map(t => t.textContent); }});
      chart.querySelectorAll('g.axis-overlays').forEach(g => {{
        out[g.querySelector('text.axis-title').textContent] =
          Array.from(g.querySelectorAll('g.tick text')).map(t => t.textContent); }});
      return out; }})()""")


def test_numeric_choices_lie_on_a_number_axis_of_the_values_completed_trials_used(edge_page):
    opened = edge_page("choices")  # its screenshot: the test above
    page = opened.page
    axes = layout(page, "hyperparameters")
    by_title = {a["title"].split(" ")[0]: (k, a) for k, a in axes.items() if k.startswith("xaxis")}
    (lr_id, lr), (_, units) = by_title["learning_rate"], by_title["hidden_units"]
    # The learning rates 0.003 to 0.03 on a log axis; 1e38 (only a failed trial's) left out.
    assert lr["type"] == "log" and "log scale" in lr["title"]
    assert lr["range"][0] <= np.log10(0.003) and np.log10(0.03) <= lr["range"][1] < 0
    assert units["type"] == "log"
    assert units["range"][0] <= np.log10(8) and np.log10(1024) <= units["range"][1]
    dots = page.evaluate("document.getElementById('chart-hyperparameters').data"
                         f".filter(t => t.xaxis === '{lr_id.replace('axis', '')}')[0].x")
    assert sorted(dots) == [0.003, 0.01, 0.01, 0.03]  # the values themselves, not category positions
    ticks = tick_texts(page, "hyperparameters")
    assert not any("38" in t for texts in ticks.values() for t in texts), ticks
    # Parallel coordinates: the same, in powers of ten.
    dims = page.evaluate("document.getElementById('chart-parallel').data[0].dimensions")
    lr_dim = next(d for d in dims if d["label"].startswith("learning_rate"))
    assert "log" in lr_dim["label"]
    assert sorted(lr_dim["values"]) == pytest.approx(sorted(np.log10([0.003, 0.01, 0.01, 0.03])))
    assert all(t <= 0 for t in lr_dim["tickvals"])
    parallel_ticks = tick_texts(page, "parallel")
    lr_ticks = next(v for k, v in parallel_ticks.items() if k.startswith("learning_rate"))
    assert "0.01" in lr_ticks and not any("38" in t for t in lr_ticks), parallel_ticks
    assert page.evaluate(OVERLAPS_JS) == []
    assert opened.errors == []
