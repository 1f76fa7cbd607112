"""sweep.launcher (`sweep run --workers N`) without TensorFlow: the children's arguments and
devices, and the supervisor on stand-in shell processes.
"""

from __future__ import annotations

import signal
from pathlib import Path

from sweep.search import launcher


def test_child_argv_drops_workers_only():
    argv = ["run", "s.yaml", "--workers", "3", "--epochs", "2", "--workers=4", "--overwrite"]
    assert launcher.child_argv(argv) == ["run", "s.yaml", "--epochs", "2", "--overwrite"]


def test_device_env_shares_gpus_round_robin():
    assert launcher.device_env(0, [], 2) == {}
    assert launcher.device_env(3, ["0", "1"], 4)["CUDA_VISIBLE_DEVICES"] == "1"
    assert "TF_FORCE_GPU_ALLOW_GROWTH" not in launcher.device_env(1, ["0", "1"], 2)
    assert launcher.device_env(None, ["2", "3"], 2) == {
        "CUDA_VISIBLE_DEVICES": "2", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}


def _sh(name: str, script: str, tmp_path: Path) -> launcher.Child:
    return launcher.Child(name, ["sh", "-c", script], {}, log=tmp_path / f"{name}.log")


def test_supervisor_restarts_a_killed_worker_under_its_id(tmp_path: Path):
    # worker1 kills itself the first time only; the chief ends once both workers are done.
    chief = _sh("chief", f"while [ ! -e {tmp_path}/w0 ] || [ ! -e {tmp_path}/w1 ]; do sleep 0.1; done",
                tmp_path)
    crew = [_sh("worker0", f"touch {tmp_path}/w0", tmp_path),
            _sh("worker1", f"[ -e {tmp_path}/once ] && touch {tmp_path}/w1 && exit 0; "
                           f"touch {tmp_path}/once; kill -9 $$", tmp_path)]
    for child in (chief, *crew):
        child.start()
    assert launcher.supervise(chief, crew, max_restarts=1, grace=10, interrupted=lambda: 0) == 0
    assert crew[1].restarts == 1


def test_supervisor_stops_a_chief_stalled_by_a_dead_worker(tmp_path: Path, capsys):
    # KerasTuner's chief waits for ever for a dead worker's trial: with no restarts left,
    # the launcher stops it (SIGINT, as Ctrl-C) and fails.
    chief = _sh("chief", "exec sleep 120", tmp_path)
    crew = [_sh("worker0", "exit 0", tmp_path), _sh("worker1", "kill -9 $$", tmp_path)]
    for child in (chief, *crew):
        child.start()
    assert launcher.supervise(chief, crew, max_restarts=0, grace=60, interrupted=lambda: 0) == 1
    assert chief.proc.returncode == -signal.SIGINT  # stopped, not waited out nor killed
    assert "worker1 was killed by SIGKILL" in capsys.readouterr().err
