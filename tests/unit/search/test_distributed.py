"""sweep.search.distributed without processes: roles and addresses, the port check, and the
shared run folder (the chief's tuner state, the chief's saved space). No TensorFlow.

The chief and workers as real processes are in e2e/test_distributed.py.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from sweep.errors import ConfigError
from sweep.rundir import RunDir
from sweep.search import distributed
from sweep.space import config


def test_role_env_and_addresses():
    role = distributed.role_from_flags(None, "worker", "[::1]:8000", "w1")
    assert role.env() == {"KERASTUNER_TUNER_ID": "w1", "KERASTUNER_ORACLE_IP": "[::1]",
                          "KERASTUNER_ORACLE_PORT": "8000"}
    assert distributed.role_from_flags(None, "chief", "0.0.0.0:9", None).tuner_id == "chief"
    assert distributed.role_from_flags(None, None, None, None) is None
    with pytest.raises(ConfigError, match="brackets"):
        distributed.parse_address("::1:8000")


def test_a_busy_port_is_refused():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match="cannot listen there"):
            distributed.check_port_free("127.0.0.1", port)


def test_adopt_tuner_state_keeps_the_oracle(tmp_path: Path):
    run = RunDir(tmp_path)
    run.tuner.mkdir()
    run.oracle_json.write_text("{}")
    run.tuner_state("tuner0").write_text('{"x": 1}')
    distributed.adopt_tuner_state(run, "chief")
    assert run.tuner_state("chief").read_text() == '{"x": 1}'
    distributed.adopt_tuner_state(RunDir(tmp_path / "none"), "chief")  # no run there: nothing to do


def test_a_worker_checks_the_chiefs_saved_space(space_file: Path, tmp_path: Path):
    cfg = config.load(space_file)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    run = RunDir(run_dir)
    distributed.check_worker_run_dir(cfg, run)  # nothing saved yet: the chief decides
    saved = cfg.to_dict()
    saved["tuner"]["max_trials"] += 7  # the chief's count is the one that counts
    del saved["hyperparameters"]["embedding_dropout"]  # saved before the key existed
    (run_dir / "config.yaml").write_text(yaml.safe_dump(saved))
    distributed.check_worker_run_dir(cfg, run)
    saved["hyperparameters"]["hidden_units"] = 3
    (run_dir / "config.yaml").write_text(yaml.safe_dump(saved))
    with pytest.raises(ConfigError, match="than this worker's.*hyperparameters.hidden_units"):
        distributed.check_worker_run_dir(cfg, run)
