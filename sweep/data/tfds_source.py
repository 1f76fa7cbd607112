"""The `tfds:` data source: a prepared (or, with data.download, downloaded) tfds dataset.

Where a dataset is looked for, in this order (`data_dirs`; the sweep's first line says which):

1. `data.data_dir` in the space, if set: only there;
2. else `TFDS_DATA_DIR`, if set: only there;
3. else the prepared copy beside the checkout, `../shared/tensorflow_datasets` next to the
   project folder (the Makefile's convention), if it holds the dataset;
4. else tfds' own default, `~/tensorflow_datasets`.

A dataset prepared in none of them is downloaded (`data.download: auto`) into the folder of 1 or
2, else into tfds' default (the copy beside the checkout is only read), unless a host of its
download cannot be reached: then it is refused at once, before tfds makes any folder.
"""

from __future__ import annotations

import os
import socket
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

from sweep.data.corpus import Corpus, Split
from sweep.errors import DataError
from sweep.space.config import DataConfig


def load_tfds(cfg: DataConfig) -> Corpus:
    """A `tfds:NAME[/CONFIG]` source: its train split, and its test split unless test_split is set."""
    name = cfg.location
    if cfg.test_source:
        raise DataError("data.test_source: only for csv: and dir: sources (tfds has its test split)")
    builder, keys, why = _tfds_builder(cfg)
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
    return Corpus(train, test, class_names, [str(builder.info.version), builder.data_dir],
                  origin=f"{builder.data_dir} ({why})")


def load_unlabeled(cfg: DataConfig) -> Split:
    """The texts of `data.unlabeled_split` (their labels, if any, are never read)."""
    builder, keys, _ = _tfds_builder(cfg)
    split = cfg.unlabeled_split or ""
    if split not in builder.info.splits:
        raise DataError(f"data.unlabeled_split: tfds dataset {cfg.location!r} has no split "
                        f"{split!r} (it has {', '.join(sorted(builder.info.splits))})")
    text, _ = read_tfds_split(builder, split, keys)
    return Split(_decoded(text), np.full(len(text), -1, np.int64))


# The project's convention for a prepared copy: beside the checkout (the Makefile's SHARED_TFDS).
BESIDE_CHECKOUT = Path("..") / "shared" / "tensorflow_datasets"
# How long the check that a dataset's download host answers may take, per address.
PROBE_TIMEOUT_S = 5.0


def data_dirs(cfg: DataConfig) -> list[tuple[str, str]]:
    """The folders a tfds dataset is looked for in, in order, each with why (see the module)."""
    if cfg.data_dir:
        return [(cfg.data_dir, "data.data_dir")]
    if os.environ.get("TFDS_DATA_DIR"):
        return [(os.environ["TFDS_DATA_DIR"], "TFDS_DATA_DIR")]
    found = []
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / BESIDE_CHECKOUT).is_dir():
        found.append((str((checkout / BESIDE_CHECKOUT).resolve()), "the prepared copy beside the checkout"))
    return [*found, (str(Path("~/tensorflow_datasets").expanduser()), "tfds' default")]


def _tfds_builder(cfg: DataConfig):
    """The prepared tfds builder for `cfg.source`, its (text, label) keys and why its folder
    was chosen; or a DataError."""
    name = cfg.location
    candidates = data_dirs(cfg)
    found = None
    for data_dir, why in candidates:
        builder = _builder(name, data_dir)
        if builder.is_prepared():
            found = builder, why
            break
    if found is None:  # prepared nowhere: downloaded into the last (never the copy beside the checkout)
        data_dir, why = candidates[-1]
        found = _builder(name, data_dir), why
        _download_and_prepare(found[0], cfg, f"{data_dir} ({why})")
    builder, why = found
    keys = builder.info.supervised_keys
    if not keys or len(keys) != 2:
        raise DataError(f"data.source: tfds dataset {name!r} has no (text, label) supervised keys")
    return builder, keys, why


def _builder(name: str, data_dir: str):
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=data_dir)
    except Exception as e:  # DatasetNotFoundError, bad config name, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"data.source: tfds dataset {name!r} not found ({first})"
                        f"{_did_you_mean(name)}") from None


def _did_you_mean(name: str) -> str:
    """"; did you mean 'imdb_reviews'?" for a name close to a registered tfds dataset (no network)."""
    import difflib

    import tensorflow_datasets as tfds

    base, _, config = name.partition("/")
    close = difflib.get_close_matches(base, tfds.list_builders(with_community_datasets=False), n=1)
    return f"; did you mean {close[0] + ('/' + config if config else '')!r}?" if close else ""


def _download_and_prepare(builder, cfg: DataConfig, where: str) -> None:
    """A tfds dataset prepared in none of `data_dirs`: tfds downloads and prepares it into the
    last (`data.download: auto`), once. Offline (its download host does not answer), or with
    `data.download: false`, a DataError says where it looked and how to point at a prepared copy,
    before tfds makes any folder."""
    name = cfg.location
    point = ("set TFDS_DATA_DIR (or data.data_dir) to a folder holding a prepared copy (made "
             f"with `tfds build {name.split('/')[0]}` on a machine with internet)")
    if cfg.download is False:
        raise DataError(f"data.source: tfds dataset {name!r} is not prepared under {where} and "
                        f"data.download is false; {point}")
    offline = _unreachable(builder.url_infos)
    if offline:
        raise DataError(f"data.source: tfds dataset {name!r} is not prepared under {where}, and it "
                        f"cannot be downloaded ({offline}); {point}")
    try:
        builder.download_and_prepare()
    except Exception as e:  # a refused or broken download, a full disk, ...
        lines = str(e).strip().splitlines()
        reason = f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__
        raise DataError(f"data.source: tfds dataset {name!r} is not prepared under {where}, and "
                        f"downloading and preparing it there failed ({reason[:300]}); {point}") from None


def _unreachable(urls) -> str | None:
    """Why a host of a dataset's downloads (`urls`: its registered URLs, tfds' checksums) cannot
    be reached (no network, no such name), or None: they answer, there are none, or a proxy is set
    (requests goes through it). Without this, tfds retries for minutes and leaves partial folders."""
    if urllib.request.getproxies():
        return None
    for host, port in sorted({(p.hostname, p.port or (443 if p.scheme == "https" else 80))
                              for p in map(urllib.parse.urlsplit, urls or ()) if p.hostname}):
        why: list[str] = []
        # On a thread: a name lookup has no timeout of its own (a dead DNS server takes long).
        probe = threading.Thread(target=_connect, args=(host, port, why), daemon=True)
        probe.start()
        probe.join(2 * PROBE_TIMEOUT_S)
        if probe.is_alive():
            return f"no answer from {host} within {2 * PROBE_TIMEOUT_S:.0f} s"
        if why:
            return f"no connection to {host}: {why[0]}"
    return None


def _connect(host: str, port: int, why: list[str]) -> None:
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S).close()
    except OSError as e:
        why.append(e.strerror or type(e).__name__)


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
