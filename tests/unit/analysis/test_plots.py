"""The plotting functions on small hand-made DataFrames (no training), and `sweep plot`."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from sweep import api, cli
from sweep.analysis import plots, presentation
from sweep.space.hyperparameters import Choice

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLOTS = ["best_curves.png", "hparams.png", "cells.png", "length_accuracy.png"]


def assert_real_png(path: Path, min_side: int = 300) -> None:
    """A PNG that opens, is of a readable size, and is not one flat colour."""
    assert path.is_file()
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = imread(path)
    height, width = pixels.shape[:2]
    assert min(height, width) >= min_side
    rgb = pixels[..., :3]
    assert rgb.std() > 0.05  # text, lines and bars; a blank figure is ~0
    assert (rgb < 0.5).mean() > 0.005  # some dark ink (text, axes)


def make_trials() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for i, (cell, bidi) in enumerate([("simple_rnn", False), ("simple_rnn", True), ("lstm", False),
                                      ("lstm", True), ("gru", False), ("lstm", False)]):
        rows.append({
            "trial_id": str(i), "status": "COMPLETED", "cell": cell, "bidirectional": bidi,
            "learning_rate": float(10 ** rng.uniform(-4, -2)),
            "vocab_size": [1000, 5000, 20000][i % 3],
            "val_accuracy": 0.7 + 0.03 * i, "val_loss": 0.6 - 0.03 * i,
        })
    rows.append({"trial_id": "6", "status": "FAILED", "cell": "gru", "bidirectional": True,
                 "learning_rate": 0.1, "vocab_size": 1000,
                 "val_accuracy": np.nan, "val_loss": np.nan})
    return pd.DataFrame(rows)


def make_history(trials: pd.DataFrame, epochs: int = 4) -> pd.DataFrame:
    rows = []
    for t in trials.itertuples():
        for e in range(1, epochs + 1):
            rows.append({"trial_id": t.trial_id, "epoch": e, "loss": 0.7 / e, "accuracy": 1 - 0.4 / e,
                         "val_loss": 0.7 / e + 0.05, "val_accuracy": 1 - 0.45 / e})
    return pd.DataFrame(rows)


def make_lengths() -> pd.DataFrame:
    rows = []
    edges = [(10, 90), (91, 140), (141, 220), (221, 400), (401, 2400)]
    for cell, bidi, trial, drop in [("simple_rnn", False, "0", 0.06), ("simple_rnn", True, "1", 0.02),
                                    ("lstm", False, "2", 0.01)]:
        for b, (lo, hi) in enumerate(edges):
            rows.append({"cell": cell, "bidirectional": bidi, "trial_id": trial, "bucket": b,
                         "min_tokens": lo, "max_tokens": hi, "examples": 5000,
                         "accuracy": 0.88 - drop * b})
    return pd.DataFrame(rows)


def test_every_plot_writes_a_real_png(tmp_path):
    trials = make_trials()
    written = [
        plots.best_curves(trials, make_history(trials), tmp_path / "best_curves.png", top=3,
                          hp_names=["cell", "bidirectional", "learning_rate"]),
        plots.hparams(trials, tmp_path / "hparams.png",
                      ["cell", "bidirectional", "learning_rate", "vocab_size"]),
        plots.cells(trials, tmp_path / "cells.png"),
        plots.length_accuracy(make_lengths(), tmp_path / "length_accuracy.png", max_length=500),
    ]
    assert written == [tmp_path / name for name in PLOTS]
    for path in written:
        assert_real_png(path)
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_a_minimised_objective_and_a_single_varying_hyperparameter(tmp_path):
    trials = make_trials()
    assert_real_png(plots.cells(trials, tmp_path / "cells.png", objective="val_loss"))
    assert_real_png(plots.hparams(trials, tmp_path / "hparams.png", ["learning_rate"],
                                  objective="val_loss"))
    assert_real_png(plots.best_curves(trials, make_history(trials, epochs=1),
                                      tmp_path / "best.png", objective="val_loss", top=1))


def test_nothing_to_plot_returns_none_and_writes_nothing(tmp_path):
    failed = make_trials()
    failed["status"] = "FAILED"
    history = make_history(failed)
    assert plots.best_curves(failed, history, tmp_path / "a.png") is None
    assert plots.hparams(failed, tmp_path / "b.png", ["cell", "learning_rate"]) is None
    assert plots.cells(failed, tmp_path / "c.png") is None
    assert plots.length_accuracy(make_lengths().iloc[0:0], tmp_path / "d.png") is None
    assert plots.length_accuracy(None, tmp_path / "e.png") is None

    empty = pd.DataFrame(columns=["trial_id", "status", "cell", "val_accuracy"])
    assert plots.best_curves(empty, history.iloc[0:0], tmp_path / "f.png") is None
    assert plots.cells(empty, tmp_path / "g.png") is None
    assert list(tmp_path.iterdir()) == []


def test_hparams_needs_a_hyperparameter_that_varied(tmp_path):
    trials = make_trials()
    trials["cell"] = "lstm"
    assert plots.hparams(trials, tmp_path / "h.png", ["cell"]) is None
    assert plots.hparams(trials, tmp_path / "h.png", []) is None
    assert_real_png(plots.hparams(trials, tmp_path / "h.png", ["cell", "vocab_size"]))


def test_cells_without_a_bidirectional_column(tmp_path):
    trials = make_trials().drop(columns="bidirectional")
    assert_real_png(plots.cells(trials, tmp_path / "cells.png"))


def test_categories_sort_by_value_not_text():
    assert presentation.value_order("vocab_size", pd.Series([20000, 1000, 5000, 1000])) == [1000, 5000, 20000]
    assert presentation.value_order("pooling", pd.Series(["max", "last"])) == ["last", "max"]
    assert presentation.value_order("cell", pd.Series(["gru", "simple_rnn", "lstm"])) == \
        ["simple_rnn", "lstm", "gru"]  # the registry's order
    space = Choice(["max", "last"])
    assert presentation.value_order("pooling", pd.Series(["last", "max"]), space) == ["max", "last"]


def test_sweep_plot_writes_the_four_pngs(small_run, tmp_path, capsys):
    run = Path(shutil.copytree(small_run, tmp_path / "run"))
    for png in run.glob("*.png"):
        png.unlink()
    assert (run / "length_accuracy.csv").exists()

    assert cli.main(["plot", str(run)]) == 0

    printed = capsys.readouterr().out.split()
    assert sorted(Path(p).name for p in printed) == sorted(PLOTS)
    for name in PLOTS:
        assert_real_png(run / name)


@pytest.mark.parametrize("state", ["no trials", "copied without tuner/", "no length_accuracy.csv"])
def test_sweep_plot_writes_what_the_run_allows(small_run, tmp_path, capsys, state):
    run = Path(shutil.copytree(small_run, tmp_path / "run"))
    for png in run.glob("*.png"):
        png.unlink()
    if state != "no length_accuracy.csv":
        shutil.rmtree(run / "tuner")
    if state == "no trials":
        (run / "trials.csv").unlink()
        (run / "history.csv").unlink()
    (run / "length_accuracy.csv").unlink()

    assert cli.main(["plot", str(run)]) == 0

    pngs = sorted(p.name for p in run.glob("*.png"))
    if state == "no trials":
        assert pngs == []
        assert "no completed trials" in capsys.readouterr().err
    else:  # a copy without tuner/ is drawn from its CSVs, as `Run.plot()` and `sweep report` read it
        assert pngs == sorted(set(PLOTS) - {"length_accuracy.png"})
        assert sorted(api.load(run).plot()) == sorted(p.removesuffix(".png") for p in pngs)
