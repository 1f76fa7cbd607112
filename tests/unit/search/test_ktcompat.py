"""sweep/search/ktcompat.py: the KerasTuner private names it relies on still exist, and the grid
repair is needed (KerasTuner #1055: a reloaded GridSearch forgets its walk through the grid).

The grid tests run KerasTuner's own GridSearch in-process on a black-box "model" (run_trial
returns a number): no data, no training, a fraction of a second per trial.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import keras_tuner as kt
import pytest

from sweep.search import ktcompat

UPDATE = ("KerasTuner's private API changed: sweep/search/ktcompat.py relies on {name}; update "
          "sweep/search/ktcompat.py (and the pin in pyproject.toml) for this KerasTuner version")


# --- The private names ----------------------------------------------------------------

# (module, attribute path) for everything sweep/search/ktcompat.py reaches into.
PRIVATE_NAMES = [
    ("keras_tuner.src.utils", "save_json"),
    ("keras_tuner.src.engine.metrics_tracking", "MetricsTracker"),
    ("keras_tuner.src.config", "DEBUG"),
    ("keras_tuner.src.tuners.gridsearch", "LinkedList"),
    ("keras_tuner.src.tuners.gridsearch", "LinkedList.insert"),
    ("keras_tuner.src.tuners.gridsearch", "LinkedList.next"),
    ("keras_tuner.src.tuners.gridsearch", "GridSearchOracle._compare"),
    ("keras_tuner.src.engine.oracle", "Oracle._get_trial_dir"),
    ("keras_tuner.src.engine.oracle", "Oracle._save_trial"),
    ("keras_tuner.src.distribute.oracle_chief", "start_server"),
    ("keras_tuner.src.distribute.oracle_chief", "OracleServicer"),
    ("keras_tuner.src.distribute.oracle_chief", "exit_chief"),
    ("keras_tuner.src.distribute.oracle_client", "OracleClient"),
    ("keras_tuner.src.distribute.oracle_client", "OracleClient.__init__"),
    ("keras_tuner.src.protos", "get_service_grpc"),
]


@pytest.mark.parametrize("module, attr", PRIVATE_NAMES, ids=[f"{m}.{a}" for m, a in PRIVATE_NAMES])
def test_private_name_exists(module, attr):
    name = f"{module}.{attr}"
    try:
        obj = importlib.import_module(module)
    except ImportError as e:
        pytest.fail(f"{UPDATE.format(name=name)} ({e})")
    for part in attr.split("."):
        assert hasattr(obj, part), UPDATE.format(name=name)
        obj = getattr(obj, part)


def test_oracle_instance_attributes_exist():
    """State that KerasTuner sets in __init__, so not visible on the classes."""
    oracle = kt.oracles.GridSearchOracle(objective=kt.Objective("score", "min"), max_trials=2)
    for attr in ("_retry_queue", "start_order", "end_order", "trials", "ongoing_trials"):
        assert hasattr(oracle, attr), \
            UPDATE.format(name=f"keras_tuner.src.engine.oracle.Oracle.{attr}")
    for attr in ("_ordered_ids", "_populate_next"):
        assert hasattr(oracle, attr), \
            UPDATE.format(name=f"keras_tuner.src.tuners.gridsearch.GridSearchOracle.{attr}")
    from keras_tuner.src.tuners.gridsearch import LinkedList

    assert isinstance(oracle._ordered_ids, LinkedList) and isinstance(oracle._populate_next, list), \
        UPDATE.format(name="GridSearchOracle._ordered_ids / _populate_next (their types)")


def test_grpc_service_and_servicer_as_used():
    """start_server's replacement: the servicer's stop flag and the generated gRPC names."""
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief

    service = protos.get_service_grpc()
    for attr in ("add_OracleServicer_to_server", "OracleStub"):
        assert hasattr(service, attr), UPDATE.format(name=f"keras_tuner.src.protos.get_service_grpc().{attr}")
    servicer = oracle_chief.OracleServicer(oracle=None)
    assert hasattr(servicer, "stop_triggered"), \
        UPDATE.format(name="keras_tuner.src.distribute.oracle_chief.OracleServicer.stop_triggered")


def test_json_writes_go_through_utils_save_json():
    """atomic_json_writes replaces `utils.save_json`; a module that imported it by name
    (`from keras_tuner.src.utils import save_json`) would keep the non-atomic one."""
    import sys

    import keras_tuner.src.engine.stateful  # noqa: F401  (what saves oracle.json and trial.json)
    from keras_tuner.src import utils

    holders = [name for name, mod in list(sys.modules.items())
               if name.startswith("keras_tuner") and mod is not utils
               and getattr(mod, "save_json", None) is not None]
    assert not holders, UPDATE.format(name=f"utils.save_json, which {holders} import by name")


# --- The grid repair (KerasTuner #1055) ----------------------------------------------

GRID = {"a": [1, 2, 3], "b": ["x", "y"]}  # six points, walked b fastest
GRID_ORDER = [{"a": a, "b": b} for a in GRID["a"] for b in GRID["b"]]


def _grid_tuner(directory: Path, max_trials: int = len(GRID_ORDER), overwrite: bool = False):
    """KerasTuner's GridSearch on a black box: each trial scores its grid position."""
    hps = kt.HyperParameters()
    hps.Choice("a", GRID["a"])
    hps.Choice("b", GRID["b"])

    class BlackBoxGrid(kt.GridSearch):
        def run_trial(self, trial, *args, **kwargs):
            values = trial.hyperparameters.values
            return float(GRID_ORDER.index({"a": values["a"], "b": values["b"]}))

    return BlackBoxGrid(hyperparameters=hps, objective=kt.Objective("score", "min"),
                        max_trials=max_trials, directory=str(directory), project_name="tuner",
                        overwrite=overwrite)


def _values_in_start_order(oracle) -> list[dict]:
    return [dict(oracle.trials[t].hyperparameters.values) for t in oracle.start_order]


def _two_trials_done(directory: Path):
    """A grid search that ran two trials and was stopped, as a killed sweep leaves it."""
    tuner = _grid_tuner(directory, max_trials=2, overwrite=True)
    tuner.search(verbose=0)
    assert _values_in_start_order(tuner.oracle) == GRID_ORDER[:2]
    return tuner


def test_uninterrupted_grid_walks_the_grid_in_order(tmp_path):
    tuner = _grid_tuner(tmp_path, overwrite=True)
    tuner.search(verbose=0)
    assert _values_in_start_order(tuner.oracle) == GRID_ORDER


def test_reloaded_grid_stops_early_without_the_repair(tmp_path):
    _two_trials_done(tmp_path)
    resumed = _grid_tuner(tmp_path)  # overwrite=False: KerasTuner reloads the project
    trial = resumed.oracle.create_trial("tuner0")
    # The bug: four grid points are untried, yet the grid looks exhausted.
    assert trial.status == "STOPPED"
    assert len(resumed.oracle.trials) == 2


def test_reloaded_grid_with_a_trial_under_way_raises_keyerror_without_the_repair(tmp_path):
    tuner = _two_trials_done(tmp_path)
    tuner.oracle.max_trials = len(GRID_ORDER)
    under_way = tuner.oracle.create_trial("tuner0")  # saved as ongoing, then "killed"
    assert under_way.status == "RUNNING"

    resumed = _grid_tuner(tmp_path)
    retried = resumed.oracle.create_trial("tuner0")
    assert retried.trial_id == under_way.trial_id  # the killed trial is run again
    resumed.oracle.update_trial(retried.trial_id, {"score": 2.0})
    retried.status = "COMPLETED"
    resumed.oracle.end_trial(retried)
    with pytest.raises(KeyError):  # LinkedList.next on a trial it never saw
        resumed.oracle.create_trial("tuner0")


def test_reloaded_grid_with_the_repair_walks_the_rest_in_order(tmp_path):
    _two_trials_done(tmp_path)
    resumed = _grid_tuner(tmp_path)
    ktcompat.repair_reloaded_oracle(resumed.oracle)
    resumed.search(verbose=0)
    assert _values_in_start_order(resumed.oracle) == GRID_ORDER
    assert all(t.status == "COMPLETED" for t in resumed.oracle.trials.values())


def test_reloaded_grid_with_a_trial_under_way_and_the_repair(tmp_path):
    tuner = _two_trials_done(tmp_path)
    tuner.oracle.max_trials = len(GRID_ORDER)
    under_way = tuner.oracle.create_trial("tuner0")

    resumed = _grid_tuner(tmp_path)
    ktcompat.repair_reloaded_oracle(resumed.oracle)
    resumed.search(verbose=0)
    assert _values_in_start_order(resumed.oracle) == GRID_ORDER
    assert sorted(resumed.oracle.trials) == [str(i) for i in range(len(GRID_ORDER))]
    assert resumed.oracle.trials[under_way.trial_id].status == "COMPLETED"


# --- Tuners and oracles ----------------------------------------------------------------


def test_init_with_oracle_gives_a_tuner_class_the_oracle_made_for_it(tmp_path):
    """KerasTuner's tuner classes make their own oracle; the base Tuner.__init__ takes ours."""

    class Tuner(kt.RandomSearch):
        def __init__(self, **kwargs):
            ktcompat.init_with_oracle(self, **kwargs)

    made = kt.oracles.GridSearchOracle(objective=kt.Objective("score", "min"), max_trials=2)
    tuner = Tuner(oracle=made, hypermodel=lambda hp: None, directory=str(tmp_path),
                  project_name="p")
    assert tuner.oracle is made
    assert isinstance(tuner, kt.RandomSearch) and tuner.project_dir == str(tmp_path / "p")


def test_limit_hyperband_trials_stops_an_unbounded_hyperband(tmp_path):
    made = kt.oracles.HyperbandOracle(objective=kt.Objective("score", "max"), max_epochs=2,
                                      factor=3, hyperband_iterations=0, seed=1)
    ktcompat.limit_hyperband_trials(made, 2)
    hp = kt.HyperParameters()
    hp.Int("units", 1, 100)
    made.update_space(hp)
    made._set_project_dir(str(tmp_path), "tuner")
    statuses = []
    for _ in range(3):
        trial = made.create_trial("t0")
        statuses.append(trial.status)
        if trial.status == "RUNNING":
            made.update_trial(trial.trial_id, {"score": 0.5})
            trial.status = "COMPLETED"
            made.end_trial(trial)
    assert statuses == ["RUNNING", "RUNNING", "STOPPED"]
