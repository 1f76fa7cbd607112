"""The distributed oracle answers only the sweep's own processes: a real chief, a raw client.

KerasTuner's chief serves its oracle over gRPC with no authentication; the sweep adds a
shared secret (metadata "x-sweep-oracle-secret", from $SWEEP_ORACLE_SECRET or
RUN/oracle.secret, written 0600 by the chief). A whole `--workers 2` sweep is run by
test_distributed.py (test_chief_and_two_workers_run_each_trial_once), not again here.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest
from helpers import ROOT, logged, make_examples, run_cli, start_cli, write_csv, write_space

from sweep.search.launcher import free_port

SECRET_METADATA = "x-sweep-oracle-secret"
START_DEADLINE = 300  # seconds for a chief to load the data, build the tuner and listen
STOP_DEADLINE = 60  # seconds for a chief to stop after Ctrl-C


def _space(folder: Path) -> Path:
    csv = write_csv(folder / "reviews.csv", make_examples(200, seed=2))
    return write_space(folder / "space.yaml", f"csv:{csv}",
                       tuner={"algorithm": "grid", "max_trials": 2, "epochs": 1},
                       hyperparameters={"cell": ["lstm", "gru"], "vocab_size": 100,
                                        "embedding_dim": 8, "hidden_units": 8,
                                        "learning_rate": 0.01})


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


@pytest.fixture
def chief(tmp_path):
    """A real chief on a free loopback port, stopped (Ctrl-C, then SIGKILL) at the end.

    Yields (process, port, run folder, log path prefix).
    """
    port = free_port()
    results = tmp_path / "results"
    log = tmp_path / "chief"
    proc = start_cli("run", _space(tmp_path), "--results-dir", results, "--role", "chief",
                     "--oracle", f"127.0.0.1:{port}", log=log, cwd=ROOT)
    try:
        deadline = time.monotonic() + START_DEADLINE
        while not _listening(port):
            if proc.poll() is not None:
                pytest.fail(f"the chief exited ({proc.returncode}) before it listened:\n{logged(log)}")
            if time.monotonic() > deadline:
                pytest.fail("the chief did not listen in time")
            time.sleep(0.3)
        yield proc, port, results / "synthetic", log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_the_oracle_answers_only_callers_with_the_secret(chief):
    import grpc
    from keras_tuner.src import protos

    proc, port, run, log = chief
    secret_file = run / "oracle.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32

    service = protos.get_service()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = protos.get_service_grpc().OracleStub(channel)
        for metadata in (None, [(SECRET_METADATA, "not-the-secret")], [(SECRET_METADATA, "")]):
            with pytest.raises(grpc.RpcError) as refused:
                stub.GetSpace(service.GetSpaceRequest(), metadata=metadata, timeout=30)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED, refused.value
        # A call that would change the sweep is refused too, and changes nothing.
        with pytest.raises(grpc.RpcError) as refused:
            stub.CreateTrial(service.CreateTrialRequest(tuner_id="intruder"), timeout=30)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert not list((run / "tuner").glob("trial_*"))

        space = stub.GetSpace(service.GetSpaceRequest(), metadata=[(SECRET_METADATA, secret)],
                              timeout=30)
        names = {hp.name for hp in space.hyperparameters.space.choice_space}
        assert "cell" in names, space

    # Ctrl-C stops the chief on its own (the fixture's SIGKILL is only a safety net).
    proc.send_signal(signal.SIGINT)
    try:
        rc = proc.wait(timeout=STOP_DEADLINE)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the chief did not exit within {STOP_DEADLINE}s of Ctrl-C")
    output = logged(log)
    assert rc == 130, output
    assert "Traceback" not in output
    assert json.loads((run / "status.json").read_text())["state"] == "interrupted"


def test_a_second_worker_with_a_live_id_is_refused(tmp_path):
    """The live worker is simulated by holding its lock file, as a worker does."""
    results = tmp_path / "results"
    lock = results / "synthetic" / "logs" / "worker0.lock"
    lock.parent.mkdir(parents=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                                 "started": time.time()}).encode())
        proc = run_cli("run", _space(tmp_path), "--results-dir", results, "--role", "worker",
                       "--oracle", f"127.0.0.1:{free_port()}", "--worker-id", "worker0", cwd=ROOT)
    finally:
        os.close(fd)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "worker id 'worker0'" in lines[0] and f"process {os.getpid()} " in lines[0]
    assert sorted(p.name for p in (results / "synthetic").rglob("*")) == ["logs", "worker0.lock"]
