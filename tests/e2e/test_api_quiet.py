"""A script that calls the Python API sees no TensorFlow log, as the CLI's user does not."""

from __future__ import annotations

import os
import subprocess
import sys

from helpers import ROOT, make_examples, write_csv, write_space


def test_a_script_calling_the_api_sees_no_tensorflow_log(tmp_path):
    """As a user's script (no CLI): TF's import notices (oneDNN, cuInit, ...) do not reach stderr."""
    data = write_csv(tmp_path / "d.csv", make_examples(120, seed=1))
    space = write_space(tmp_path / "space.yaml", f"csv:{data}", tuner={"max_trials": 1, "epochs": 1},
                        data={"max_length": 16})
    script = f"import sweep; sweep.run({str(space)!r}, results_dir={str(tmp_path / 'r')!r})"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Starting sweep" in proc.stdout
    assert not [ln for ln in proc.stderr.splitlines() if ln[:1] in "IWE" and ln[1:5].isdigit()], proc.stderr
    assert "WARNING:tensorflow" not in proc.stderr and "absl" not in proc.stderr, proc.stderr
