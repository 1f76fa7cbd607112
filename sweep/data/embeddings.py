"""Word vectors to start the embedding from: word2vec over the token ids the model reads.

`embedding_init: word2vec` starts the Embedding from vectors that gensim's word2vec (CBOW)
learns on the training text, and on `data.unlabeled_split` when one is named (IMDB's
50,000 unlabeled reviews), never on validation or test. It trains on the vectorized token
ids themselves, so the vectors line up with the vocabulary by construction. One matrix per
(vocab_size, embedding_dim); `SweepData.word_vectors` caches it beside the token ids.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

# word2vec's vectors are rescaled to this standard deviation, the scale of Keras' default
# embedding start (uniform in +-0.05), so Adam's steps move them as much as a random start.
SCALE = 0.05
WINDOW = 5
EPOCHS = 5


def word2vec(
    rows: Sequence[tuple[np.ndarray, np.ndarray]],
    vocab_size: int,
    dim: int,
    seed: int,
) -> np.ndarray:
    """A (vocab_size, dim) float32 matrix: row i is token id i's word2vec vector.

    Args:
        rows: (flat ids, lengths per text) pairs, as `Encoded.ids` gives them.
        vocab_size: rows of the matrix; ids 0 (padding) and 1 (out-of-vocabulary) and any id
            that never occurs keep a random start.
        dim: vector width (the model's embedding_dim).
        seed: seeds word2vec and the random rows; with one worker thread the result is
            the same on every run.
    """
    from gensim.models import Word2Vec

    # One str object per id, shared by every occurrence: 17M tokens cost a list of pointers.
    names = [str(i) for i in range(vocab_size)]
    texts = [
        [names[i] for i in row.tolist()]
        for ids, lengths in rows
        for row in np.split(ids, np.cumsum(lengths)[:-1])
        if len(row)
    ]
    model = Word2Vec(texts, vector_size=dim, window=WINDOW, min_count=1, sg=0, epochs=EPOCHS,
                     seed=seed, workers=1, hashfxn=_stable_hash)
    del texts
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, SCALE, (vocab_size, dim)).astype(np.float32)
    ids = np.array(model.wv.index_to_key, dtype=np.int64)  # row k of wv.vectors is id ids[k]
    learnt = ids >= 2
    if learnt.any():
        vectors = model.wv.vectors[learnt]
        matrix[ids[learnt]] = vectors * (SCALE / max(float(vectors.std()), 1e-12))
    return matrix


def _stable_hash(text: str) -> int:
    # gensim seeds each word's start vector from hashfxn(word); Python's own str hash
    # changes from process to process, which would make every run different.
    return zlib.crc32(text.encode())
