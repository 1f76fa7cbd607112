"""MLflow tracking against a real `mlflow server`, read back with MlflowClient.

- a tracked sweep: params == the trials' hyperparameters, each trial's metric history ==
  history.csv to the last digit, statuses == trials.csv, timings and memory, the parent's
  artifacts and test figures; `sweep track` on an untracked copy gives the same content, and
  run again it adds nothing;
- SIGKILL mid-trial, then resume: one parent, one live run per trial, nothing twice;
- a server that refuses, or is killed mid-sweep: the sweep ends as usual with one warning,
  and `sweep track` repairs the server afterwards;
- a run folder made by rnn-sweep 0.1;
- `sweep confirm --mlflow` and `sweep export --mlflow --register`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import CPU, ROOT, make_examples, run_cli, start_cli, write_csv, write_space

from e2e.mlflow_server import MlflowServer, content, expected_history, histories, sweep_runs

pytest.importorskip("mlflow")

STATUS = {"COMPLETED": "FINISHED", "FAILED": "FAILED", "INTERRUPTED": "KILLED"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = MlflowServer(tmp_path_factory.mktemp("mlflow")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("tracking_data") / "reviews.csv", make_examples(300, seed=5))


def space(folder: Path, data: Path, name: str, **tuner) -> Path:
    return write_space(folder / f"{name}.yaml", f"csv:{data}", name=name,
                       tuner={"algorithm": "grid", "max_trials": 2, "epochs": 2, "seed": 2, **tuner},
                       hyperparameters={"cell": ["gru", "lstm"], "vocab_size": 100, "embedding_dim": 8,
                                        "hidden_units": 8, "learning_rate": 0.01})


def no_env() -> dict:
    return {"MLFLOW_TRACKING_URI": "", "MLFLOW_EXPERIMENT_NAME": ""}


def tables(run: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (pd.read_csv(run / "trials.csv", dtype={"trial_id": str}),
            pd.read_csv(run / "history.csv", dtype={"trial_id": str}))


def assert_matches_folder(uri: str, experiment: str, run: Path) -> None:
    """The server holds what the run folder holds."""
    from sweep import rundir

    space_of_run = rundir.load_config(rundir.RunDir(run))
    trials, history = tables(run)
    parent, runs, _ = sweep_runs(uri, experiment)
    assert sorted(runs) == sorted(trials.trial_id)
    for _, row in trials.iterrows():
        r = runs[row.trial_id]
        assert r.data.tags["mlflow.parentRunId"] == parent.info.run_id
        values = json.loads((run / "tuner" / f"trial_{row.trial_id}" / "trial.json").read_text())
        hps = values["hyperparameters"]["values"]
        # Every hyperparameter of the space (those the trial did not draw at their defaults, as in
        # trials.csv); those it drew as KerasTuner saved them.
        assert set(r.data.params) == set(space_of_run.hyperparameters)
        assert {k: r.data.params[k] for k in hps} == {k: str(v) for k, v in hps.items()}
        want = expected_history(history, row.trial_id,
                                int(row.best_epoch) if row.status == "COMPLETED" else None)
        assert histories(uri, r.info.run_id, list(want)) == want  # to the last digit
        assert r.info.status == STATUS[row.status]
        assert r.data.tags["rnn_sweep.status"] == row.status
        assert r.data.metrics["seconds"] == row.seconds
        assert r.data.metrics["peak_rss_mb"] == row.peak_rss_mb
        if row.status == "COMPLETED":
            assert r.data.metrics["objective"] == row.val_accuracy


def test_live_tracking_holds_the_run_folder_and_track_gives_the_same(server, data, tmp_path):
    spec = space(tmp_path, data, "live")
    proc = run_cli("run", str(spec), "--results-dir", str(tmp_path / "results"), "--mlflow", server.uri,
                   env=no_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Warning" not in proc.stdout + proc.stderr
    run = tmp_path / "results" / "live"
    assert_matches_folder(server.uri, "live", run)
    parent, _, _ = sweep_runs(server.uri, "live")
    test = json.loads((run / "test.json").read_text())
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["test_accuracy"] == test["test_accuracy"]
    assert parent.data.params["tuner.algorithm"] == "grid"
    assert parent.data.tags["rnn_sweep.data_source"] == f"csv:{data}"
    # Where it tracks, said at the start: the server and experiment, then the parent run's page.
    out = proc.stdout
    assert out.index(f"MLflow: tracking at {server.uri}, experiment 'live'") < out.index("Starting sweep")
    assert (f"MLflow: parent run {parent.info.run_id}: {server.uri}/#/experiments/"
            f"{parent.info.experiment_id}/runs/{parent.info.run_id}") in out
    assert json.loads(parent.data.tags["rnn_sweep.classes"]) == ["0", "1"]
    live = content(server.uri, "live")
    assert {"config.yaml", "trials.csv", "history.csv", "test.json", "plots/best_curves.png"} \
        <= set(live["parent"]["artifacts"])
    saved = json.loads((run / "mlflow.json").read_text())
    assert saved["servers"][server.uri]["parent"] == parent.info.run_id

    # The same folder, untracked (another name, so another experiment): `sweep track` == live.
    copy = tmp_path / "copy" / "live"
    shutil.copytree(run, copy)
    (copy / "mlflow.json").unlink()
    proc = run_cli("track", str(copy), "--mlflow", server.uri, "--experiment", "live-tracked-later",
                   env=no_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    later = content(server.uri, "live-tracked-later")
    assert later == live

    # Idempotent: again, nothing is added (no run, no metric value).
    before = sweep_runs(server.uri, "live-tracked-later")[2]
    proc = run_cli("track", str(copy), "--mlflow", server.uri, "--experiment", "live-tracked-later",
                   env=no_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(sweep_runs(server.uri, "live-tracked-later")[2]) == len(before)
    assert content(server.uri, "live-tracked-later") == later


def test_sigkill_mid_trial_then_resume_duplicates_nothing(server, data, tmp_path):
    spec = space(tmp_path, data, "killed")
    results = tmp_path / "results"
    # Killed once trial 1's first epoch is on disk (epochs.csv's 5th write: trial 0's empty one
    # and 2 epochs, trial 1's empty one and its first epoch).
    killed = run_cli("run", spec, "--results-dir", results, "--mlflow", server.uri,
                     fault="after-write:epochs.csv:5", env={**no_env(), **CPU})
    assert killed.returncode == -9, killed.stderr[-3000:]
    # What the killed sweep sent, and a `sweep track` of the dead folder (trial 1: RUNNING, 1 epoch).
    proc = run_cli("track", str(results / "killed"), "--mlflow", server.uri, env=no_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_cli("run", str(spec), "--results-dir", str(results), "--mlflow", server.uri, env=no_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = results / "killed"
    assert_matches_folder(server.uri, "killed", run)  # one parent, one live run per trial
    _, trials, every = sweep_runs(server.uri, "killed")
    retried = [r for r in every if r.data.tags.get("rnn_sweep.superseded") == "true"]
    # The killed attempt of trial 1 (its first epoch was logged), closed: KILLED, kept apart.
    assert [(r.data.tags["rnn_sweep.trial_id"], r.info.status) for r in retried] == [("1", "KILLED")]
    assert len(every) == 1 + 2 + 1


def test_a_refusing_server_costs_one_warning_and_track_repairs(server, data, tmp_path):
    from e2e.mlflow_server import free_port

    spec = space(tmp_path, data, "offline")
    nowhere = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    proc = run_cli("run", str(spec), "--results-dir", str(tmp_path / "results"), "--mlflow", nowhere,
                   env=no_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    assert out.count("Warning: MLflow tracking") == 1, out
    assert f"sweep track {tmp_path / 'results' / 'offline'} --mlflow {nowhere}" in out
    assert time.monotonic() - started < 400
    run = tmp_path / "results" / "offline"
    assert (run / "test.json").exists()
    proc = run_cli("track", str(run), "--mlflow", server.uri, env=no_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_matches_folder(server.uri, "offline", run)


# In CI: test_a_refusing_server_costs_one_warning_and_track_repairs, and
# unit/track/test_live.py::test_a_refusing_server_is_said_once_and_the_sweep_goes_on.
@pytest.mark.battery
def test_server_killed_mid_sweep_then_track_repairs(tmp_path, data):
    srv = MlflowServer(tmp_path / "mlflow").start()
    try:
        spec = space(tmp_path, data, "outage", max_trials=2)
        results = tmp_path / "results"
        sweep = start_cli("run", spec, "--results-dir", results, "--mlflow", srv.uri,
                          env={"MLFLOW_TRACKING_URI": ""}, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
        first = results / "outage" / "tuner" / "trial_0" / "sweep.json"
        deadline = time.monotonic() + 600
        while not first.exists() and time.monotonic() < deadline and sweep.poll() is None:
            time.sleep(0.2)
        srv.stop()  # trial 0 has ended; trial 1 and the end of the sweep find no server
        out, _ = sweep.communicate(timeout=600)
        assert sweep.returncode == 0, out[-3000:]
        assert out.count("Warning: MLflow tracking") == 1, out
        srv.start()
        proc = run_cli("track", str(results / "outage"), "--mlflow", srv.uri, env=no_env())
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert_matches_folder(srv.uri, "outage", results / "outage")
        parent, _, _ = sweep_runs(srv.uri, "outage")
        assert parent.info.status == "FINISHED"
    finally:
        srv.stop()


def test_track_a_run_made_by_0_1(server, tmp_path):
    run = Path(shutil.copytree(ROOT / "tests" / "data" / "run_made_by_0.1", tmp_path / "old_run"))
    for _ in range(2):  # the second time adds nothing
        proc = run_cli("track", str(run), "--mlflow", server.uri, "--experiment", "made-by-0.1",
                       env=no_env())
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert_matches_folder(server.uri, "made-by-0.1", run)
    assert len(sweep_runs(server.uri, "made-by-0.1")[2]) == 3


def test_track_without_a_server_is_one_line(tmp_path):
    run = Path(shutil.copytree(ROOT / "tests" / "data" / "run_made_by_0.1", tmp_path / "old_run"))
    proc = run_cli("track", str(run), env=no_env())
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "sweep: error: track: no tracking server; pass --mlflow URI (or set MLFLOW_TRACKING_URI)"]


# In CI: the sweep's own runs (test_live_tracking_holds_the_run_folder_and_track_gives_the_same).
@pytest.mark.battery
def test_confirm_and_export_log_under_the_sweep(server, data, tmp_path):
    spec = space(tmp_path, data, "confirmed")
    results = tmp_path / "results"
    run = results / "confirmed"
    proc = run_cli("run", str(spec), "--results-dir", str(results), "--mlflow", server.uri, env=no_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    # No --mlflow: the URI the run's saved space names.
    proc = run_cli("confirm", str(run), "--top", "1", "--seeds", "2", env=no_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    parent, trials, every = sweep_runs(server.uri, "confirmed")
    repeats = pd.read_csv(run / "confirm.csv", dtype={"trial_id": str})
    confirm_runs = [r for r in every if r.data.tags.get("rnn_sweep.kind") == "confirm"]
    assert len(confirm_runs) == len(repeats) == 2
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in confirm_runs)
    assert sorted(r.data.params["seed"] for r in confirm_runs) == sorted(str(s) for s in repeats.seed)
    assert sorted(r.data.metrics["val_accuracy"] for r in confirm_runs) == sorted(repeats.val_accuracy)
    confirmed = json.loads((run / "test.json").read_text())["confirmed"]
    assert parent.data.metrics["confirmed_test_accuracy"] == confirmed["test_accuracy"]

    proc = run_cli("export", str(run), "--mlflow", server.uri, "--register", "rnn-sweep-test", env=no_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    best = json.loads((run / "test.json").read_text())["trial_id"]
    from e2e.mlflow_server import _artifacts, client

    c = client(server.uri)
    files = _artifacts(c, trials[best].info.run_id, f"export/trial_{best}")
    assert f"export/trial_{best}/model_card.json" in files
    assert any(f.startswith(f"export/trial_{best}/saved_model/") for f in files)
    version = c.get_model_version("rnn-sweep-test", "1")
    assert version.run_id == trials[best].info.run_id
    assert "registered 'rnn-sweep-test' version 1" in proc.stdout


# In CI: test_distributed.py's test_chief_and_two_workers_run_each_trial_once and, for one run
# per trial on the server, test_sigkill_mid_trial_then_resume_duplicates_nothing.
@pytest.mark.battery
def test_workers_log_each_trial_once(server, synthetic_csv, tmp_path):
    from e2e.workers import DEADLINE, check_complete, finish, launch, space_of_4

    results = tmp_path / "results"
    spec = space_of_4(tmp_path, synthetic_csv, epochs=2)
    proc = launch(spec, results, "--mlflow", server.uri)
    out, err = finish(proc, str(tmp_path), DEADLINE)
    check_complete(results, out, err, proc.returncode)
    assert "Warning" not in out + err
    assert_matches_folder(server.uri, "synthetic", results / "synthetic")
    every = sweep_runs(server.uri, "synthetic")[2]
    assert len(every) == 1 + 4  # the parent and one run per trial, none twice


def test_failed_trials_are_failed_runs_with_their_reason(server, tmp_path):
    """A made-up run folder (no training): FAILED trials -> FAILED runs, reason as a tag."""
    from helpers import synthetic_run

    from sweep import cli
    from sweep.analysis import results

    run = synthetic_run(tmp_path / "failing", trials=6, failed=2, epochs=3)
    results.write_tables(run)
    assert cli.main(["track", str(run), "--mlflow", server.uri]) == 0
    assert_matches_folder(server.uri, "failing", run)
    trials, _ = tables(run)
    _, runs, _ = sweep_runs(server.uri, "failing")
    failed = trials[trials.status == "FAILED"]
    assert len(failed) == 2
    for _, row in failed.iterrows():
        assert runs[row.trial_id].info.status == "FAILED"
        assert runs[row.trial_id].data.tags["rnn_sweep.reason"] == row.reason
        assert "objective" not in runs[row.trial_id].data.metrics  # never scored
