"""TensorFlow's log held back, the same for the commands and the Python API."""

from __future__ import annotations

import logging
import os
import sys

from sweep.progress.quiet import native_stderr_hidden


def _speak() -> None:
    os.write(2, b"E0000 native notice\n")
    logging.getLogger("tensorflow").warning("5 out of the last 5 calls triggered tf.function retracing")
    print("python stderr", file=sys.stderr)


def test_native_lines_and_tf_warnings_are_held_back_python_stderr_is_not(capfd, caplog):
    with native_stderr_hidden(True):
        _speak()
    err = capfd.readouterr().err
    assert "python stderr" in err and "native notice" not in err
    assert not caplog.records
    assert logging.getLogger("tensorflow").level == logging.NOTSET  # as it was


def test_verbose_shows_them(capfd, caplog):
    with native_stderr_hidden(False):
        _speak()
    assert "native notice" in capfd.readouterr().err
    assert "retracing" in caplog.text
