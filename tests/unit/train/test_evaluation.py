"""sweep.train.evaluation: the selected trial's test score, and only completed trials are models."""

from __future__ import annotations

import json
from types import SimpleNamespace

import keras_tuner as kt
import pandas as pd
import pytest
from helpers import make_examples, write_csv

from sweep.data.pipeline import SweepData
from sweep.model.hypermodel import RNNHyperModel
from sweep.rundir import RunDir, testjson
from sweep.rundir.lock import RunLock
from sweep.space.config import DataConfig
from sweep.space.hyperparameters import Fixed
from sweep.train import evaluation


def test_only_completed_trials_count_best_first():
    trials = [SimpleNamespace(trial_id=str(i), status=s, score=v) for i, (s, v) in
              enumerate([("COMPLETED", 0.6), ("FAILED", 0.9), ("COMPLETED", 0.8), ("RUNNING", None)])]

    def get_best_trials(n=1):  # KerasTuner's: fills up with unfinished trials
        done = sorted((t for t in trials if t.status == "COMPLETED"), key=lambda t: -t.score)
        return (done + [t for t in trials if t.status != "COMPLETED"])[:n]

    oracle = SimpleNamespace(trials={t.trial_id: t for t in trials}, get_best_trials=get_best_trials)
    assert [t.trial_id for t in evaluation.completed_trials(oracle)] == ["2", "0"]


def test_no_completed_trial_evaluates_nothing(tmp_path):
    failed = SimpleNamespace(trial_id="0", status="FAILED")
    oracle = SimpleNamespace(trials={"0": failed}, get_best_trials=lambda n=1: [failed])
    tuner = SimpleNamespace(oracle=oracle, load_model=lambda t: pytest.fail("loaded a failed trial"))
    assert evaluation.evaluate_best(tuner, None, RunDir(tmp_path)) is None
    assert not (tmp_path / "test.json").exists()


# Three classes trains a second model: in the full suite only.
@pytest.mark.parametrize("num_classes", [2, pytest.param(3, marks=pytest.mark.slow)])
def test_test_score_is_what_keras_evaluate_gives(tmp_path, num_classes):
    """The best trial's test score comes from one prediction pass; it must equal evaluate()."""
    path = write_csv(tmp_path / "d.csv", make_examples(300, num_classes=num_classes))
    data = SweepData(DataConfig(source=f"csv:{path}", max_length=16, batch_size=8), 0, None)
    space = dict(cell=Fixed("gru"), bidirectional=Fixed(True), vocab_size=Fixed(100),
                 embedding_dim=Fixed(8), hidden_units=Fixed(4), learning_rate=Fixed(1e-2),
                 num_layers=Fixed(1), dropout=Fixed(0.0), clipnorm=Fixed(0.0))
    hp = kt.HyperParameters()
    model = RNNHyperModel(space, num_classes=num_classes).build(hp)
    model.fit(data.dataset(100, "train"), epochs=1, verbose=0)
    trial = SimpleNamespace(trial_id="0", hyperparameters=hp, status="COMPLETED")
    tuner = SimpleNamespace(oracle=SimpleNamespace(get_best_trials=lambda n=1: [trial],
                                                   trials={"0": trial}),
                            load_model=lambda t: model)

    result = evaluation.evaluate_best(tuner, data, RunDir(tmp_path))
    expected = model.evaluate(data.dataset(100, "test"), verbose=0, return_dict=True)
    assert result["test_examples"] == len(data.splits.test) == 60
    assert result["test_accuracy"] == pytest.approx(expected["accuracy"], abs=1e-6)
    assert result["test_loss"] == pytest.approx(expected["loss"], rel=1e-4)
    assert json.loads((tmp_path / "test.json").read_text()) == result
    by_length = pd.read_csv(tmp_path / "length_accuracy.csv")
    # Cells are compared on validation; test rows only for the selected trial (test read once).
    on_test, on_val = by_length[by_length.split == "test"], by_length[by_length.split == "val"]
    assert set(on_test.trial_id.astype(str)) == {"0"}
    assert on_test.examples.sum() == 60
    assert (on_test.accuracy * on_test.examples).sum() / 60 == pytest.approx(result["test_accuracy"])
    assert on_val.examples.sum() == len(data.splits.val)
    val = model.evaluate(data.dataset(100, "val"), verbose=0, return_dict=True)
    assert (on_val.accuracy * on_val.examples).sum() / len(data.splits.val) == pytest.approx(
        val["accuracy"], abs=1e-6)


def test_baseline_and_confirm_records_survive_a_new_test_evaluation(tmp_path):
    """test.json's baseline and confirmed entries are their own records: rescoring keeps them."""
    run = RunDir(tmp_path)
    with RunLock(run):  # as the sweep holds its run
        testjson.record_baseline(run, {"test_accuracy": 0.9, "fingerprint": "abc"})
        testjson.record_confirmed(run, {"trial_id": "0", "test_accuracy": 0.8})
    assert testjson.saved_baseline(run, "abc")["test_accuracy"] == 0.9
    assert testjson.saved_baseline(run, "other data") is None
    test = json.loads((tmp_path / "test.json").read_text())
    assert set(test) == {"baseline", "confirmed"}
