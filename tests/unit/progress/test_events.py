"""The plain-line progress (sweep.progress.events): each epoch, the time left, the best."""

from __future__ import annotations

import pytest

from sweep import progress
from unit.progress.fakes import Clock, cfg, ended, half_an_epoch


def test_plain_lines_say_each_epoch_with_the_time_left_and_the_best():
    said: list[str] = []
    clock = Clock()
    p = progress.SweepProgress(cfg(), said.append, batches_hint=10, clock=clock)
    p.trials_ended(ended([]))
    half_an_epoch(p, clock)
    # Half the epoch took 5 s: 5 s left in it, 2 x 10 s after it; the sweep's other three
    # trials each like this one (7 s so far + 25 s).
    assert p.trial_left() == pytest.approx(25)
    assert p.sweep_left() == pytest.approx(25 + 3 * 32)
    assert said == []  # nothing per batch
    for batch in range(5, 10):
        clock.now += 1
        p.batch_end(batch)
    p.epoch_end(0, {"val_accuracy": 0.75, "loss": 0.5})
    assert said == ["  trial 00 epoch 1/3: val_accuracy=0.7500 in 10.0s; trial ~0:00:20 left, "
                    "sweep ~0:01:56 left; best val_accuracy=0.7500"]
    assert p.batches() == 10


def test_the_sweeps_time_left_comes_from_the_trials_that_ended():
    clock = Clock()
    p = progress.SweepProgress(cfg(), lambda line: None, clock=clock)
    p.trials_ended(ended([
        {"trial_id": "00", "status": "COMPLETED", "val_accuracy": 0.8, "seconds": 40.0, "worker": "tuner0"},
        {"trial_id": "01", "status": "FAILED", "val_accuracy": 0.9, "seconds": 20.0, "worker": "tuner0"},
    ]))
    assert p.sweep_left() == pytest.approx(2 * 30)  # two trials left, 30 s each on average
    assert (p.best, p.best_trial) == (0.8, "00")  # a failed trial's metrics do not count
    p.trial_begin("02", {})
    clock.now = 10.0  # no batch yet: the running trial is taken as an average one
    assert p.trial_left() is None and p.sweep_left() == pytest.approx(20 + 30)


def test_the_best_follows_the_objectives_direction():
    clock = Clock()
    p = progress.SweepProgress(cfg("val_loss"), lambda line: None, clock=clock)
    p.trials_ended(ended([
        {"trial_id": "00", "status": "COMPLETED", "val_loss": 0.5, "seconds": 1.0},
        {"trial_id": "01", "status": "COMPLETED", "val_loss": 0.3, "seconds": 1.0},
    ]))
    assert (p.best, p.best_trial) == (0.3, "01")
    p.trial_begin("02", {})
    p.epoch_begin(0)
    p.epoch_end(0, {"val_loss": 0.4})
    p.epoch_end(1, {"val_loss": float("nan")})
    assert p.best == 0.3
    p.epoch_end(2, {"val_loss": 0.2})
    assert (p.best, p.best_trial, p.best_text()) == (0.2, "02", "best val_loss 0.2000")


def test_distributed_workers_share_the_trials_left():
    p = progress.SweepProgress(cfg(max_trials=6), lambda line: None, distributed=True, clock=Clock())
    p.trials_ended(ended([
        {"trial_id": "00", "status": "COMPLETED", "val_accuracy": 0.8, "seconds": 10.0, "worker": "w1"},
        {"trial_id": "01", "status": "COMPLETED", "val_accuracy": 0.7, "seconds": 30.0, "worker": "w2"},
    ]))
    assert p.workers == 2 and p.sweep_left() == pytest.approx(4 * 20 / 2)


def test_a_hyperband_trial_counts_its_own_epochs():
    said: list[str] = []
    clock = Clock()
    p = progress.SweepProgress(cfg(algorithm="hyperband"), said.append, batches_hint=4, clock=clock)
    p.trial_begin("05", {"tuner/epochs": 4, "tuner/initial_epoch": 2})
    p.epoch_begin(2)
    clock.now = 6.0
    p.epoch_end(2, {"val_accuracy": 0.6})
    assert said[0].startswith("  trial 05 epoch 3/4: val_accuracy=0.6000 in 6.0s; trial ~0:00:06 left")


def test_the_first_batch_which_traces_the_model_is_left_out_of_the_rate():
    clock = Clock()
    p = progress.SweepProgress(cfg(epochs=1), lambda line: None, batches_hint=10, clock=clock)
    p.trial_begin("00", {})
    p.epoch_begin(0)
    clock.now = 5.0
    p.batch_end(0)
    assert p.trial_left() is None  # one batch tells nothing yet
    for batch in range(1, 5):
        clock.now += 0.5
        p.batch_end(batch)
    assert p.trial_left() == pytest.approx(5 * 0.5)


def test_the_batch_count_grows_past_the_hint():
    p = progress.SweepProgress(cfg(), lambda line: None, batches_hint=3, clock=Clock())
    p.trial_begin("00", {})
    p.epoch_begin(0)
    for batch in range(5):
        p.batch_end(batch)
    assert p.batches() == 5  # bucketing adds partial batches the hint did not count
    p.epoch_end(0, {})
    assert p.batches() == 5  # seen: the next epochs' count


def test_a_grid_plans_no_more_trials_than_it_has_points():
    assert progress.planned_trials(cfg(algorithm="grid", max_trials=10)) == 2
    assert progress.planned_trials(cfg(max_trials=10)) == 10

