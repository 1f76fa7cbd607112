"""TensorFlow kept quiet on the console, the same for the commands and the Python API.

TF writes oneDNN, CUDA and XLA notices from its C++ core straight to file descriptor 2 (some
before TF_CPP_MIN_LOG_LEVEL applies, some during training), and its Python logger warns of
tf.function "retracing" while Keras builds models; on a console they bury the sweep's own
lines. `native_stderr_hidden` holds both back for the duration of a command or an API call;
`--verbose` (`verbose=True` in the API) shows them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator

from sweep.errors import SweepError

# Python loggers whose warnings are held back with the native log (absl: tfds, Keras' notices).
LOGGERS = ("tensorflow", "absl")


@contextlib.contextmanager
def native_stderr_hidden(hide: bool = True) -> Iterator[None]:
    """Keeps what TensorFlow's C++ core writes to file descriptor 2, and its Python loggers'
    warnings, off the console.

    Python's `sys.stderr` keeps the console (in Jupyter, the notebook), so errors and
    tracebacks still show; the native lines go to a temporary file, whose tail is shown only if
    the work ends in an unexpected error. Before TF is imported, TF_CPP_MIN_LOG_LEVEL=2 (unless
    set) leaves only its errors to hold back.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not hide:
        yield
        return
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    sys.stderr.flush()
    console = os.dup(2)
    native = tempfile.TemporaryFile()
    os.dup2(native.fileno(), 2)
    python_stderr = sys.stderr
    if _on_fd2(python_stderr):  # not Jupyter's stream, which is no file descriptor's
        sys.stderr = open(console, "w", buffering=1, closefd=False)
    try:
        yield
    except (SweepError, KeyboardInterrupt):
        raise
    except BaseException:
        native.seek(0)
        tail = native.read()[-4000:].decode(errors="replace").strip()
        if tail:
            print(f"TensorFlow's native log (tail):\n{tail}", file=sys.stderr)
        raise
    finally:
        if sys.stderr is not python_stderr:
            sys.stderr.close()  # flushes; the descriptor stays open (closefd=False)
            sys.stderr = python_stderr
        os.dup2(console, 2)
        os.close(console)
        native.close()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _on_fd2(stream) -> bool:
    try:
        return stream.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False
