"""report.html: what a sweep learnt, as one self-contained page that opens from disk, offline.

    run folder -> trials, history (results) -> importance, figures (report_figures)
               -> one HTML file: summary, leaderboard, charts, failed trials

Everything is inside the file: plotly.js (gzip-compressed and base64-encoded, unpacked by
the browser's own DecompressionStream: 4.8 MB of plotly.min.js becomes 1.9 MB), the
figures as JSON, the style and the few lines of script that sort and filter the table. It
asks nothing of any network. It works on a finished run, one still going, an interrupted
or failed one, and a folder copied without `tuner/` (then from its trials.csv and
history.csv). No TensorFlow.
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import importlib.resources
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sweep import metrics, rundir
from sweep.analysis import importance as importance_mod
from sweep.analysis import presentation as show
from sweep.analysis import report_figures as figs
from sweep.analysis import results, verdict
from sweep.analysis.record import RunRecord
from sweep.metrics import TrialStatus
from sweep.rundir import RunDir, writes

TEMPLATE = Path(__file__).with_name("report_template.html")
# Trials that ended without a model: listed with their reasons.
FAILED = (TrialStatus.FAILED, TrialStatus.INVALID, TrialStatus.UNREADABLE)
# The charts, in page order: (id, section title). A chart with no data is a sentence instead.
CHARTS = [
    ("history", "Optimization history"),
    ("parallel", "Parallel coordinates"),
    ("importance", "Hyperparameter importance"),
    ("hyperparameters", "The objective against each hyperparameter"),
    ("curves", "Learning curves"),
    ("cells", "Cell and direction"),
    ("length", "Accuracy by review length"),
]


@functools.lru_cache(maxsize=1)
def plotly_js_packed() -> str:
    """plotly.min.js, gzip-compressed and base64-encoded (once per process).

    Read where `plotly.offline.get_plotlyjs` reads it, without importing plotly's Python side.
    """
    source = importlib.resources.files("plotly").joinpath("package_data", "plotly.min.js").read_bytes()
    return base64.b64encode(gzip.compress(source, compresslevel=6, mtime=0)).decode()


def write_report(source: RunRecord | RunDir | str | Path, path: str | Path | None = None,
                 imp: importance_mod.Importance | None = None, force: bool = False) -> Path:
    """Writes the run's report.html (atomically, under the write rule); returns its path.

    Args:
        source: the run, as read (`RunRecord`) or its folder (read here).
        path: the file written (default: RUN/report.html).
        imp: `importance.importance` of its trials, when already computed.
        force: replace a file at `path` that sweep did not write (`report --html FILE --force`).
    """
    record = source if isinstance(source, RunRecord) else RunRecord.read(source)
    target = Path(path) if path is not None else record.run.report_html
    page = render(record, imp)
    writes.save_output(target, writes.REPORT, writes.text(page), "--html", force)
    return target


def render(source: RunRecord | RunDir | str | Path, imp: importance_mod.Importance | None = None) -> str:
    """The page's HTML."""
    record = source if isinstance(source, RunRecord) else RunRecord.read(source)
    run, cfg, trials, history = record.run, record.config, record.trials, record.history
    note = None if record.read_only is None else f"{record.read_only}."
    objective = record.objective
    hp_names = record.varying
    selected = record.selected_id()
    specs = cfg.hyperparameters
    imp = imp or importance_mod.importance(trials, cfg)
    by_length = rundir.read_csv(run.length_accuracy_csv, dtype={"trial_id": str})
    built = {
        "history": figs.history(trials, objective, hp_names, selected),
        "parallel": figs.parallel(trials, objective, hp_names, specs),
        "importance": figs.importance(imp, objective),
        "hyperparameters": figs.per_hyperparameter(trials, objective, hp_names, specs, selected),
        "curves": figs.curves(trials, history, objective, hp_names, selected),
        "cells": figs.cells(trials, objective, hp_names),
        "length": figs.by_length(by_length, cfg.data.max_length),
    }
    why_empty = {
        "history": "No trial has ended yet.",
        "parallel": "No completed trial yet, or no hyperparameter varied.",
        "importance": imp.note or "",
        "hyperparameters": "No completed trial yet, or no hyperparameter varied.",
        "curves": "No completed trial with recorded epochs yet.",
        "cells": "No completed trial yet.",
        "length": "Not measured yet: length_accuracy.csv is written with the test evaluation at the "
                  "end of a finished sweep.",
    }
    sections = [_section(key, title, built[key], why_empty[key], _caption(key, imp, objective))
                for key, title in CHARTS]
    figures = {k: figs.tidy(v) for k, v in built.items() if v is not None}
    page = TEMPLATE.read_text(encoding="utf-8")
    parts = {
        "TITLE": html.escape(f"Sweep {cfg.name}: report"),
        "HEADING": html.escape(f"Sweep {cfg.name}"),
        "GENERATED": html.escape(time.strftime("%Y-%m-%d %H:%M:%S %Z")),
        "SUMMARY": _summary(record, selected, note),
        "LEADERBOARD": _leaderboard(trials, objective, hp_names, selected, list(imp.table.hyperparameter)),
        "CHARTS": "\n".join(sections),
        "FAILED": _failed(trials, hp_names),
        "FIGURES": _json(figures).replace("<", "\\u003c"),  # no cell ends the script or opens a comment
        "PLOTLY": plotly_js_packed(),
    }
    for key, value in parts.items():
        page = page.replace(f"@@{key}@@", value)
    return page


def _json(obj) -> str:
    def default(o):
        if isinstance(o, np.generic):
            return o.item()
        if o is pd.NA:
            return None
        raise TypeError(type(o).__name__)

    def clean(o):  # NaN is no JSON: null, which plotly.js draws as a gap
        if isinstance(o, float) and not np.isfinite(o):
            return None
        if isinstance(o, np.floating) and not np.isfinite(o):
            return None
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        return o

    return json.dumps(clean(obj), default=default, separators=(",", ":"))


def _caption(key: str, imp: importance_mod.Importance, objective: str) -> str:
    if key == "importance":
        return ("How much of the spread of the objective each hyperparameter accounts for, by "
                f"{importance_mod.METHOD} over the completed trials. It describes the trials that were "
                "run: a correlation over them, not a causal effect, and only over the ranges searched. "
                f"Bars: the mean of {imp.resamples} bootstrap resamples; whiskers: their 10th to 90th "
                "percentiles. " + imp.ranking_sentence()).strip()
    if key == "parallel":
        return "Drag along any axis to keep the trials in that range; drag again to change it, click "\
               "outside the range to clear it. Colour: " + show.metric_title(objective) + "."
    return ""


def _section(key: str, title: str, figure: dict | None, why_empty: str, caption: str) -> str:
    body = (f'<div class="chart" id="chart-{key}" data-chart="{key}"></div>' if figure is not None
            else f'<p class="empty" data-empty="{key}">{html.escape(why_empty)}</p>')
    note = f'<p class="caption">{html.escape(caption)}</p>' if caption else ""
    return f'<section id="{key}"><h2>{html.escape(title)}</h2>{note}{body}</section>'


def _cell(value) -> tuple[str, str]:
    """(shown text, sort key) of one table cell."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "", ""
    if isinstance(value, (bool, np.bool_)):
        return ("yes" if value else "no"), str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(value), str(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        small_or_large = number and not 1e-3 <= abs(number) < 1e4
        shown = f"{number:.4g}" if small_or_large else f"{number:.4f}".rstrip("0").rstrip(".")
        return shown, repr(number)
    return str(value), str(value)


def _table(frame: pd.DataFrame, titles: dict[str, str], table_id: str, row_attrs=None,
           priority: dict[str, int] | None = None) -> str:
    """`priority`: columns the page may leave out when the table is wider than it (largest first)."""
    ranks = priority or {}
    head = "".join(f'<th title="{html.escape(titles.get(c, c))}" data-col="{i}"'
                   + (f' data-priority="{ranks[c]}"' if c in ranks else "") + f">{html.escape(c)}</th>"
                   for i, c in enumerate(frame.columns))
    body = []
    for i, (_, row) in enumerate(frame.iterrows()):
        cells = "".join('<td data-v="{1}">{0}</td>'.format(*map(html.escape, _cell(v))) for v in row)
        attrs = row_attrs(row) if row_attrs else ""
        body.append(f'<tr data-order="{i}"{attrs}>{cells}</tr>')
    return (f'<table id="{table_id}" class="data"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _titles(columns) -> dict[str, str]:
    from sweep.space.hyperparameters import HYPERPARAMETERS

    out = {c: show.metric_title(c) for c in columns if metrics.is_metric(c)}
    out.update({c: HYPERPARAMETERS[c].doc for c in columns if c in HYPERPARAMETERS})
    out.update(rank="rank among completed trials by the objective", seconds="seconds the trial took",
               epochs_run="epochs trained (early stopping may end a trial early)",
               best_epoch="the epoch whose weights the trial kept")
    return out


def _leaderboard(trials: pd.DataFrame, objective: str, hp_names: list[str], selected: str | None,
                 important: list[str] | None = None) -> str:
    """The table of every trial; `important`: the hyperparameters by importance, kept in view longest.

    Rank, trial and objective always show; where the page is narrower than the table, the
    page's script leaves out the other columns, least important first, until it fits, and
    a "more columns" button brings them back.
    """
    if trials.empty:
        return '<p class="empty">No trial has started yet.</p>'
    board = results.leaderboard(trials, objective, len(trials), hp_names=hp_names)
    extra = [c for c in metrics.metric_columns(objective) if c in trials and c not in board
             and c.startswith("val_")]
    more = trials.set_index("trial_id")[extra + [c for c in ("best_epoch",) if c in trials]]
    board = board.join(more, on="trial_id")
    cols = ["rank", "trial_id", "status", *hp_names, objective, *extra, "test_accuracy", "epochs_run",
            "best_epoch", "seconds"]
    board = board[[c for c in dict.fromkeys(cols) if c in board]]
    statuses = sorted(board.status.dropna().unique())
    cells = sorted(board.cell.dropna().astype(str).unique()) if "cell" in board else []

    by_importance = [n for n in important or [] if n in hp_names]
    by_importance += [n for n in hp_names if n not in by_importance]
    later = ["status", *by_importance, *extra, "test_accuracy", "seconds", "epochs_run", "best_epoch"]
    priority = {c: i for i, c in enumerate(dict.fromkeys(later)) if c != objective}

    def attrs(row):
        chosen = ' class="selected"' if row.trial_id == selected else ""
        return (f' data-trial="{html.escape(str(row.trial_id))}" data-status="{html.escape(str(row.status))}"'
                f' data-cell="{html.escape(str(row.get("cell", "")))}"{chosen}')

    options = "".join(f'<option value="{html.escape(s)}">{html.escape(s)}</option>' for s in statuses)
    cell_options = "".join(f'<option value="{html.escape(c)}">{html.escape(show.value(c))}</option>'
                           for c in cells)
    filters = (f'<label>status <select id="filter-status"><option value="">all</option>{options}'
               '</select></label>')
    if cells:
        filters += (f' <label>cell <select id="filter-cell"><option value="">all</option>{cell_options}'
                    '</select></label>')
    filters += ' <button type="button" id="more-columns" hidden></button>'
    return (f'<div class="filters">{filters} <span id="shown-count"></span></div>'
            f'<p class="caption">Click a column to sort by it (again to reverse). Ranked by '
            f'{html.escape(show.metric_title(objective))}; only completed trials get a rank. '
            'The selected trial is highlighted.</p>'
            + _table(board, _titles(board.columns), "leaderboard", attrs, priority))


def _failed(trials: pd.DataFrame, hp_names: list[str]) -> str:
    bad = trials[trials.status.isin(FAILED)] if not trials.empty else trials
    if bad.empty:
        return '<p class="empty" data-empty="failed">No trial failed.</p>'
    cols = [c for c in ["trial_id", "status", *hp_names, "epochs_run", "reason"] if c in bad]
    return _table(bad[cols].reset_index(drop=True), _titles(cols), "failed-trials")


def _summary(record: RunRecord, selected: str | None, note: str | None) -> str:
    run, cfg, trials, test, objective = record.run, record.config, record.trials, record.test, \
        record.objective
    names = record.class_names()
    seconds = pd.to_numeric(trials.get("seconds", pd.Series(dtype=float)), errors="coerce").sum()
    rows = [
        ("space", f"{cfg.name} (config.yaml in the run folder): "
                  f"{_count(len(cfg.varying()), 'hyperparameter')} varied "
                  f"({', '.join(cfg.varying()) or 'none'})"),
        ("data", cfg.data.source + (f"; {len(names)} classes ({', '.join(names[:10])})" if names else "")),
        ("search", f"{cfg.tuner.algorithm}, up to {_count(cfg.tuner.max_trials, 'trial')} x "
                   f"{_count(cfg.tuner.epochs, 'epoch')}, seed {cfg.tuner.seed}"),
        ("objective", f"{objective}: {show.metric_title(objective)}"),
        ("state", f"sweep {record.state}"),
        ("trials", f"{len(trials)}: {record.status_counts()}"),
        ("time", f"{_duration(seconds)} of trials (added up)"),
    ]
    if selected is not None and not trials.empty and (trials.trial_id == selected).any():
        row = trials[trials.trial_id == selected].iloc[0]
        value = pd.to_numeric(pd.Series([row.get(objective)]), errors="coerce").iloc[0]
        rows.append(("selected trial", f"{show.trial_label(row, cfg.varying())}; {objective} "
                                       f"{value:.4f} at epoch {_cell(row.get('best_epoch'))[0]}"))
    if test.get("test_accuracy") is not None:
        rows.append(("test", f"trial {test['trial_id']} on {test.get('test_examples')} test examples: "
                             f"accuracy {test['test_accuracy']:.4f} (fraction correct, "
                             f"{show.better('accuracy')}), loss {test.get('test_loss', float('nan')):.4f} "
                             f"(cross-entropy, {show.better('loss')}); the test split is scored once, for "
                             "the selected trial"))
    optimism = verdict.optimism_line(test, trials)
    if optimism:
        rows.append(("validation vs test", optimism))
    baseline = verdict.baseline_line(test)
    if baseline:
        rows.append(("linear baseline", baseline))
    if note:
        rows.append(("note", note))
    out = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="summary">{out}</table>' + _confirmed(record) + _pretrained(run)


def _pretrained(run: RunDir) -> str:
    """`embedding_init: lm`: each language model's epochs (pretrain.csv), when the run used one."""
    rows = rundir.read_csv(run.pretrain_csv)
    if rows is None or rows.empty:
        return ""
    seconds = rows.groupby("lm")["seconds"].sum()
    caption = ("Perplexity on held-out windows of its text, after each epoch; pretraining time, "
               + "; ".join(f"{lm}: {s:,.0f} s" for lm, s in seconds.items()) + ".")
    return ('<h3 id="pretraining">Language-model pretraining (embedding_init: lm)</h3>'
            f'<p class="caption">{html.escape(caption)}</p>'
            + _table(rows, {"perplexity": "exp(mean loss) of the next token, full softmax",
                            "loss": "sampled-softmax training loss"}, "pretrain-table"))


def _count(n: int, word: str) -> str:
    """'1 trial', '3 trials'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def _duration(seconds: float) -> str:
    """'42 s', '3.5 minutes', '2.1 hours'."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} minutes" if seconds < 7200 else f"{seconds / 3600:.1f} hours"


def _confirmed(record: RunRecord) -> str:
    """`sweep confirm`'s configurations (mean, sd, interval) and its sentence, when it has run."""
    from sweep.analysis import confirm

    try:
        summary = record.confirm_summary()
    except Exception as e:  # a damaged confirm.csv must not cost the whole page
        return f'<p class="empty">confirm.csv could not be read ({html.escape(str(e))}).</p>'
    if summary is None:
        return ""
    objective, test = record.objective, record.test
    verdict = confirm.overlap_sentence(summary, objective)
    confirmed = test.get("confirmed") or {}
    extra = ""
    if confirmed.get("test_accuracy") is not None:
        extra = (f" The best mean, trial {confirmed.get('trial_id')}, scored "
                 f"{confirmed['test_accuracy']:.4f} on test over its repeats.")
    return ('<h3>sweep confirm: the top configurations retrained with new seeds</h3>'
            f'<p class="caption">{html.escape(verdict + extra)}</p>'
            + _table(summary, _titles(summary.columns), "confirm-table"))
