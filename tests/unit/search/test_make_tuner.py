"""`make_tuner` makes each registered algorithm's KerasTuner tuner and oracle (no trial runs)."""

from __future__ import annotations

import pytest

from sweep.model.hypermodel import RNNHyperModel
from sweep.rundir import RunDir
from sweep.search.tuning import make_tuner
from sweep.space import config
from sweep.space.registry import TUNERS


@pytest.mark.parametrize("algorithm", TUNERS.names())
def test_each_algorithm_gets_its_registered_tuner_and_oracle(algorithm, tmp_path):
    cfg = config.from_dict({"name": "t", "data": {"source": "csv:x.csv"}, "tuner": {"algorithm": algorithm},
                            "hyperparameters": {"cell": ["gru", "lstm"]}})
    tuner = make_tuner(cfg, RNNHyperModel(cfg.hyperparameters), RunDir(tmp_path / "run"), overwrite=True)
    entry = TUNERS.get(algorithm)
    assert isinstance(tuner, entry.resolve()) and isinstance(tuner.oracle, entry.resolve("oracle"))
