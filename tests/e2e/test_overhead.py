"""What a sweep does besides fit(): vectorize once, reuse the cache, record memory and time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import write_space

from sweep import cli


@pytest.fixture
def adapt_calls(monkeypatch) -> list:
    """Counts TextVectorization.adapt calls (the costly half of vectorizing)."""
    import keras

    calls: list = []
    original = keras.layers.TextVectorization.adapt

    def counting(self, *args, **kwargs):
        calls.append(self.get_config()["max_tokens"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(keras.layers.TextVectorization, "adapt", counting)
    return calls


def _run(space: Path, results: Path, *flags: str) -> pd.DataFrame:
    assert cli.main(["run", str(space), "--results-dir", str(results), *flags]) == cli.EXIT_OK
    return pd.read_csv(results / "synthetic" / "trials.csv")


def test_vectorizes_once_per_vocab_and_a_resume_reuses_the_cache(tmp_path, synthetic_csv, adapt_calls):
    space = write_space(
        tmp_path / "space.yaml", f"csv:{synthetic_csv}",
        # seed 1: a resumed trial draws a vocabulary the first run cached (asserted below)
        tuner={"algorithm": "random", "max_trials": 3, "epochs": 1, "seed": 1},
        hyperparameters={"cell": "gru", "vocab_size": [50, 100], "embedding_dim": 8,
                         "hidden_units": 8, "learning_rate": {"min": 0.005, "max": 0.02}},
        baseline=False,
    )
    results = tmp_path / "results"
    trials = _run(space, results)
    vocabs = set(trials.vocab_size)
    assert len(trials) == 3
    # One adapt per distinct vocabulary, however many trials used it.
    assert sorted(adapt_calls) == sorted(vocabs)
    cache = results / "synthetic" / "cache"
    assert len(list(cache.glob("tokens-*.npz"))) == len(vocabs)

    adapt_calls.clear()
    # Resuming for more trials: every vocabulary comes from the on-disk cache.
    trials = _run(space, results, "--max-trials", "5")
    assert len(trials) == 5
    resumed = set(trials[trials.trial_id >= 3].vocab_size)
    assert resumed & vocabs  # some new trial reused a vocabulary the first run had cached
    # Only a vocabulary the first run never drew is adapted (once).
    assert sorted(adapt_calls) == sorted(resumed - vocabs)


def test_trials_record_time_outside_fit_and_peak_memory(finished_run):
    trials = pd.read_csv(finished_run / "trials.csv")
    assert (trials.status == "COMPLETED").all()
    np.testing.assert_allclose(trials.seconds, trials.fit_seconds + trials.overhead_seconds, atol=0.01)
    assert (trials.fit_seconds > 0).all() and (trials.overhead_seconds > 0).all()
    # fit() holds its epochs, timed apart by the epoch callbacks, and the trial holds fit().
    history = pd.read_csv(finished_run / "history.csv")
    epochs = history.groupby("trial_id").seconds.sum()
    assert (trials.set_index("trial_id").fit_seconds.sort_index() >= epochs.sort_index() - 0.01).all()
    assert (trials.seconds > trials.fit_seconds).all()
    assert (trials.peak_rss_mb > 50).all()
