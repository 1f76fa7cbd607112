"""The tracking switch: the space's `tracking:` keys, --mlflow, MLFLOW_TRACKING_URI, the extra.

No server here (tests/e2e/test_tracking.py has one): what is refused, before any work, and
what tracking would use.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import ROOT

from sweep import rundir, track
from sweep.errors import ConfigError, UsageError
from sweep.rundir import RunDir
from sweep.space import config

SPACE = {"name": "t", "hyperparameters": {"cell": ["gru", "lstm"]}}


def with_tracking(**tracking):
    return config.from_dict({**SPACE, "tracking": tracking})


def test_tracking_keys_are_read_and_saved():
    cfg = with_tracking(mlflow="http://127.0.0.1:5000", experiment="team")
    assert cfg.tracking == config.TrackingConfig("http://127.0.0.1:5000", "team")
    assert config.from_dict(cfg.to_dict()) == cfg
    # Off: nothing about tracking in the saved space (runs made before it read the same).
    assert "tracking" not in config.from_dict(SPACE).to_dict()


@pytest.mark.parametrize("tracking, message", [
    ({"mlfow": "http://h"}, "tracking.mlfow: unknown key (did you mean 'mlflow'?); expected one of "
                            "mlflow, experiment"),
    ({"mlflow": 5000}, "tracking.mlflow: expected an MLflow tracking URI such as http://127.0.0.1:5000, "
                       "got 5000"),
    ({"mlflow": "http://me:secret@host:5000"}, "tracking.mlflow: the URI holds a user name or password; "
     "give them in MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) "
     "instead, which are never saved"),
    ({"experiment": "x"}, "tracking.experiment: given without tracking.mlflow (the tracking URI)"),
])
def test_bad_tracking_keys_are_one_line(tracking, message):
    with pytest.raises(ConfigError) as e:
        with_tracking(**tracking)
    assert str(e.value) == message


def test_the_flag_overrides_the_space_and_names_itself():
    cfg = config.apply_overrides(with_tracking(mlflow="http://a:1"), mlflow="http://b:2")
    assert cfg.tracking.mlflow == "http://b:2"
    with pytest.raises(ConfigError, match=r"^--mlflow: the URI holds a user name"):
        config.apply_overrides(config.from_dict(SPACE), mlflow="https://u:p@host")


def test_switching_tracking_on_or_off_resumes_the_same_sweep(tmp_path):
    run = RunDir(tmp_path / "t")
    run.path.mkdir()
    run.config.write_text(config.from_dict(SPACE).to_yaml())
    assert rundir.saved_space_diffs(with_tracking(mlflow="http://h:1"), run) == []


def test_the_uri_comes_from_the_flag_then_the_space_then_the_environment(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://env:1")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    spaced = with_tracking(mlflow="http://space:1", experiment="e")
    assert track.uri_for(spaced, "http://flag:1") == "http://flag:1"
    assert track.uri_for(spaced) == "http://space:1"
    assert track.uri_for(config.from_dict(SPACE)) == "http://env:1"
    assert track.experiment_for(spaced) == "e"
    assert track.experiment_for(config.from_dict(SPACE)) is None  # the sweep's name
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert track.uri_for(config.from_dict(SPACE)) is None
    assert isinstance(track.live(RunDir("unused"), config.from_dict(SPACE), print), track.Off)


def test_asked_for_without_mlflow_installed_is_one_line(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(UsageError) as e:
        track.check(with_tracking(mlflow="http://h:1"))
    assert str(e.value) == "MLflow tracking needs MLflow: pip install 'rnn-sweep[mlflow]'"
    assert track.check(config.from_dict(SPACE)) is None  # off: MLflow is not needed


def test_the_cli_refuses_a_missing_mlflow_before_any_work(tmp_path):
    """`sweep run --mlflow` without MLflow importable: exit 2, one line, no run folder."""
    (tmp_path / "space.yaml").write_text("name: t\ndata: {source: 'csv:nothing.csv'}\n"
                                         "hyperparameters: {cell: gru}\n")
    code = ("import importlib.util, sys\n"
            "real = importlib.util.find_spec\n"
            "importlib.util.find_spec = lambda n, *a: None if n == 'mlflow' else real(n, *a)\n"
            "from sweep import cli\n"
            "sys.exit(cli.main(sys.argv[1:]))\n")
    proc = subprocess.run([sys.executable, "-c", code, "run", str(tmp_path / "space.yaml"), "--mlflow",
                           "http://127.0.0.1:9", "--results-dir", str(tmp_path / "results")],
                          capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "sweep: error: MLflow tracking needs MLflow: pip install 'rnn-sweep[mlflow]'"]
    assert not (tmp_path / "results").exists()


def test_a_sweep_without_tracking_never_imports_mlflow():
    code = ("import sys\n"
            "import sweep.lifecycle, sweep.cli, sweep.track\n"
            "from sweep.space import config\n"
            "sweep.track.live(None, config.from_dict({'name': 't', 'hyperparameters': {'cell': 'gru'}}),"
            " print).close()\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'mlflow'], 'mlflow imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
