"""Every use of KerasTuner's private API, in one place.

KerasTuner 1.4 has no public hook for these; each is commented with why it is needed.
`tests/unit/search/test_ktcompat.py` fails loudly when an upgrade removes or renames one, and
pyproject.toml pins keras-tuner below the next minor version.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import grpc

from sweep.metrics import TrialStatus
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


# --- Tuners and oracles -------------------------------------------------------------


def init_with_oracle(tuner, *args, **kwargs) -> None:
    """Runs KerasTuner's base `Tuner.__init__` on `tuner` (one of its tuner classes, subclassed).

    KerasTuner's tuner classes (RandomSearch, Hyperband, ...) make their own oracle in their
    __init__ and take no `oracle=` argument; `tuning.make_tuner` makes the oracle (with the
    oracle mixin in front), so the base class's __init__, which does take one, is called
    directly, past the tuner class's own.
    """
    import keras_tuner as kt

    kt.Tuner.__init__(tuner, *args, **kwargs)


def limit_hyperband_trials(oracle, max_trials: int) -> None:
    """Makes a HyperbandOracle stop after `max_trials` trials.

    Its __init__ takes no max_trials (it stops after `hyperband_iterations` brackets, 0 for
    unbounded); the base Oracle's attribute, which it checks before each trial, is set after.
    """
    oracle.max_trials = max_trials


# --- Resume -------------------------------------------------------------------------
#
# KerasTuner saves a trial's own file (trial_*/trial.json) and the oracle's state
# (oracle.json) one after the other, and on reload trusts oracle.json for what is under
# way. A kill between the two writes, or an oracle whose state is not saved at all,
# leaves a resume that is wrong in ways it does not notice. `repair_reloaded_oracle`
# puts the reloaded oracle back to the state an uninterrupted sweep would be in.


def repair_reloaded_oracle(oracle) -> list[str]:
    """Fixes what KerasTuner's `Oracle.reload` gets wrong; returns what it did, for the log.

    Call right after the tuner was built on an existing project, before the search.
    """
    notes = []
    notes += _drop_orphan_trials(oracle)
    notes += _finish_ended_trials(oracle)
    if hasattr(oracle, "_ordered_ids"):
        _rebuild_grid_order(oracle)
    if notes:
        oracle.save()
    return notes


def _drop_orphan_trials(oracle) -> list[str]:
    """Trials with a trial.json that oracle.json never recorded: killed between the writes.

    `create_trial` saves the new RUNNING trial.json before oracle.json. On reload the
    orphan is loaded from its file, takes a `max_trials` slot, and is never run (only
    oracle.json's ongoing trials are retried). oracle.json still holds the state from
    before it was drawn (seed state, tried values, Hyperband brackets), so removing it
    makes the next `create_trial` draw the very same trial again.
    """
    from sweep.rundir import owned

    notes = []
    for trial_id in [t for t in oracle.trials if t not in oracle.start_order]:
        trial = oracle.trials.pop(trial_id)
        if trial.status == TrialStatus.RUNNING:
            owned.drop_unstarted_trial(oracle._get_trial_dir(trial_id))
            notes.append(f"trial {trial_id} was created but never started; it is drawn again")
        else:  # never expected; keep the file, leave the trial out of the search
            notes.append(f"trial {trial_id} is not in oracle.json; left out of the search")
    return notes


def _finish_ended_trials(oracle) -> list[str]:
    """Trials that ended (trial.json says so) while oracle.json still lists them as ongoing.

    `end_trial` saves trial.json before oracle.json; a kill in between would make
    `reload` send a COMPLETED trial to be run again.
    """
    notes = []
    for trial_id in list(oracle._retry_queue):
        trial = oracle.trials[trial_id]
        if trial.status in (TrialStatus.COMPLETED, TrialStatus.FAILED):
            oracle._retry_queue.remove(trial_id)
            if trial_id not in oracle.end_order:
                oracle.end_order.append(trial_id)
            if hasattr(oracle, "_populate_next"):
                oracle._populate_next.append(trial_id)
            notes.append(f"trial {trial_id} had ended ({trial.status}); it is not run again")
    return notes


def _rebuild_grid_order(oracle) -> None:
    """Rebuilds GridSearchOracle's walk through the grid, which it does not save.

    Upstream keras-tuner #1055 (fix proposed in PR #1056, not released in 1.4.8):
    `_ordered_ids` (trials sorted by their values) and `_populate_next` (trials whose
    successor in the grid may be untried) are not part of the oracle's state, so a
    resumed grid search crashes with a KeyError in `LinkedList.next`, or stops early as
    if the grid were exhausted. Both follow from the trials: every trial, in grid order;
    and every trial as a candidate, in start order (one whose successor was tried is
    skipped, as in an uninterrupted run).
    """
    import functools

    from keras_tuner.src.tuners.gridsearch import LinkedList

    ids = [t for t in oracle.start_order if t in oracle.trials]
    ordered = sorted(ids, key=functools.cmp_to_key(
        lambda a, b: oracle._compare(oracle.trials[a].hyperparameters.values,
                                     oracle.trials[b].hyperparameters.values)))
    oracle._ordered_ids = LinkedList()
    for trial_id in ordered:
        oracle._ordered_ids.insert(trial_id)
    oracle._populate_next = list(ids)


# --- The distributed oracle's shared secret -----------------------------------------
#
# KerasTuner's chief serves its oracle over gRPC with no authentication: anyone who
# reaches the port could report made-up metrics (which selection and test.json follow)
# or take trials. The chief checks a shared secret on every call; workers send it.

SECRET_METADATA = "x-sweep-oracle-secret"


def require_oracle_secret(secret: str) -> None:
    """Chief: serve the oracle only to callers that send `secret`.

    Replaces `keras_tuner.src.distribute.oracle_chief.start_server` (which BaseTuner
    calls on the chief) with the same server plus a checking interceptor.
    """
    import time
    from concurrent import futures

    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief

    def start_server(oracle):  # KerasTuner 1.4.8's start_server, with the interceptor
        import os

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=1),
                             interceptors=[_SecretCheck(secret)])
        servicer = oracle_chief.OracleServicer(oracle)
        protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
        server.add_insecure_port(f"{os.environ['KERASTUNER_ORACLE_IP']}:"
                                 f"{os.environ['KERASTUNER_ORACLE_PORT']}")
        server.start()
        while True:
            time.sleep(1)
            if servicer.stop_triggered:
                while not oracle_chief.exit_chief(oracle):
                    time.sleep(20)
                break

    oracle_chief.start_server = start_server


def send_oracle_secret(secret: str) -> None:
    """Worker: send `secret` with every call to the chief.

    Wraps `keras_tuner.src.distribute.oracle_client.OracleClient.__init__` so that its
    stub talks through a channel that adds the secret to each call's metadata.
    """
    import os

    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_client

    original = getattr(oracle_client.OracleClient.__init__, "original",
                       oracle_client.OracleClient.__init__)

    def __init__(self, oracle):
        original(self, oracle)
        channel = grpc.insecure_channel(f"{os.environ['KERASTUNER_ORACLE_IP']}:"
                                        f"{os.environ['KERASTUNER_ORACLE_PORT']}")
        channel = grpc.intercept_channel(channel, _SecretSender(secret))
        self.stub = protos.get_service_grpc().OracleStub(channel)

    __init__.original = original  # type: ignore[attr-defined]
    oracle_client.OracleClient.__init__ = __init__


class _SecretCheck(grpc.ServerInterceptor):
    """Refuses (UNAUTHENTICATED) a call whose metadata lacks the secret."""

    def __init__(self, secret: str):
        self.secret = secret.encode()

        def deny(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong sweep oracle secret")

        self.denied = grpc.unary_unary_rpc_method_handler(deny)

    def intercept_service(self, continuation, handler_call_details):
        import hmac

        given = dict(handler_call_details.invocation_metadata or ()).get(SECRET_METADATA, "")
        if hmac.compare_digest(str(given).encode(), self.secret):
            return continuation(handler_call_details)
        return self.denied


class _CallDetails(
    collections.namedtuple("_CallDetails", ("method", "timeout", "metadata", "credentials",
                                            "wait_for_ready", "compression")),
    grpc.ClientCallDetails,
):
    pass


class _SecretSender(grpc.UnaryUnaryClientInterceptor):
    """Adds the secret to each call's metadata."""

    def __init__(self, secret: str):
        self.secret = secret

    def intercept_unary_unary(self, continuation, client_call_details, request):
        metadata = [*(client_call_details.metadata or ()), (SECRET_METADATA, self.secret)]
        details = _CallDetails(*(getattr(client_call_details, f, None) for f in _CallDetails._fields))
        return continuation(details._replace(metadata=metadata), request)
