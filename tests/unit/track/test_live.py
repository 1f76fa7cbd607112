"""Live tracking's contract with the sweep: nudges return at once, the end waits a bounded
time, and a failing server is said once. The server is replaced by a fake reconciler here;
tests/e2e/test_tracking.py runs the real one against a real server."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("mlflow")

from sweep import track  # noqa: E402
from sweep.rundir import RunDir  # noqa: E402


class Fake:
    """Stands for `sweep.track.mlflow.Reconciler`: counts syncs, fails or hangs on demand."""

    fail = False
    hang: threading.Event | None = None
    syncs = 0

    def __init__(self, run, uri, experiment):
        self.state = {}

    def sync(self, final=None):
        if Fake.hang is not None:
            Fake.hang.wait()
        if Fake.fail:
            raise ConnectionError("Connection refused")
        Fake.syncs += 1
        return {}


@pytest.fixture
def fake(monkeypatch):
    import sweep.track.mlflow as tracking

    monkeypatch.setattr(tracking, "Reconciler", Fake)
    Fake.fail, Fake.hang, Fake.syncs = False, None, 0
    yield Fake
    if Fake.hang is not None:
        Fake.hang.set()  # lets the abandoned thread end


def live(said: list[str]) -> track.Live:
    return track.Live(RunDir("results/t"), "http://127.0.0.1:9", None, said.append)


def test_a_refusing_server_is_said_once_and_the_sweep_goes_on(fake):
    fake.fail = True
    said: list[str] = []
    tracker = live(said)
    for _ in range(3):
        tracker.update()
    tracker.close()
    assert len(said) == 1
    assert said[0].startswith("Warning: MLflow tracking at http://127.0.0.1:9 failed (Connection refused); "
                              "the sweep goes on.")
    assert "`sweep track results/t --mlflow http://127.0.0.1:9`" in said[0]


def test_the_last_sync_is_waited_for_and_a_hung_server_only_up_to_the_timeout(fake):
    said: list[str] = []
    tracker = live(said)
    tracker.close()
    assert fake.syncs == 1 and said == []  # the last records were sent before close returned

    fake.hang = threading.Event()  # a server that accepts and never answers
    said = []
    tracker = live(said)
    tracker.update()
    tracker.close(timeout=0.5)  # returns although the sync is still waiting
    assert tracker._thread.is_alive()
    assert said == ["Warning: MLflow tracking at http://127.0.0.1:9 failed (no answer within 0 s); the "
                    "sweep goes on. `sweep track results/t --mlflow http://127.0.0.1:9` brings the server "
                    "up to date."]


def test_credentials_in_the_environment_uri_are_never_shown(fake):
    fake.fail = True
    said: list[str] = []
    tracker = track.Live(RunDir("results/t"), "https://me:secret@mlflow.example:443/x?token=abc", None,
                         said.append)
    tracker.close()
    assert "secret" not in said[0] and "abc" not in said[0] and "me:" not in said[0]
    assert "https://mlflow.example:443/x" in said[0]


def test_an_error_message_loses_the_credentials_of_the_uri():
    uri = "https://me:secret@mlflow.example/x"
    said = track.redact(f"API request to {uri}/api/2.0/mlflow/runs/create failed; "
                        "see https://u:p@other.example/", uri)
    assert "secret" not in said and "u:p@" not in said
    assert said.startswith("API request to https://mlflow.example/x/api")
