"""`sweep run --tensorboard`: per-trial logs with KerasTuner's HParams summaries."""

from __future__ import annotations

import json
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2


def _load(folder: Path) -> EventAccumulator:
    acc = EventAccumulator(str(folder))
    acc.Reload()
    return acc


def test_every_trial_logs_its_hparams_and_epoch_scalars(finished_run):
    logs = finished_run / "tensorboard"
    trial_ids = sorted(p.name.removeprefix("trial_") for p in (finished_run / "tuner").glob("trial_*"))
    assert sorted(p.name for p in logs.iterdir()) == trial_ids

    for tid in trial_ids:
        run = logs / tid / "execution0"
        content = _load(run).PluginTagToContent("hparams")
        start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
        hparams = start.session_start_info.hparams
        saved = json.loads((finished_run / "tuner" / f"trial_{tid}" / "trial.json").read_text())
        assert hparams["cell"].string_value == saved["hyperparameters"]["values"]["cell"]
        assert hparams["hidden_units"].number_value == 8
        assert "_hparams_/session_end_info" in content

        # The epoch curves the HParams dashboard links to each session.
        for part in ("train", "validation"):
            scalars = _load(run / part).Tags()["scalars"]
            tensors = _load(run / part).Tags()["tensors"]
            assert {"epoch_loss", "epoch_accuracy"} <= set(scalars) | set(tensors)
