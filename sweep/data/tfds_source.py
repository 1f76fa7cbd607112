"""The `tfds:` data source: a prepared (or, with data.download, downloaded) tfds dataset."""

from __future__ import annotations

import os

import numpy as np

from sweep.data.corpus import Corpus, Split
from sweep.errors import DataError
from sweep.space.config import DataConfig


def load_tfds(cfg: DataConfig) -> Corpus:
    """A `tfds:NAME[/CONFIG]` source: its train split, and its test split unless test_split is set."""
    name = cfg.location
    if cfg.test_source:
        raise DataError("data.test_source: only for csv: and dir: sources (tfds has its test split)")
    builder, keys = _tfds_builder(cfg)
    label_feature = builder.info.features[keys[1]]
    class_names = list(getattr(label_feature, "names", None) or [])
    if not class_names:
        raise DataError(f"data.source: the label {keys[1]!r} of {name!r} is not a class label")
    splits = builder.info.splits
    if "train" not in splits:
        raise DataError(f"data.source: tfds dataset {name!r} has no 'train' split")

    def read(split: str) -> Split:
        text, labels = read_tfds_split(builder, split, keys)
        return Split(_decoded(text), labels.astype(np.int64))

    train = read("train")
    test = read("test") if "test" in splits and cfg.test_split is None else None
    return Corpus(train, test, class_names, [str(builder.info.version), builder.data_dir])


def load_unlabeled(cfg: DataConfig) -> Split:
    """The texts of `data.unlabeled_split` (their labels, if any, are never read)."""
    builder, keys = _tfds_builder(cfg)
    split = cfg.unlabeled_split or ""
    if split not in builder.info.splits:
        raise DataError(f"data.unlabeled_split: tfds dataset {cfg.location!r} has no split "
                        f"{split!r} (it has {', '.join(sorted(builder.info.splits))})")
    text, _ = read_tfds_split(builder, split, keys)
    return Split(_decoded(text), np.full(len(text), -1, np.int64))


def _tfds_builder(cfg: DataConfig):
    """The prepared tfds builder for `cfg.source` and its (text, label) keys, or a DataError."""
    import tensorflow_datasets as tfds

    name = cfg.location
    data_dir = cfg.data_dir or os.environ.get("TFDS_DATA_DIR")
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as e:  # DatasetNotFoundError, bad config name, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"data.source: tfds dataset {name!r} not found ({first})") from None
    if not builder.is_prepared():
        _download_and_prepare(builder, cfg)
    keys = builder.info.supervised_keys
    if not keys or len(keys) != 2:
        raise DataError(f"data.source: tfds dataset {name!r} has no (text, label) supervised keys")
    return builder, keys


def _download_and_prepare(builder, cfg: DataConfig) -> None:
    """A tfds dataset not prepared under its data_dir: tfds downloads and prepares it there
    (`data.download: auto`), once; offline, or with `data.download: false`, a DataError says
    what was tried and where a prepared copy can be pointed at."""
    name, where = cfg.location, builder.data_dir
    point = ("set TFDS_DATA_DIR (or data.data_dir) to a folder holding a prepared copy (made "
             f"with `tfds build {name.split('/')[0]}` on a machine with internet)")
    if cfg.download is False:
        raise DataError(f"data.source: tfds dataset {name!r} is not prepared under {where} and "
                        f"data.download is false; {point}")
    try:
        builder.download_and_prepare()
    except Exception as e:  # no network, a refused or broken download, a full disk, ...
        lines = str(e).strip().splitlines()
        reason = f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__
        raise DataError(f"data.source: tfds dataset {name!r} is not prepared under {where}, and "
                        f"downloading and preparing it there failed ({reason[:300]}); {point}") from None


def _decoded(text: list[bytes]) -> np.ndarray:
    return np.array([s.decode("utf-8", "replace") for s in text], dtype=object)


def read_tfds_split(builder, split: str, keys) -> tuple[list[bytes], np.ndarray]:
    """All (text, label) pairs of one prepared tfds split, in file order.

    tfds parses its records one at a time, most of the time it takes to read IMDB; where
    both features are plain scalars in TFRecord files, as for IMDB, the records are parsed
    here in batches of 4096 instead. Anything else goes through tfds.
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    info = builder.info
    serialized = [info.features[k].get_serialized_info() for k in keys]
    if info.file_format == tfds.core.FileFormat.TFRECORD and all(
        isinstance(s, tfds.features.TensorInfo) and s.shape == () for s in serialized
    ):
        spec = {k: tf.io.FixedLenFeature([], s.tf_dtype) for k, s in zip(keys, serialized)}
        records = tf.data.TFRecordDataset([str(p) for p in info.splits[split].filepaths])
        batches = records.batch(4096).map(lambda r: tf.io.parse_example(r, spec))
        parts = [(b[keys[0]], b[keys[1]]) for b in tfds.as_numpy(batches)]
    else:
        ds = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)
        parts = list(tfds.as_numpy(ds.batch(4096)))
    text = [t for batch, _ in parts for t in batch.tolist()]
    labels = np.concatenate([y for _, y in parts]) if parts else np.zeros(0, np.int64)
    return text, labels
