"""The linear baseline on tiny synthetic splits: fitted on train, C chosen on validation, test once."""

from __future__ import annotations

import numpy as np
from helpers import make_examples

from sweep.data.corpus import Split, TextSplits
from sweep.search import baseline


def _splits(num_classes: int = 2) -> TextSplits:
    rows = make_examples(400, num_classes=num_classes, seed=5)
    text = np.array([t for t, _ in rows], dtype=object)
    labels = np.array([y for _, y in rows])
    part = lambda a, b: Split(text[a:b], labels[a:b])  # noqa: E731
    return TextSplits(part(0, 240), part(240, 320), part(320, 400),
                      [str(i) for i in range(num_classes)], "f1")


def test_it_learns_the_cue_words_and_reports_what_it_did():
    result = baseline.fit_and_score(_splits(), seed=0)
    assert result["test_accuracy"] > 0.9 and result["val_accuracy"] > 0.9
    assert result["C"] in baseline.C_GRID
    assert result["train_examples"] == 240 and result["test_examples"] == 80
    assert result["fingerprint"] == "f1" and result["features"] > 40
    assert 0 < result["test_loss"] < 0.7


def test_three_classes_and_the_same_result_twice():
    splits = _splits(3)
    first, second = baseline.fit_and_score(splits, seed=0), baseline.fit_and_score(splits, seed=0)
    assert first["test_accuracy"] > 0.8
    assert {k: v for k, v in first.items() if k != "seconds"} == \
        {k: v for k, v in second.items() if k != "seconds"}
