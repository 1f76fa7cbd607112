"""Where the text comes from: tfds, CSV files or a folder per class -> labelled splits.

    tfds:NAME[/CONFIG] | csv:PATH | dir:PATH  -> Corpus (texts, labels, class names)
    | a registered SCHEME:LOCATION                -> TextSplits (train / validation / test)

Validation is carved from the training data with the sweep's seed; the test split is kept
apart for the final evaluation only. `sweep.data.pipeline` turns the splits into token ids.
Every problem with the data is a `DataError`, raised before anything trains.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

import numpy as np

from sweep.data.corpus import Corpus, Split, TextSplits
from sweep.data.tfds_source import load_unlabeled
from sweep.errors import DataError, SweepError
from sweep.space.config import DataConfig
from sweep.space.registry import SOURCES

__all__ = ["Corpus", "Split", "TextSplits", "csv_text", "load_csv", "load_dir", "load_texts",
           "read_csv_frame"]


# --- Splitting ----------------------------------------------------------------------


def load_texts(cfg: DataConfig, seed: int) -> TextSplits:
    """Loads `cfg.source` and splits it into train / validation / test.

    Raises:
        DataError: the source is missing, empty, unlabelled or not text.
    """
    entry = SOURCES.get(cfg.scheme)  # the built-in readers and the registered ones
    corpus = entry.resolve()(cfg) if entry.kind == "corpus" else _load_registered(entry, cfg)
    pool, test, class_names = corpus.pool, corpus.test, corpus.class_names
    rng = np.random.default_rng(seed)
    if test is None:
        pool, test = _carve(pool, cfg.test_split or 0.2, rng, "test")
    train, val = _carve(pool, cfg.validation_split, rng, "validation")
    # Limits take seeded samples, not prefixes: folders (and many CSVs) list the examples
    # class by class, so a prefix could hold one class only. A generator of their own
    # leaves the test sample below as it is without them.
    limits = np.random.default_rng([seed, 1])
    if cfg.limit_train:
        train = train.take(np.sort(limits.permutation(len(train))[: cfg.limit_train]))
    if cfg.limit_eval:
        val = val.take(np.sort(limits.permutation(len(val))[: cfg.limit_eval]))
        # A seeded sample rather than a prefix: some sources store test sorted by class.
        keep = rng.permutation(len(test))[: cfg.limit_eval]
        test = test.take(np.sort(keep))
    if len(np.unique(train.labels)) < 2:
        raise DataError(f"data.source: the training part of {cfg.source} holds a single class")
    unlabeled, versions = None, list(corpus.file_versions)
    if cfg.unlabeled_split:
        unlabeled = load_unlabeled(cfg)
    elif cfg.unlabeled_source:
        unlabeled, version = _read_unlabeled(cfg)
        versions.append(version)
    if unlabeled is not None and cfg.limit_train and len(unlabeled) > cfg.limit_train:
        unlabeled = unlabeled.take(np.sort(limits.permutation(len(unlabeled))[: cfg.limit_train]))
    # data.download says how to get the data, not what it is: left out, as it changes nothing.
    what = {k: v for k, v in asdict(cfg).items() if k != "download"}
    identity = json.dumps([what, seed, versions, class_names], sort_keys=True, default=str)
    fingerprint = hashlib.sha256(identity.encode()).hexdigest()[:12]
    return TextSplits(train, val, test, class_names, fingerprint, unlabeled, corpus.origin)


def _carve(pool: Split, fraction: float, rng: np.random.Generator, what: str):
    order = rng.permutation(len(pool))
    n = int(round(len(pool) * fraction))
    if n < 1 or n >= len(pool):
        raise DataError(
            f"data: {len(pool)} examples are too few to hold out a {what} fraction of {fraction}"
        )
    return pool.take(np.sort(order[n:])), pool.take(np.sort(order[:n]))


# --- Readers ------------------------------------------------------------------------


TEXT_COLUMNS = ("text", "review", "sentence", "content", "body", "document", "comment", "tweet")
LABEL_COLUMNS = ("label", "sentiment", "class", "target", "category", "labels", "y")


def load_csv(cfg: DataConfig) -> Corpus:
    """A `csv:PATH` source (and a `csv:` test_source)."""
    path = _local(cfg.location)
    pool, names = _read_csv(path, cfg, "data.source")
    test, file_versions = None, [_file_version(path)]
    if cfg.test_source:
        if not cfg.test_source.startswith("csv:"):
            raise DataError("data.test_source: expected csv:PATH alongside a csv: source")
        test_path = _local(cfg.test_source[4:])
        test, test_names = _read_csv(test_path, cfg, "data.test_source")
        _check_test_classes(names, test_names, test_path)
        file_versions.append(_file_version(test_path))
    class_names, (pool, test) = _encode_labels(names, pool, test, source=cfg.source)
    return Corpus(pool, test, class_names, file_versions)


def _read_csv(path: Path, cfg: DataConfig, key: str):
    """Returns ((text, raw label) arrays, sorted label names) from one CSV file."""
    frame = read_csv_frame(path, key)
    columns = list(frame.columns)
    text = csv_text(frame, cfg.text_column, path, "data.text_column")
    label_col = cfg.label_column or _find_column(columns, LABEL_COLUMNS, "label", path)
    if label_col not in columns:
        raise DataError(f"data.label_column: no column {label_col!r} in {path}; it has {', '.join(columns)}")
    labels = frame[label_col].str.strip()
    missing = np.flatnonzero((labels == "").to_numpy())
    if len(missing):
        rows = ", ".join(str(i + 1) for i in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise DataError(
            f"data.label_column: {len(missing)} of {len(labels)} rows of {path} have no "
            f"{label_col!r} (data rows {rows})"
        )
    return (text, labels.to_numpy(dtype=object)), sorted(set(labels))


def read_csv_frame(path: Path, key: str):
    """A CSV file as a DataFrame of strings (UTF-8, quoted fields, empty cells as "").

    Raises:
        DataError: missing, not UTF-8, empty, unparsable or without rows; `key` names
            the setting or flag that gave the path.
    """
    import pandas as pd

    if not path.is_file():
        raise DataError(f"{key}: no such file {str(path)!r}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{key}: {path} is not UTF-8 text ({_first_bad_byte(path)})") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{key}: {path} is empty") from None
    except (pd.errors.ParserError, csv.Error) as e:
        raise DataError(f"{key}: {path} is not a readable CSV ({str(e).splitlines()[0]})") from None
    if frame.empty:
        raise DataError(f"{key}: {path} has a header but no rows")
    return frame


def csv_text(frame, text_column: str | list[str] | None, path: Path, key: str) -> np.ndarray:
    """The text of each row: the named column(s), joined by a space, or the one found by name.

    Raises:
        DataError: a named column is missing, or no column looks like text.
    """
    columns = list(frame.columns)
    text_cols = text_column or _find_column(columns, TEXT_COLUMNS, "text", path, key)
    text_cols = [text_cols] if isinstance(text_cols, str) else list(text_cols)
    for col in text_cols:
        if col not in columns:
            raise DataError(f"{key}: no column {col!r} in {path}; it has {', '.join(columns)}")
    text = frame[text_cols[0]]
    for col in text_cols[1:]:
        text = text + " " + frame[col]
    return text.to_numpy(dtype=object)


def _first_bad_byte(path: Path) -> str:
    """Where a file stops being UTF-8, as 'line N, byte 0xXX'."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        return f"line {line}: byte 0x{raw[e.start]:02x}"
    return "undecodable bytes"


def _find_column(columns: list[str], candidates: tuple, what: str, path: Path,
                 key: str | None = None) -> str:
    key = key or f"data.{what}_column"
    lowered = {c.lower().strip(): c for c in columns}
    for name in candidates:
        if name in lowered:
            return lowered[name]
    raise DataError(
        f"{key}: no {what} column found in {path} (looked for "
        f"{', '.join(candidates)}); it has {', '.join(columns)}; name one with {key}"
    )


def _encode_labels(names: list[str], *parts, source: str):
    """Maps raw labels to ids in sorted order (numerically when all are integers).

    Returns the class names (index = class id) and each part as a `Split` (None stays None).
    """
    if len(names) < 2:
        raise DataError(f"data.source: {source} holds a single class ({', '.join(names)}); "
                        "a classifier needs at least two")
    if all(re.fullmatch(r"[-+]?\d+", n) for n in names):
        names = sorted(names, key=int)  # "9" before "10"
    index = {n: i for i, n in enumerate(names)}
    out: list[Split | None] = []
    for part in parts:
        if part is None:
            out.append(None)
            continue
        text, raw = part
        out.append(Split(np.asarray(text, dtype=object), np.array([index[r] for r in raw], dtype=np.int64)))
    return names, out


def _check_test_classes(names: list[str], test_names: list[str], where: Path,
                        key: str = "data.test_source") -> None:
    unseen = sorted(set(test_names) - set(names))
    if unseen:
        raise DataError(f"{key}: {where} has classes the training data lacks: "
                        f"{', '.join(unseen)}")


def load_dir(cfg: DataConfig) -> Corpus:
    """A `dir:PATH` source: a folder per class, or aclImdb's train/ and test/ of them."""
    root = _local(cfg.location)
    if not root.is_dir():
        raise DataError(f"data.source: no such folder {str(root)!r}")
    test = None
    if (root / "train").is_dir():  # the aclImdb layout
        pool, names, file_versions = _read_class_folders(root / "train")
        if (root / "test").is_dir() and cfg.test_split is None and not cfg.test_source:
            test, test_names, test_versions = _read_class_folders(root / "test")
            _check_test_classes(names, test_names, root / "test", "data.source")
            file_versions += test_versions
    else:
        pool, names, file_versions = _read_class_folders(root)
    if cfg.test_source:
        if not cfg.test_source.startswith("dir:"):
            raise DataError("data.test_source: expected dir:PATH alongside a dir: source")
        test_root = _local(cfg.test_source[4:])
        if not test_root.is_dir():
            raise DataError(f"data.test_source: no such folder {str(test_root)!r}")
        test, test_names, test_versions = _read_class_folders(test_root)
        _check_test_classes(names, test_names, test_root)
        file_versions += test_versions
    class_names, (pool, test) = _encode_labels(names, pool, test, source=cfg.source)
    return Corpus(pool, test, class_names, file_versions)


def _read_unlabeled(cfg: DataConfig) -> tuple[Split, list]:
    """`data.unlabeled_source`: a CSV's text column, or every .txt file below a folder; and
    what changes when its files do."""
    scheme, _, location = (cfg.unlabeled_source or "").partition(":")
    path = _local(location)
    key = "data.unlabeled_source"
    if scheme == "csv":
        texts = csv_text(read_csv_frame(path, key), cfg.text_column, path, key)
        version = _file_version(path)
    else:
        if not path.is_dir():
            raise DataError(f"{key}: no such folder {str(path)!r}")
        files = sorted(path.rglob("*.txt"))
        if not files:
            raise DataError(f"{key}: {path} holds no .txt files")
        texts = np.array([f.read_text(encoding="utf-8", errors="replace") for f in files], dtype=object)
        stats = [(str(f.relative_to(path)), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
        version = [str(path.resolve()), hashlib.sha256(json.dumps(stats).encode()).hexdigest()]
    return Split(np.asarray(texts, dtype=object), np.full(len(texts), -1, np.int64)), version


def _load_registered(entry, cfg: DataConfig) -> Corpus:
    """A source registered by the user (`sweep.register_source`): its texts and labels, checked."""
    got = _call_source(entry, cfg.location, "data.source")
    parts = got if isinstance(got, Mapping) else {"train": got}
    if not set(parts) <= {"train", "test"} or "train" not in parts:
        raise DataError(f"data.source: {entry.where} returned a mapping with keys "
                        f"{sorted(map(str, parts))}; expected train and, if it has one, test")
    pool = _labelled(parts["train"], entry, "data.source")
    test = _labelled(parts["test"], entry, "data.source") if parts.get("test") is not None else None
    if cfg.test_source:
        scheme, _, location = cfg.test_source.partition(":")
        if scheme != entry.name:
            raise DataError(f"data.test_source: expected {entry.name}:LOCATION alongside a "
                            f"{entry.name}: source")
        test = _labelled(_call_source(entry, location, "data.test_source"), entry, "data.test_source")
    names = sorted(set(pool[1]))
    if test is not None:
        _check_test_classes(names, sorted(set(test[1])), Path(cfg.test_source or cfg.location))
    class_names, (pool, test) = _encode_labels(names, pool, test, source=cfg.source)
    path = _local(cfg.location)
    return Corpus(pool, test, class_names, [_file_version(path) if path.is_file() else cfg.location])


def _call_source(entry, location: str, key: str):
    try:
        return entry.resolve()(location)
    except SweepError:
        raise
    except Exception as e:  # the user's loader failed: one line, as for the built-in sources
        raise DataError(f"{key}: {entry.where} could not load {location!r} "
                        f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None


def _labelled(part, entry, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(texts, labels as strings) from what a registered source returned."""
    try:
        texts, labels = (np.asarray(p, dtype=object) for p in part)
    except (TypeError, ValueError):
        raise DataError(f"{key}: {entry.where} returned {type(part).__name__}; expected "
                        "(texts, labels)") from None
    if texts.ndim != 1 or texts.shape != labels.shape or not all(isinstance(t, str) for t in texts):
        raise DataError(f"{key}: {entry.where} returned {len(texts)} texts and {len(labels)} labels; "
                        "expected as many strings as labels")
    return texts, np.array([str(v) for v in labels], dtype=object)


def _read_class_folders(folder: Path):
    """Reads FOLDER/<class>/*.txt; returns ((texts, labels), class names, a file_versions)."""
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    # aclImdb's train/unsup holds unlabelled reviews.
    classes = [c for c in classes if c != "unsup"]
    if not classes:
        raise DataError(f"data.source: {folder} has no class sub-folders (one folder per class)")
    text, labels, file_versions = [], [], []
    for name in classes:
        files = sorted((folder / name).glob("*.txt"))
        if not files:
            raise DataError(f"data.source: the class folder {folder / name} holds no .txt files")
        for f in files:
            try:
                text.append(f.read_text(encoding="utf-8"))
            except UnicodeDecodeError:
                raise DataError(f"data.source: {f} is not UTF-8 text ({_first_bad_byte(f)})") from None
            labels.append(name)
            st = f.stat()
            file_versions.append((f"{name}/{f.name}", st.st_size, st.st_mtime_ns))
    # Any file added, removed or edited changes the file_versions (the folder's own mtime would not).
    digest = hashlib.sha256(json.dumps(file_versions).encode()).hexdigest()
    return (text, labels), classes, [str(folder.resolve()), digest]


def _local(location: str) -> Path:
    return Path(location).expanduser()


def _file_version(path: Path) -> list:
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]
