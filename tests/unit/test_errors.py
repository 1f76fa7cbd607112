"""Errors in two tiers, each class with its exit code, and a failed trial's reason in one line."""

from __future__ import annotations

from sweep import errors


def test_exit_codes_follow_the_hierarchy():
    assert errors.ConfigError("x").exit_code == errors.DataError("x").exit_code == 2
    assert errors.NotARunError("x").exit_code == errors.RunInUse("x").exit_code == 2
    assert errors.DamagedRun("x").exit_code == 2
    assert errors.TooManyFailures(3).exit_code == errors.DiskFull("x").exit_code == 1
    assert errors.Interrupted("x").exit_code == 130
    assert all(issubclass(c, errors.SweepError) for c in (errors.UsageError, errors.RunFailed,
                                                           errors.Interrupted))


def test_too_many_failures_says_the_reason_and_the_way_on():
    text = str(errors.TooManyFailures(3, "loss became nan at epoch 1"))
    assert text.startswith("stopped after 3 failed trials in a row; the last one: loss became nan")
    assert "max_consecutive_failed_trials" in text


def test_failure_reason_is_the_last_line_without_module_paths():
    trace = ("Traceback (most recent call last):\n  File x\n"
             "keras_tuner.src.errors.FailedTrialError: loss became nan at epoch 2\n")
    assert errors.failure_reason(trace) == "loss became nan at epoch 2"
    oom = "Traceback\ntensorflow.python.framework.errors_impl.ResourceExhaustedError: OOM when x\n"
    assert errors.failure_reason(oom) == "ResourceExhaustedError: OOM when x"
    assert errors.failure_reason("") == ""
