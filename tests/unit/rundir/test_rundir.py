"""The run folder: its status (written whole, read on a copied folder), and resuming into it."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from helpers import dead_pid, fake_run_folder, write_space

from sweep import rundir
from sweep.errors import ConfigError
from sweep.rundir import RunDir
from sweep.rundir.lock import RunLock
from sweep.space import config

# --- Status ---------------------------------------------------------------------------


def test_status_is_written_whole(tmp_path):
    rundir.write_status(RunDir(tmp_path), "failed", reason="out of memory")
    rundir.write_status(RunDir(tmp_path), "running")
    status = json.loads(RunDir(tmp_path).status.read_text())
    assert status["state"] == "running" and "reason" not in status


def test_a_running_sweep_of_another_host_is_trusted_not_pid_checked(small_run_copy):
    status = json.loads((small_run_copy / "status.json").read_text())
    # A fresh heartbeat: the fixture's run may have ended minutes ago in a long session.
    status.update(state="running", pid=dead_pid(), host="another-machine", heartbeat=time.time())
    (small_run_copy / "status.json").write_text(json.dumps(status))
    assert rundir.run_state(RunDir(small_run_copy)) == "running"


# --- Resuming: the saved space --------------------------------------------------------


def test_same_space_with_more_trials_resumes(tmp_path, csv_path):
    """Raising max_trials is "run some more", not another space."""
    cfg = config.load(write_space(tmp_path / "space.yaml", f"csv:{csv_path}"))
    run_dir = tmp_path / "res" / cfg.name
    fake_run_folder(run_dir, cfg)
    more = config.apply_overrides(cfg, max_trials=cfg.tuner.max_trials + 5)
    with RunLock(RunDir(run_dir)):  # as the sweep prepares its run
        assert rundir.prepare(more, RunDir(run_dir), overwrite=False) is True
        fewer_epochs = config.apply_overrides(cfg, epochs=1)
        with pytest.raises(ConfigError, match="tuner.epochs"):
            rundir.prepare(fewer_epochs, RunDir(run_dir), overwrite=False)


def test_a_run_saved_before_a_new_key_resumes(tmp_path, csv_path):
    """Keys added to the harness since a run was saved count as their defaults there."""
    cfg = config.load(write_space(tmp_path / "space.yaml", f"csv:{csv_path}"))
    run_dir = tmp_path / "res" / cfg.name
    fake_run_folder(run_dir, cfg)
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    del saved["hyperparameters"]["embedding_dropout"], saved["data"]["test_split"]
    (run_dir / "config.yaml").write_text(yaml.safe_dump(saved))
    with RunLock(RunDir(run_dir)):  # as the sweep prepares its run
        assert rundir.prepare(cfg, RunDir(run_dir), overwrite=False) is True
        (run_dir / "config.yaml").write_text(yaml.safe_dump(saved))
        changed = config.load(write_space(tmp_path / "other.yaml", f"csv:{csv_path}",
                                          hyperparameters={"embedding_dropout": 0.2}))
        with pytest.raises(ConfigError, match="hyperparameters.embedding_dropout"):
            rundir.prepare(changed, RunDir(run_dir), overwrite=False)
