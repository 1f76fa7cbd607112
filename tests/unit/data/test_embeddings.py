"""word2vec starts: vectors that follow co-occurrence, line up with token ids, cached per run."""

from __future__ import annotations

import numpy as np
from helpers import numbered_csv

from sweep.data import embeddings, pipeline
from sweep.data.embeddings import SCALE, word2vec
from sweep.rundir import RunDir
from sweep.space.config import DataConfig


def _corpus(n: int = 3000, seed: int = 0):
    """Ids 2 and 3 appear among 10-14, id 4 among 20-24: 2 and 3 are used alike."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        if rng.random() < 0.5:
            row = [int(rng.choice([2, 3]))] + rng.choice(np.arange(10, 15), 6).tolist()
        else:
            row = [4] + rng.choice(np.arange(20, 25), 6).tolist()
        rng.shuffle(row)
        rows.append(row)
    return np.concatenate(rows).astype(np.int32), np.array([len(r) for r in rows])


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_vectors_follow_shared_contexts():
    m = word2vec([_corpus()], vocab_size=30, dim=16, seed=0)
    assert m.shape == (30, 16) and m.dtype == np.float32
    assert _cos(m[2], m[3]) > 0.5 > _cos(m[2], m[4])
    # Trained rows are rescaled to the spread of a random start; unseen ids keep one.
    assert abs(m[[2, 3, 4, *range(10, 15), *range(20, 25)]].std() - SCALE) < 0.02
    assert abs(m[25:].std() - SCALE) < 0.02


def test_same_seed_same_vectors():
    corpus = [_corpus(500)]
    first = word2vec(corpus, vocab_size=30, dim=8, seed=3)
    assert np.array_equal(first, word2vec(corpus, vocab_size=30, dim=8, seed=3))
    assert not np.allclose(first, word2vec(corpus, vocab_size=30, dim=8, seed=4))


def test_sweepdata_trains_once_and_caches_on_disk(tmp_path, monkeypatch):
    cfg = DataConfig(source=f"csv:{numbered_csv(tmp_path / 'd.csv', 60)}", max_length=16)
    calls = []
    real = embeddings.word2vec
    monkeypatch.setattr(embeddings, "word2vec", lambda rows, *a: calls.append(len(rows)) or real(rows, *a))
    run = RunDir(tmp_path)
    sd = pipeline.SweepData(cfg, seed=0, run=run)
    first = sd.word_vectors(40, 8)
    assert sd.word_vectors(40, 8) is first and calls == [1]  # the training part only
    assert [p.name.split("-")[0] for p in run.cache.glob("*.npy")] == ["word2vec"]
    # A resumed run (a new process) reads it back.
    again = pipeline.SweepData(cfg, seed=0, run=run).word_vectors(40, 8)
    assert calls == [1] and np.array_equal(again, first)
    sd.word_vectors(40, 16)
    assert calls == [1, 1] and len(list(run.cache.glob("*.npy"))) == 2
