"""One figure per trial everywhere: MLflow's runs table shows trials.csv's (best-epoch) values.

Against a real `mlflow server`, `sweep track` of the checked-in small run, whose trial 1 was
best at its first epoch (val_accuracy 0.9375, then 0.9219 at its last).
"""

from __future__ import annotations

import pandas as pd
import pytest

from e2e.mlflow_server import MlflowServer, client, expected_history, histories, sweep_runs
from sweep import cli

pytest.importorskip("mlflow")

METRICS = ["val_accuracy", "val_loss", "accuracy", "loss"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = MlflowServer(tmp_path_factory.mktemp("mlflow_best")).start()
    yield srv
    srv.stop()


def test_the_runs_table_shows_the_best_epoch_and_each_epoch_keeps_its_time(server, small_run_copy, capsys,
                                                                          monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert cli.main(["track", str(small_run_copy), "--mlflow", server.uri, "--experiment", "best"]) == 0
    capsys.readouterr()
    trials = pd.read_csv(small_run_copy / "trials.csv", dtype={"trial_id": str})
    history = pd.read_csv(small_run_copy / "history.csv", dtype={"trial_id": str})
    assert (trials.best_epoch < trials.epochs_run).any()  # a trial whose last epoch is not its best
    _, runs, _ = sweep_runs(server.uri, "best")
    for _, row in trials.iterrows():
        r = runs[row.trial_id]
        # The runs table (a metric's value at its last step) == trials.csv == sweep report.
        assert {m: r.data.metrics[m] for m in METRICS} == {m: row[m] for m in METRICS}
        # Each epoch's own values, and the best epoch's once more at the step after the last.
        want = expected_history(history, row.trial_id, int(row.best_epoch))
        assert histories(server.uri, r.info.run_id, list(want)) == want
        # Each epoch at its own time: apart by the later epoch's seconds (to the ms).
        stamps = {m.step: m.timestamp for m in client(server.uri).get_metric_history(r.info.run_id, "loss")}
        seconds = history[history.trial_id == row.trial_id].set_index("epoch").seconds
        last = int(seconds.index.max())
        assert len({stamps[e] for e in seconds.index}) == len(seconds)
        for epoch in seconds.index[1:]:
            assert abs(stamps[epoch] - stamps[epoch - 1] - seconds[epoch] * 1000) <= 1
        assert stamps[last + 1] >= stamps[last]  # the best epoch again, when the trial ended
    # Sorted by val_accuracy, MLflow's table agrees with `sweep report`'s leaderboard.
    ranked = sorted(runs, key=lambda t: -runs[t].data.metrics["val_accuracy"])
    assert ranked == list(trials.sort_values("val_accuracy", ascending=False).trial_id)
