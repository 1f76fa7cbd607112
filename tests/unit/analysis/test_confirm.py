"""`sweep confirm`'s statistics, sentence and plot on hand-made rows (no training), its seeds,
and the refusals that happen before anything trains (on copies of the checked-in `small_run`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import run_main
from scipy import stats

from sweep import confirmation
from sweep.analysis import confirm, plots
from sweep.rundir import RunDir
from sweep.rundir import lock as runlock
from sweep.space.config import MAX_SEED
from unit.analysis.test_plots import assert_real_png


def rows(values: dict[str, list[float]], objective: str = "val_accuracy") -> pd.DataFrame:
    """confirm.csv-like rows: trial id -> the objective of each repeat (rank in dict order)."""
    out = []
    for rank, (trial_id, vals) in enumerate(values.items(), start=1):
        for repeat, v in enumerate(vals, start=1):
            out.append({"trial_id": trial_id, "rank": rank, "repeat": repeat, "seed": 1000 + repeat,
                        "split_seed": 42, objective: v, "cell": "gru" if rank % 2 else "lstm"})
    return pd.DataFrame(out)


# --- summarize ------------------------------------------------------------------------------


def test_mean_sd_and_t_interval_are_those_of_the_textbook():
    summary = confirm.summarize(rows({"3": [0.80, 0.82, 0.84]}), "val_accuracy")
    row = summary.iloc[0]
    assert row.seeds == 3 and row["mean"] == pytest.approx(0.82)
    assert row.sd == pytest.approx(0.02)  # n - 1 in the denominator
    # t with 2 degrees of freedom: 4.3027 x 0.02 / sqrt(3) either side.
    assert row.ci_high - row["mean"] == pytest.approx(4.302653 * 0.02 / math.sqrt(3), rel=1e-5)
    low, high = stats.t.interval(0.95, 2, loc=0.82, scale=0.02 / math.sqrt(3))
    assert (row.ci_low, row.ci_high) == pytest.approx((low, high))
    assert list(summary.columns[:2]) == ["rank", "trial_id"]


def test_best_mean_first_by_the_objectives_direction():
    values = {"0": [0.30, 0.32], "1": [0.25, 0.27], "2": [0.40, 0.38]}
    by_loss = confirm.summarize(rows(values, "val_loss"), "val_loss")
    assert list(by_loss.trial_id) == ["1", "0", "2"]  # lower loss is better
    by_accuracy = confirm.summarize(rows(values), "val_accuracy")
    assert list(by_accuracy.trial_id) == ["2", "0", "1"]
    assert list(by_accuracy["rank"]) == [3, 1, 2]  # the sweep's rank is kept


def test_failed_repeats_are_counted_not_averaged_and_one_repeat_has_no_interval():
    summary = confirm.summarize(rows({"0": [0.9, np.nan, 0.8], "1": [0.7]}), "val_accuracy")
    first = summary.set_index("trial_id").loc["0"]
    assert (first.seeds, first.failed) == (2, 1) and first["mean"] == pytest.approx(0.85)
    single = summary.set_index("trial_id").loc["1"]
    assert single.seeds == 1 and math.isnan(single.sd) and math.isnan(single.ci_low)


def test_hyperparameters_and_the_sweeps_own_value_are_carried():
    summary = confirm.summarize(rows({"0": [0.8, 0.9], "1": [0.7, 0.75]}), "val_accuracy",
                                hp_names=["cell", "missing"], sweep=pd.Series({"0": 0.91, "1": 0.6}))
    assert list(summary.columns) == ["rank", "trial_id", "cell", "sweep", "seeds", "mean", "sd",
                                     "ci_low", "ci_high", "failed"]
    assert summary.set_index("trial_id").sweep.to_dict() == {"0": 0.91, "1": 0.6}


# --- The sentence ------------------------------------------------------------------------------


def test_overlapping_intervals_are_said_not_to_separate_the_two():
    summary = confirm.summarize(rows({"0": [0.80, 0.84, 0.82], "1": [0.81, 0.85, 0.83]}), "val_accuracy")
    sentence = confirm.overlap_sentence(summary, "val_accuracy")
    assert confirm.intervals_overlap(summary.iloc[0], summary.iloc[1])
    assert sentence.startswith("By mean val_accuracy, the leader is trial 1 (rank 2; mean 0.8300")
    assert "runner-up trial 0 (rank 1; mean 0.8200" in sentence
    assert "intervals overlap, so 3 seeds do not separate them" in sentence


def test_separate_intervals_are_said_to_hold():
    summary = confirm.summarize(rows({"0": [0.90, 0.91, 0.90], "1": [0.70, 0.71, 0.70]}), "val_accuracy")
    assert not confirm.intervals_overlap(summary.iloc[0], summary.iloc[1])
    assert "do not overlap: the lead holds" in confirm.overlap_sentence(summary, "val_accuracy")


def test_intervals_of_a_rate_stay_in_0_1():
    summary = confirm.summarize(rows({"0": [0.99, 1.0], "1": [0.01, 0.0]}), "val_accuracy")
    assert (summary.ci_low >= 0).all() and (summary.ci_high <= 1).all()
    loss = confirm.summarize(rows({"0": [0.1, 0.5]}, "val_loss"), "val_loss")
    assert loss.ci_low.iloc[0] < 0  # a loss is not a rate: its interval is Student's, unclipped


@pytest.mark.parametrize("values, why", [
    ({"0": [0.9, 0.9], "1": [0.8, 0.8]}, "too few"),  # n = 2, sd 0: a zero-width interval
    ({"0": [0.9, 0.95], "1": [0.8, 0.81]}, "too few"),
    ({"0": [0.9, 0.9, 0.9], "1": [0.8, 0.82, 0.81]}, "identical repeats"),
])
def test_too_few_or_identical_repeats_are_not_informative(values, why):
    summary = confirm.summarize(rows(values), "val_accuracy")
    sentence = confirm.overlap_sentence(summary, "val_accuracy")
    assert "not informative" in sentence and why in sentence, sentence
    assert "overlap" not in sentence


def test_touching_intervals_overlap():
    a = pd.Series({"ci_low": 0.5, "ci_high": 0.6})
    b = pd.Series({"ci_low": 0.6, "ci_high": 0.7})
    assert confirm.intervals_overlap(a, b) and confirm.intervals_overlap(b, a)


def test_one_configuration_or_one_seed_has_nothing_to_compare():
    alone = confirm.summarize(rows({"0": [0.8, 0.9]}), "val_accuracy")
    assert "no runner-up" in confirm.overlap_sentence(alone, "val_accuracy")
    thin = confirm.summarize(rows({"0": [0.8], "1": [0.7]}), "val_accuracy")
    assert "two repeats or more" in confirm.overlap_sentence(thin, "val_accuracy")


# --- Seeds ------------------------------------------------------------------------------------


def test_repeat_seeds_are_new_the_same_for_every_configuration_and_in_range():
    seeds = [confirmation.confirm_seed(42, r) for r in range(1, 6)]
    assert len(set(seeds)) == 5
    trial_seeds = {42 + t for t in range(10_000)}  # tuning.trial_seed of a big sweep
    assert not trial_seeds & set(seeds)
    assert all(0 <= confirmation.confirm_seed(MAX_SEED, r) <= MAX_SEED for r in range(1, 4))


# --- The plot -----------------------------------------------------------------------------------


def test_confirm_png_shows_every_configuration(tmp_path):
    data = rows({"0": [0.80, 0.84, 0.82], "1": [0.78, 0.85, 0.80], "2": [0.7, 0.72, 0.69]})
    summary = confirm.summarize(data, "val_accuracy", ["cell"], sweep=pd.Series({"0": 0.86, "1": 0.8}))
    path = plots.confirm_seeds(data, summary, tmp_path / "confirm.png", "val_accuracy", ["cell"])
    assert path == tmp_path / "confirm.png"
    assert_real_png(path)


def test_no_plot_without_a_value(tmp_path):
    summary = confirm.summarize(rows({"0": [np.nan, np.nan]}), "val_accuracy")
    assert plots.confirm_seeds(rows({"0": [np.nan, np.nan]}), summary, tmp_path / "c.png") is None
    assert not (tmp_path / "c.png").exists()


# --- Refused before anything trains (exit 2, one line) ---------------------------------------------


def assert_refused(code: int, err: str, words: str) -> None:
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and words in err, err


def test_refuses_a_sweep_that_is_not_finished(small_run_copy, capsys):
    status = json.loads((small_run_copy / "status.json").read_text())
    (small_run_copy / "status.json").write_text(json.dumps({**status, "state": "interrupted"}))
    code, _, err = run_main(["confirm", str(small_run_copy), "--seeds", "2"], capsys)
    assert_refused(code, err, "the sweep is interrupted, not finished")
    assert not (small_run_copy / "confirm.csv").exists()


def test_refuses_a_run_without_completed_trials(small_run_copy, capsys):
    for path in small_run_copy.glob("tuner/trial_*/trial.json"):
        trial = json.loads(path.read_text())
        path.write_text(json.dumps({**trial, "status": "FAILED"}))
    code, _, err = run_main(["confirm", str(small_run_copy)], capsys)
    assert_refused(code, err, "no completed trial to confirm")


def test_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    code, _, err = run_main(["confirm", str(tmp_path)], capsys)
    assert_refused(code, err, "not a run folder")


def test_refuses_a_run_in_use(small_run_copy, capsys):
    with runlock.RunLock(RunDir(small_run_copy)):
        code, _, err = run_main(["confirm", str(small_run_copy), "--top", "1", "--seeds", "2"], capsys)
    assert_refused(code, err, "is in use by process")
    assert not (small_run_copy / "confirm.csv").exists()


@pytest.mark.parametrize("flag, value", [("--seeds", "1"), ("--top", "0")])
def test_refuses_too_few_seeds_or_configurations(flag, value, small_run_copy, capsys):
    code, _, err = run_main(["confirm", str(small_run_copy), flag, value], capsys)
    assert_refused(code, err, "expected")


def test_names_inside_the_run_folder_come_from_rundir():
    run = RunDir(Path("r"))
    assert (run.confirm_csv.name, run.confirm_png.name) == ("confirm.csv", "confirm.png")
    assert run.confirm_checkpoint("3", 7, 42).parent == run.confirm_weights


def test_the_confirmed_entry_joins_test_json_without_touching_the_rest(tmp_path):
    from sweep.rundir import testjson

    run = RunDir(tmp_path)
    winner = {"trial_id": "2", "test_loss": 0.3, "test_accuracy": 0.88, "test_examples": 100}
    run.test_json.write_text(json.dumps(winner))
    with runlock.RunLock(run):  # as `sweep confirm` holds the run
        testjson.record_confirmed(run, {"trial_id": "1", "test_accuracy": 0.87})
        testjson.record_confirmed(run, {"trial_id": "0", "test_accuracy": 0.86})  # replaced, not added
    assert json.loads(run.test_json.read_text()) == {**winner, "confirmed": {"trial_id": "0",
                                                                             "test_accuracy": 0.86}}
