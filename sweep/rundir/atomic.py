"""The one way files in a run folder are written: whole or not at all, and durable."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sweep.errors import DamagedRun


def save_atomic(path: Path, save: Callable[[Path], Any]) -> None:
    """`save(tmp)` writes a temporary file, which is synced and renamed to `path`.

    A reader (or a resume after a kill or a power cut) sees the old file or the new one,
    never half of one. The temporary name is unique per host and process, since workers
    that share a run folder may write the same file at once.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{socket.gethostname()}-{os.getpid()}.tmp{path.suffix}")
    try:
        save(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def write_atomic(path: Path, text: str) -> None:
    """Writes `text` (UTF-8) to `path` atomically (see `save_atomic`)."""
    save_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=2))


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_tree(folder: Path) -> None:
    """Flushes every file below `folder`, and the folders themselves, to the disk."""
    for path in sorted(Path(folder).rglob("*"), reverse=True):
        if path.is_file() and not path.is_symlink():
            with contextlib.suppress(OSError), open(path, "rb") as f:
                os.fsync(f.fileno())
        elif path.is_dir():
            _fsync_dir(path)
    _fsync_dir(Path(folder))


def read_csv(path: Path, damaged: str | None = None, **read_kwargs: Any) -> Any:
    """A table the sweep wrote (pandas.read_csv), or None when it is missing.

    Args:
        path: the CSV file.
        damaged: what the user can do about a damaged file (empty, cut short, not UTF-8):
            it raises DamagedRun naming the file and this. Without it a damaged file reads
            as None too (a file caught mid-write by a report, say).
        read_kwargs: passed to pandas.read_csv (`dtype={"trial_id": str}`).
    """
    import pandas as pd  # not at import: status and layout users need no pandas

    try:
        return pd.read_csv(path, **read_kwargs)
    except FileNotFoundError:
        return None
    except (OSError, pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
        if damaged is None:
            return None
        raise DamagedRun(f"{path}: damaged ({str(e).splitlines()[0]}); {damaged}") from None


def read_json(path: Path) -> Any:
    """The parsed file, or None when it is missing or not JSON (caught mid-copy, damaged)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
