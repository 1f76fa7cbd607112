"""Every objective runs a sweep end to end, with two classes and with four."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import make_examples, tiny_sweep, write_csv

from sweep import metrics

NEW = ("auc", "f1", "precision", "recall")


# Each objective once in CI, two classes for two of them and four for the others; the rest
# (each with the other count, and the training metrics' twins) in `make test-battery`.
CI = {("val_auc", 2), ("val_f1", 4), ("val_precision", 4), ("val_recall", 2)}
CASES = [pytest.param(objective, classes, id=f"{objective}-{classes}",
                      marks=() if (objective, classes) in CI else pytest.mark.battery)
         for objective in [f"val_{m}" for m in NEW] + list(NEW) for classes in (2, 4)]


@pytest.mark.parametrize("objective, num_classes", CASES)
def test_objective_ranks_the_sweep(objective, num_classes, tmp_path, capsys):
    rows = [(text, f"c{label}") for text, label in make_examples(240, num_classes=min(num_classes, 3),
                                                                 seed=num_classes)]
    if num_classes == 4:  # a fourth class, cued by its own word
        rows += [(f"w1 w2 brilliant w3 {i}", "c3") for i in range(60)]
    data = write_csv(tmp_path / "data.csv", rows)
    code, out, run = tiny_sweep(
        tmp_path, capsys, f"csv:{data}",
        tuner={"algorithm": "random", "objective": objective, "max_trials": 2, "epochs": 1},
        hyperparameters={"cell": "gru", "vocab_size": 100, "embedding_dim": 8, "hidden_units": 8,
                         "learning_rate": [0.003, 0.01]},
    )
    assert code == 0, out
    trials = pd.read_csv(run / "trials.csv")
    history = pd.read_csv(run / "history.csv")
    name = metrics.split(objective)[1].name
    # The objective and its training twin are recorded beside accuracy and loss.
    for column in (f"val_{name}", name, "val_accuracy", "accuracy", "val_loss"):
        assert trials[column].between(0, 10).all(), column
        assert history[column].notna().all(), column
    assert trials[objective].between(0, 1).all()
    # No other new metric is compiled.
    assert not any(f"val_{m}" in history for m in NEW if m != name)
    # The console line and the leaderboard follow the objective, best first.
    assert f"{objective}=" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["rank", "trial_id"])
    assert objective in lines[header].split()
    best = trials.sort_values(objective, ascending=False).trial_id.iloc[0]
    assert int(lines[header + 1].split()[1]) == int(best)
    assert (run / "hparams.png").exists()
