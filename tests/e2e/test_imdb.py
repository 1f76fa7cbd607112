"""Tiny sweeps (in-process) on the real IMDB in ../shared, read through tfds.

Skipped when the offline IMDB is not there; the other sources are in unit/test_sources.py.
"""

from __future__ import annotations

import pandas as pd
from helpers import SHARED_TFDS, assert_ran, requires_imdb, tiny_sweep


@requires_imdb
def test_tfds_imdb_with_data_dir(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TFDS_DATA_DIR", raising=False)  # data.data_dir alone must do
    code, out, run_dir = tiny_sweep(
        tmp_path, capsys, "tfds:imdb_reviews/plain_text", "--limit-train", "200", "--limit-eval", "100",
        data={"data_dir": str(SHARED_TFDS)},
    )
    _, test = assert_ran(code, out, run_dir, ["neg", "pos"], test_examples=100)
    # The linear baseline on the same splits, scored once on the same test reviews, said last.
    baseline = test["baseline"]
    assert baseline["test_examples"] == 100 and baseline["train_examples"] == 200
    assert 0.5 < baseline["test_accuracy"] <= 1 and baseline["model"] == "tfidf_logreg"
    assert f"vs linear baseline {baseline['test_accuracy']:.4f} on test" in out
    # Cells are compared by length on validation; test rows only for the selected trial.
    by_length = pd.read_csv(run_dir / "length_accuracy.csv", dtype={"trial_id": str})
    assert set(by_length.split) == {"val", "test"}
    assert set(by_length[by_length.split == "test"].trial_id) == {test["trial_id"]}


@requires_imdb
def test_imdb_word2vec_start_from_unlabeled_reviews(tmp_path, capsys):
    hps = {"cell": "gru", "vocab_size": 500, "embedding_dim": 16, "hidden_units": 8,
           "learning_rate": 0.01, "embedding_init": "word2vec"}
    code, out, run_dir = tiny_sweep(tmp_path, capsys, "tfds:imdb_reviews", "--limit-train", "300",
                                    "--limit-eval", "100",
                                    data={"unlabeled_split": "unsupervised", "data_dir": str(SHARED_TFDS)},
                                    hyperparameters=hps)
    trials, _ = assert_ran(code, out, run_dir, ["neg", "pos"], test_examples=100)
    assert trials.embedding_init.tolist() == ["word2vec"]
    assert len(list((run_dir / "cache").glob("word2vec-*-v500-l32-d16.npy"))) == 1
