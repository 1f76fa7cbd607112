"""The lines that say what test.json says: selected trial, validation-to-test drop, baseline."""

from __future__ import annotations

import pandas as pd

from sweep.analysis import verdict

TEST = {"trial_id": "3", "test_accuracy": 0.85, "test_loss": 0.34, "test_examples": 24996,
        "baseline": {"model": "tfidf_logreg", "description": "TF-IDF + LR", "C": 32.0, "seconds": 26.4,
                     "val_accuracy": 0.9016, "test_accuracy": 0.903}}
TRIALS = pd.DataFrame({"trial_id": ["1", "3"], "status": ["COMPLETED", "COMPLETED"],
                       "val_accuracy": [0.80, 0.871]})


def test_the_three_lines():
    lines = verdict.test_lines(TEST, TRIALS)
    assert lines[0] == ("Best trial 3 on the test split (24996 examples, read once): accuracy 0.8500, "
                        "loss 0.3400")
    assert lines[1].startswith("Chosen on validation accuracy 0.8710 among 2 completed trials; "
                               "test is 0.0210 lower")
    assert lines[2] == ("best RNN 0.8500 vs linear baseline 0.9030 on test (TF-IDF + LR, C=32, 26 s): "
                        "the baseline is ahead by 0.0530")


def test_an_rnn_ahead_a_missing_baseline_and_no_test_yet():
    ahead = {**TEST, "test_accuracy": 0.92}
    assert verdict.baseline_line(ahead).endswith("the RNN is ahead by 0.0170")
    no_baseline = {k: v for k, v in TEST.items() if k != "baseline"}
    assert verdict.baseline(no_baseline) is None and len(verdict.test_lines(no_baseline, TRIALS)) == 2
    assert verdict.test_lines(None, TRIALS) == []
    only_baseline = {"baseline": TEST["baseline"]}  # no trial completed
    assert verdict.test_lines(only_baseline, TRIALS) == [
        "linear baseline 0.9030 on test (TF-IDF + LR, C=32, 26 s); no RNN completed"]


def test_confirm_against_the_baseline_by_its_interval():
    confirmed = {"test_accuracy": 0.91, "test_accuracy_ci95": [0.906, 0.914]}
    assert verdict.confirmed_vs_baseline(confirmed, TEST).startswith("It beats the linear baseline (0.9030)")
    confirmed["test_accuracy_ci95"] = [0.899, 0.921]
    assert "lies inside its 95% interval" in verdict.confirmed_vs_baseline(confirmed, TEST)
    confirmed["test_accuracy_ci95"] = [0.880, 0.900]
    assert verdict.confirmed_vs_baseline(confirmed, TEST).startswith("The linear baseline (0.9030) beats it")
    confirmed["test_accuracy_ci95"] = [None, None]
    assert "no interval" in verdict.confirmed_vs_baseline(confirmed, TEST)
    assert verdict.confirmed_vs_baseline(confirmed, {"trial_id": "3"}) is None


def test_length_view_reads_old_and_new_files():
    old = pd.DataFrame({"cell": ["gru"], "bucket": [0], "accuracy": [0.8]})
    assert verdict.length_view(old)[1] == "test"
    new = pd.DataFrame({"split": ["val", "test"], "cell": ["gru", "gru"], "bucket": [0, 0],
                        "accuracy": [0.8, 0.7]})
    cells, split = verdict.length_view(new)
    assert split == "validation" and list(cells.accuracy) == [0.8]
