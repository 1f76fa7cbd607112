"""The README's tour, pasted into a plain shell after `make install`: no Makefile, no TFDS_DATA_DIR."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from helpers import ROOT, SHARED_TFDS, requires_imdb


def tour_script() -> str:
    """The README tour's shell block: the one that activates .venv and runs a sweep."""
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    tour = [b for b in blocks if "source .venv/bin/activate" in b]
    assert len(tour) == 1, blocks
    return tour[0]


@pytest.mark.imdb
@requires_imdb
def test_the_readme_tour_finds_the_prepared_imdb_in_a_plain_shell(tmp_path):
    """Run as pasted (from a folder laid out as the checkout), it finds the prepared IMDB beside
    the checkout and starts; stopped there with Ctrl-C, as training the whole tour would take long."""
    script = tour_script()
    assert "sweep run search_spaces/imdb_rnn.yaml" in script
    venv = ROOT / ".venv" if (ROOT / ".venv").is_dir() else Path(sys.executable).parents[1]
    (tmp_path / ".venv").symlink_to(venv)
    (tmp_path / "search_spaces").symlink_to(ROOT / "search_spaces")
    env = {k: v for k, v in os.environ.items() if k not in ("TFDS_DATA_DIR", "TF_CPP_MIN_LOG_LEVEL")}
    # HOME without ~/tensorflow_datasets; this checkout's `sweep` (a fresh clone's editable install).
    env.update(HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT))
    # SIGINT as a terminal has it: a runner started in the background (`cmd &`) hands its
    # children SIGINT ignored, and the Ctrl-C below would then be lost.
    proc = subprocess.Popen(["bash", "-c", script], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    watchdog = threading.Timer(500, os.killpg, (proc.pid, signal.SIGKILL))
    watchdog.start()
    lines = []
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if line.startswith("Starting sweep"):
                os.killpg(proc.pid, signal.SIGINT)
                break
        _, err = proc.communicate(timeout=120)
    finally:
        watchdog.cancel()
        if proc.poll() is None:  # a failed test leaves no sweep training behind
            os.killpg(proc.pid, signal.SIGKILL)
    started = [ln for ln in lines if ln.startswith("Starting sweep")]
    assert started, "".join(lines) + err[-3000:]
    assert (f"data tfds:imdb_reviews from {SHARED_TFDS.resolve() / 'imdb_reviews' / 'plain_text' / '1.0.0'} "
            "(the prepared copy beside the checkout)") in started[0]
    assert "Traceback" not in err and "urllib3" not in err, err[-3000:]
    assert proc.returncode == 130, err[-3000:]
    assert not (tmp_path / "home" / "tensorflow_datasets").exists()
