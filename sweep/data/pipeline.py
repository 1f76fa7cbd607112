"""Labelled text -> token ids -> batched tf.data, fast.

    TextSplits -> Encoded, once per (vocab_size, max_length): TextVectorization adapted on
                  the training part only, cached in the run folder
               -> tf.data: token ids sliced from one flat array, bucketed by length,
                  padded on the right with 0 (a mask for the model, cuDNN on a GPU)
               -> word vectors (sweep.data.embeddings), once per (vocab_size, embedding_dim), cached
"""

from __future__ import annotations

import re
import string
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sweep.data.sources import Split, TextSplits, load_texts
from sweep.errors import DataError
from sweep.rundir import RunDir, read_json, writes
from sweep.space.config import LEGACY_STANDARDIZATION, DataConfig

# --- Vectorization ------------------------------------------------------------------


@dataclass
class Encoded:
    """Token ids of every split for one (vocab_size, max_length), ragged as flat arrays."""

    vocab_size: int
    max_length: int
    arrays: dict[str, np.ndarray]  # {split}_ids, {split}_lengths, {split}_raw_lengths, {split}_labels

    def ids(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Flat token ids and lengths of `split` ("train", "val", "test", or e.g. "train+val")."""
        return self._get("ids", split), self._get("lengths", split)

    def labels(self, split: str) -> np.ndarray:
        return self._get("labels", split)

    def raw_lengths(self, split: str) -> np.ndarray:
        """Tokens per example before truncation at max_length."""
        return self._get("raw_lengths", split)

    def _get(self, what: str, split: str) -> np.ndarray:
        # "train+val": the parts one after the other (a refit trains on both).
        return np.concatenate([self.arrays[f"{part}_{what}"] for part in split.split("+")])


_PUNCTUATION = re.escape(string.punctuation)


def standardize_sweep_0_1(text):
    """rnn-sweep 0.1's standardization: lowercase, `<br />` tags and punctuation to spaces.

    Kept for the runs 0.1 made (`data.standardize: sweep_0.1`); new runs use one of
    TextVectorization's own, which a saved model.keras can load without this project.
    """
    import tensorflow as tf

    text = tf.strings.lower(text)
    text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
    return tf.strings.regex_replace(text, f"[{_PUNCTUATION}]", " ")


def text_vectorization(standardize: str, vocabulary: list[str] | None = None,
                       max_tokens: int | None = None, **kwargs):
    """Keras' TextVectorization for a `data.standardize` setting, split on whitespace.

    The one place the layer is configured, so training and export cut text the same way.
    """
    import keras

    how = standardize_sweep_0_1 if standardize == LEGACY_STANDARDIZATION else standardize
    return keras.layers.TextVectorization(
        max_tokens=max_tokens, standardize=how, split="whitespace", vocabulary=vocabulary, **kwargs
    )


@dataclass
class Vocabulary:
    """What turned a run's text into token ids: saved beside the ids, read by export."""

    tokens: list[str]  # by id: "" (padding), "[UNK]", then the most frequent training words
    standardize: str
    max_length: int
    split: str = "whitespace"

    @classmethod
    def read(cls, path: Path, standardize: str, max_length: int) -> Vocabulary | None:
        """The saved vocabulary, or None when missing, damaged or made another way."""
        saved = read_json(path)
        try:
            vocab = cls(**saved)
        except TypeError:  # not a dict, or other keys: not ours
            return None
        ok = (isinstance(vocab.tokens, list) and vocab.tokens[:2] == ["", "[UNK]"]
              and vocab.standardize == standardize and vocab.max_length == max_length)
        return vocab if ok else None

    def write(self, run: RunDir, path: Path) -> None:
        writes.write_run_json(run, path, asdict(self))


def vectorize(splits: TextSplits, vocab_size: int, max_length: int, run: RunDir | None = None,
              standardize: str = DataConfig.standardize) -> Encoded:
    """Adapts a vocabulary on the training text and encodes all three splits.

    Args:
        splits: the text.
        vocab_size: TextVectorization's max_tokens.
        max_length: tokens kept per example.
        run: the run folder whose cache holds the ids (`RunDir.tokens_cache`: read when it
            exists, else written, so a resumed sweep or another trial with the same
            vocabulary does not redo it) and the vocabulary (`RunDir.vocabulary`; a cache
            made before vocabularies were saved gets its vocabulary adapted again, and
            checked against the cached ids). None: nothing is cached.
        standardize: `data.standardize`.

    The unlabeled text, when there is one, is encoded too (for word2vec).

    Raises:
        DataError: the vocabulary adapted again does not give the cached ids (the data
            changed since the run was made).
    """
    key = (splits.fingerprint, vocab_size, max_length)
    cache, vocab_file = (run.tokens_cache(*key), run.vocabulary(*key)) if run is not None else (None, None)
    cached = _read_cache(cache, splits) if cache is not None and cache.exists() else None
    have_vocab = vocab_file is None or Vocabulary.read(vocab_file, standardize, max_length)
    if cached is not None and have_vocab:
        return Encoded(vocab_size, max_length, cached)

    import tensorflow as tf

    layer = text_vectorization(standardize, max_tokens=vocab_size, ragged=True)
    # Lists of str, not `.astype(str)`: NumPy's fixed-width unicode would pad every review
    # to the longest, at 4 bytes a character.
    layer.adapt(tf.data.Dataset.from_tensor_slices(splits.train.text.tolist()).batch(2048))
    names = ("train", "val", "test") + (("unlabeled",) if splits.unlabeled is not None else ())
    if cached is not None:
        names = ("train",)  # only to check the vocabulary against the cache
    arrays: dict[str, np.ndarray] = {}
    for name in names:
        split: Split = getattr(splits, name)
        ids, lengths, raw = encode(layer, split.text.tolist(), max_length)
        arrays[f"{name}_ids"] = ids.astype(np.int32)
        arrays[f"{name}_lengths"] = lengths
        arrays[f"{name}_raw_lengths"] = raw.astype(np.int64)
        arrays[f"{name}_labels"] = split.labels
    if cached is not None:
        if not np.array_equal(arrays["train_ids"], cached["train_ids"]):
            raise DataError("the vocabulary adapted again on the training text does not give the "
                            f"token ids cached in {cache}: the data changed since the run was made")
        arrays = cached
    elif run is not None and cache is not None:
        writes.save_run_file(run, cache, lambda tmp: np.savez(tmp, **arrays))  # type: ignore[arg-type]
    if run is not None and vocab_file is not None:
        Vocabulary([str(t) for t in layer.get_vocabulary()], standardize, max_length).write(run, vocab_file)
    return Encoded(vocab_size, max_length, arrays)


def _read_cache(path: Path, splits: TextSplits) -> dict[str, np.ndarray] | None:
    """The cached arrays, verified against the splits; None when it is damaged, so that
    it is made again (and saved over it)."""
    names = ("train", "val", "test") + (("unlabeled",) if splits.unlabeled is not None else ())
    try:
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files}
        for name in names:
            lengths = arrays[f"{name}_lengths"]
            split = getattr(splits, name)
            if len(lengths) != len(split) or len(arrays[f"{name}_ids"]) != lengths.sum() \
                    or not np.array_equal(arrays[f"{name}_labels"], split.labels):
                raise ValueError(f"{name} does not match the data")
    except Exception:  # truncated zip, missing array, wrong sizes: made again, saved over it
        return None
    return arrays


def encode(layer, texts: list[str], max_length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Texts -> token ids by `layer` (a ragged TextVectorization), in batches, cut at max_length.

    The one way text becomes ids, for training (`vectorize`) and for `sweep predict`.

    Returns:
        (flat ids, row lengths after the cut, row lengths before it), as `truncate`.
    """
    import tensorflow as tf

    values, raw_lengths = [], []
    for start in range(0, len(texts), 2048):
        tokens = layer(tf.constant(texts[start : start + 2048]))
        values.append(tokens.flat_values.numpy())
        raw_lengths.append(tokens.row_lengths().numpy())
    raw = np.concatenate(raw_lengths) if raw_lengths else np.zeros(0, np.int64)
    flat = np.concatenate(values) if values else np.zeros(0, np.int64)
    ids, lengths = truncate(flat, raw, max_length)
    return ids, lengths, raw


def truncate(flat: np.ndarray, raw: np.ndarray, max_length: int):
    """Flat ids and row lengths -> the same, cut at max_length (the first tokens kept).

    An empty row becomes one out-of-vocabulary token (exports do the same).
    """
    starts = np.concatenate([[0], np.cumsum(raw)[:-1]]).astype(np.int64)
    lengths = np.minimum(raw, max_length)
    keep = np.repeat(starts, lengths) + _ranges(lengths)
    ids = flat[keep]
    if (lengths == 0).any():
        # An all-masked row has no final state; give it one out-of-vocabulary token.
        rows = np.split(ids, np.cumsum(lengths)[:-1])
        rows = [r if len(r) else np.array([1], ids.dtype) for r in rows]
        lengths = np.maximum(lengths, 1)
        ids = np.concatenate(rows)
    return ids, lengths.astype(np.int64)


def _ranges(lengths: np.ndarray) -> np.ndarray:
    """[0..l0-1, 0..l1-1, ...] without a Python loop."""
    total = int(lengths.sum())
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total) - offsets


# --- tf.data ------------------------------------------------------------------------


def bucket_boundaries(lengths: np.ndarray, buckets: int = 16) -> list[int]:
    """Length quantiles of the training data, so every bucket fills about evenly."""
    qs = np.quantile(lengths, np.linspace(0, 1, buckets + 1)[1:-1]) if len(lengths) else []
    return sorted({int(q) + 1 for q in qs if q >= 1})


def dataset(
    encoded: Encoded,
    split: str,
    batch_size: int,
    boundaries: list[int],
    shuffle_seed: int | None = None,
    with_raw_lengths: bool = False,
):
    """A tf.data pipeline of (token ids, label) batches, similar lengths batched together.

    Args:
        encoded: the vectorized splits.
        split: "train", "val" or "test".
        batch_size: examples per batch.
        boundaries: bucket boundaries (see `bucket_boundaries`).
        shuffle_seed: shuffle every epoch with this seed (training); None keeps order.
        with_raw_lengths: also yield each example's untruncated length (for analysis).
    """
    import tensorflow as tf

    ids, lengths = encoded.ids(split)
    flat = tf.constant(ids)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    parts: tuple[np.ndarray, ...] = (starts, lengths, encoded.labels(split))
    if with_raw_lengths:
        parts += (encoded.raw_lengths(split),)
    ds = tf.data.Dataset.from_tensor_slices(parts)
    if shuffle_seed is not None:
        ds = ds.shuffle(len(lengths), seed=shuffle_seed, reshuffle_each_iteration=True)
    # Each example is a slice of one flat array of token ids: no per-example tensors kept.
    ds = ds.map(lambda start, length, *rest: (flat[start : start + length], *rest),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.bucket_by_sequence_length(
        element_length_func=lambda x, *_: tf.shape(x)[0],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
    )
    # tf.data's autotuner (its model and optimization thread, not the AUTOTUNE values)
    # left training steps idle for seconds at a time on a 2-core CPU (bench/stalls.py,
    # docs/benchmarks.md); this pipeline is a slice per example, with nothing to tune.
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(tf.data.AUTOTUNE).with_options(options)


class SweepData:
    """What the tuner needs: datasets per vocab size, vectorized lazily, once each."""

    def __init__(self, cfg: DataConfig, seed: int, run: RunDir | None):
        self.cfg = cfg
        self.seed = seed
        self.run = run  # where the caches go; None: no cache
        self.splits = load_texts(cfg, seed)
        self._encoded: dict[int, Encoded] = {}
        self._vectors: dict[tuple[int, int], np.ndarray] = {}

    @property
    def class_names(self) -> list[str]:
        return self.splits.class_names

    def encoded(self, vocab_size: int) -> Encoded:
        if vocab_size not in self._encoded:
            self._encoded[vocab_size] = vectorize(self.splits, vocab_size, self.cfg.max_length, self.run,
                                                  self.cfg.standardize)
        return self._encoded[vocab_size]

    def vocabulary(self, vocab_size: int) -> Vocabulary:
        """The vocabulary of `vocab_size`, from the run folder (made when missing)."""
        if self.run is None:
            raise ValueError("SweepData(run=None) keeps no vocabulary")
        path = self.run.vocabulary(self.splits.fingerprint, vocab_size, self.cfg.max_length)
        vocab = Vocabulary.read(path, self.cfg.standardize, self.cfg.max_length)
        if vocab is None:
            self._encoded.pop(vocab_size, None)
            self.encoded(vocab_size)
            vocab = Vocabulary.read(path, self.cfg.standardize, self.cfg.max_length)
        assert vocab is not None
        return vocab

    def dataset(self, vocab_size: int, split: str, **kwargs):
        enc = self.encoded(vocab_size)
        boundaries = bucket_boundaries(enc.ids("train")[1])
        if split == "train" and "shuffle_seed" not in kwargs:
            kwargs["shuffle_seed"] = self.seed
        return dataset(enc, split, self.cfg.batch_size, boundaries, **kwargs)

    def word_vectors(self, vocab_size: int, dim: int) -> np.ndarray:
        """word2vec vectors for `embedding_init: word2vec`, from train (+ unlabeled) ids."""
        key = (vocab_size, dim)
        if key in self._vectors:
            return self._vectors[key]
        from sweep.data.embeddings import word2vec

        path = None if self.run is None else self.run.vectors_cache(
            self.splits.fingerprint, vocab_size, self.cfg.max_length, dim)
        matrix = _read_vectors(path, (vocab_size, dim)) if path is not None else None
        if matrix is None:
            enc = self.encoded(vocab_size)
            parts = ("train", "unlabeled") if "unlabeled_ids" in enc.arrays else ("train",)
            matrix = word2vec([enc.ids(p) for p in parts], vocab_size, dim, self.seed)
            if self.run is not None and path is not None:
                writes.save_run_file(self.run, path, lambda tmp: np.save(tmp, matrix))
        self._vectors[key] = matrix
        return matrix


def _read_vectors(path: Path, shape: tuple[int, int]) -> np.ndarray | None:
    """A cached word-vector matrix of `shape`; None when damaged (it is made again)."""
    if not path.exists():
        return None
    try:
        matrix = np.load(path)
        if matrix.shape != shape or not np.isfinite(matrix).all():
            raise ValueError("wrong shape or values")
    except Exception:  # made again, and saved over it
        return None
    return matrix
