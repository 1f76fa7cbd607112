"""The median pruner: the rule on written curves, and a real sweep that prunes."""

from __future__ import annotations

import json

import pandas as pd
from helpers import make_examples, write_csv, write_space

from sweep.rundir import RunDir
from sweep.search.pruning import MedianPruner


def _trial(run: RunDir, tid: str, values: list[float], status: str = "COMPLETED", pruned: str | None = None):
    folder = run.trial_dir(tid)
    folder.mkdir(parents=True)
    (folder / "trial.json").write_text(json.dumps({"trial_id": tid, "status": status}))
    pd.DataFrame({"epoch": range(1, len(values) + 1), "val_loss": values}).to_csv(folder / "epochs.csv",
                                                                                   index=False)
    (folder / "sweep.json").write_text(json.dumps({"pruned": pruned} if pruned else {}))


def test_a_curve_behind_the_median_stops_one_at_or_ahead_goes_on(tmp_path):
    run = RunDir(tmp_path)
    _trial(run, "0", [0.50, 0.40, 0.35])
    _trial(run, "1", [0.45, 0.42, 0.30])
    _trial(run, "2", [0.30, 0.20, 0.10], pruned="epoch 1: ...")  # pruned: sets no bar
    _trial(run, "3", [0.20, 0.10, 0.05], status="FAILED")  # failed: sets no bar
    pruner = MedianPruner(run, "val_loss", epochs=3)
    pruner.load()
    assert len(pruner.curves) == 2
    # Median best at epoch 1 is 0.475, at epoch 2 min(...) -> 0.40 and 0.42 -> 0.41.
    assert pruner.check([0.48]).startswith("epoch 1: val_loss 0.4800 behind the median 0.4750")
    assert pruner.check([0.47]) is None
    assert pruner.check([0.60, 0.41]) is None  # best so far 0.41: at the median, not behind it
    assert pruner.check([0.60, 0.45]) is not None
    assert pruner.check([0.9, 0.9, 0.9]) is None  # the last epoch: stopping saves nothing


def test_nothing_is_pruned_before_the_startup_trials_and_direction_follows_the_metric(tmp_path):
    run = RunDir(tmp_path)
    _trial(run, "0", [0.6, 0.7])
    pruner = MedianPruner(run, "val_loss", epochs=3)
    pruner.load()
    assert pruner.check([5.0]) is None  # one finished trial is not a median
    acc = RunDir(tmp_path / "acc")
    for tid, values in (("0", [0.6, 0.7]), ("1", [0.7, 0.8])):
        folder = acc.trial_dir(tid)
        folder.mkdir(parents=True)
        (folder / "trial.json").write_text(json.dumps({"trial_id": tid, "status": "COMPLETED"}))
        pd.DataFrame({"val_accuracy": values}).to_csv(folder / "epochs.csv", index=False)
    pruner = MedianPruner(acc, "val_accuracy", epochs=3)
    pruner.load(exclude="1")
    assert len(pruner.curves) == 1
    pruner.load()
    assert pruner.check([0.64]) is not None and pruner.check([0.66]) is None  # higher is better


def test_a_sweep_with_median_pruning_records_where_it_stopped(tmp_path, monkeypatch):
    from sweep.lifecycle import RunOptions, run_sweep
    from sweep.space import config

    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "d.csv", make_examples(200, seed=3))
    # Learning rates from useless to good: the useless ones fall behind after epoch 1.
    space = write_space(tmp_path / "s.yaml", "csv:d.csv",
                        tuner={"algorithm": "grid", "max_trials": 4, "epochs": 3, "pruning": "median",
                               "early_stopping_patience": 3},
                        hyperparameters={"cell": "gru", "vocab_size": 100, "embedding_dim": 8,
                                         "hidden_units": 8, "learning_rate": [0.03, 0.02, 1e-6, 2e-6]},
                        baseline=False)
    cfg = config.load(space)
    outcome = run_sweep(cfg, RunOptions(results_dir=tmp_path / "results"), say=lambda line: None)
    trials = outcome.trials.set_index("trial_id")
    assert "pruned" in trials
    pruned = trials.pruned.dropna()
    assert len(pruned) >= 1 and all(p.startswith("epoch ") for p in pruned)
    assert (trials.loc[pruned.index, "epochs_run"] < 3).all()
    assert trials.loc[pruned.index, "status"].eq("COMPLETED").all()  # ranked like any completed trial
    assert trials.loc[["0", "1"], "pruned"].isna().all()  # the startup trials run their course
