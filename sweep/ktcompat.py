"""Every use of KerasTuner's private API, in one place.

KerasTuner 1.4 has no public hook for these; each is commented with why it is needed.
`tests/unit/test_ktcompat.py` fails loudly when an upgrade removes or renames one, and
pyproject.toml pins keras-tuner below the next minor version.
"""

from __future__ import annotations

import json
from pathlib import Path

from sweep.rundir import write_atomic


def fresh_metrics(trial) -> None:
    """Gives `trial` an empty metrics tracker (keras_tuner.src.engine.metrics_tracking).

    A trial run again (resumed after a kill, or retried) must start with no metrics:
    KerasTuner would average in any recorded by the cut-short run, or take them as
    already reported and drop the new ones.
    """
    from keras_tuner.src.engine.metrics_tracking import MetricsTracker

    trial.metrics = MetricsTracker()


def show_trial_tracebacks(show: bool) -> None:
    """Whether KerasTuner prints every failed trial's traceback (keras_tuner.src.config.DEBUG).

    trials.csv keeps the reason and trial.json the traceback, so by default they are not
    printed; `--verbose` shows them.
    """
    from keras_tuner.src import config as kt_config

    kt_config.DEBUG = show


def atomic_json_writes() -> None:
    """Makes KerasTuner write its JSON files (oracle.json, trial.json, ...) atomically.

    KerasTuner writes them in place with `keras_tuner.src.utils.save_json`, so a sweep
    killed mid-write leaves a truncated file that stops every resume. It is replaced,
    for the whole process, by a write to a temporary file that is synced and renamed.
    """
    from keras_tuner.src import utils

    if getattr(utils.save_json, "atomic", False):
        return

    def save_json(path, obj):
        text = json.dumps(obj)
        write_atomic(Path(path), text)
        return text

    save_json.atomic = True  # type: ignore[attr-defined]
    utils.save_json = save_json
