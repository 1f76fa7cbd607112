"""A run folder -> an MLflow tracking server, idempotently (the one code path of tracking).

`Reconciler.sync` reads the run folder (trials, history, test.json, confirm.csv), compares
it with what the server holds for this folder, and logs what is missing:

    experiment (tracking.experiment, else the sweep's name)
      parent run "NAME"        the space as params and config.yaml; source, classes,
                               algorithm, version, folder as tags; at the end test.json's
                               figures as metrics and the tables, plots, report as artifacts
        run "trial ID" x N     hyperparameters as params; each epoch's metrics (step =
                               epoch, timestamp = when it ended), and a completed trial's
                               best epoch's once more at the step after its last (so the
                               runs table shows trials.csv's figures, as MLflow's Keras
                               autologging does for early stopping's restored epoch);
                               best-epoch figures, objective, seconds, peak memory;
                               status COMPLETED -> FINISHED, FAILED/INVALID -> FAILED (reason
                               tag), INTERRUPTED -> KILLED, RUNNING -> RUNNING
        run "confirm ..."      one per `sweep confirm` repeat

What is read from the folder, and how its values become params, is `sweep.track.contents`'s.
A live sweep calls it after every trial (from a background thread, `sweep.track`) and
`sweep track` calls it once: both leave the same content. The MLflow run ids are kept in
RUN/mlflow.json, per server, and every run carries the folder's id and the trial's id as
tags, so a sync after a kill (even one between creating a run and saving its id) finds the
run it made instead of making another. A trial re-run after a kill whose epochs on the
server disagree with the folder's is given a new run; the old one is closed (KILLED, tag
`rnn_sweep.superseded`), since MLflow cannot take back logged metric values.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from sweep import __version__, rundir
from sweep.analysis.record import RunRecord
from sweep.metrics import TrialStatus
from sweep.rundir import RunDir, writes
from sweep.track import contents, public_uri
from sweep.track.contents import param

# Bounded network waits unless the user chose others (MLflow's defaults: 120 s per request,
# 7 retries with exponential backoff, minutes against a server that is down).
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # the sweep's lines are ours

from mlflow import MlflowClient  # noqa: E402  (after the defaults above)
from mlflow.entities import Metric, Param, RunTag  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

TAG = "rnn_sweep."
KIND, UID, TRIAL, SUPERSEDED = TAG + "kind", TAG + "folder_id", TAG + "trial_id", TAG + "superseded"
PARENT_TAG = "mlflow.parentRunId"
STATUS: dict[str, str] = {  # a trial's status -> its MLflow run's
    TrialStatus.COMPLETED: "FINISHED", TrialStatus.FAILED: "FAILED", TrialStatus.INVALID: "FAILED",
    TrialStatus.INTERRUPTED: "KILLED", TrialStatus.RUNNING: "RUNNING"}
SWEEP_STATUS = {"running": "RUNNING", "finished": "FINISHED", "failed": "FAILED",
                "interrupted": "KILLED"}


class Reconciler:
    """Brings one tracking server up to date with one run folder; keeps what it learned.

    Args:
        run: the run folder.
        uri: the tracking URI (credentials, if any, from MLflow's environment variables).
        experiment: the experiment's name; None: the sweep's name.
    """

    def __init__(self, run: RunDir, uri: str, experiment: str | None = None):
        self.run = run
        self.uri = uri
        self.key = public_uri(uri)
        self.experiment = experiment
        self.client = MlflowClient(tracking_uri=uri)
        self._history: dict[str, dict[str, dict[int, float]]] = {}  # run id -> key -> step -> value
        self._figures: dict[str, dict[str, float]] = {}  # run id -> latest trial-level figures
        self._params: dict[str, set[str]] = {}
        self._status: dict[str, str] = {}
        self._tags: dict[str, dict[str, str]] = {}
        self._fresh: set[str] = set()  # made by this process: nothing logged but what it logged
        self._index: dict[tuple[str, str], str] | None = None  # (kind, key) -> run id, from tags
        self.state = self._load_state()

    # --- The ids kept in the run folder ------------------------------------------------

    def _load_state(self) -> dict:
        read = rundir.read_json(self.run.mlflow_json)
        saved: dict = read if isinstance(read, dict) else {}
        uid = saved.get("folder_id") or uuid.uuid4().hex
        servers: dict = saved["servers"] if isinstance(saved.get("servers"), dict) else {}
        self._file = {"folder_id": uid, "servers": servers}
        mine = servers.get(self.key)
        mine = mine if isinstance(mine, dict) else {}
        for part in ("trials", "confirm", "exports"):
            mine.setdefault(part, {})
        servers[self.key] = mine
        if "folder_id" not in saved:
            self._save()  # before any run is made, so that its tag finds it after a kill
        return mine

    def _save(self) -> None:
        try:
            writes.write_run_json(self.run, self.run.mlflow_json, self._file)
        except OSError:
            pass  # a read-only copy: the tags still find the runs (the folder id is derived)

    @property
    def folder_id(self) -> str:
        if self.run.mlflow_json.exists():
            return str(self._file["folder_id"])
        # Unsaved (a read-only folder): the same id each time for the same folder.
        import hashlib

        return hashlib.sha256(str(self.run.path.resolve()).encode()).hexdigest()[:32]

    # --- Sync ----------------------------------------------------------------------------

    def sync(self, final: bool | None = None) -> dict:
        """Logs what the server lacks; returns counts of what it did.

        Args:
            final: also log the end-of-sweep artifacts and test figures; None: when the
                sweep is not running.
        """
        record = RunRecord.read(self.run)  # a copy without tuner/: its CSVs
        cfg, state, trials, history = record.config, record.state, record.trials, record.history
        final = state != "running" if final is None else final
        done = {"trials": 0, "confirm": 0}
        starts = [t for _, row in trials.iterrows() if (t := contents.times(self.run, row)[0]) is not None]
        parent = self._parent(cfg, state, min(starts) if starts else None)
        for _, row in trials.iterrows():
            if row.status not in STATUS:
                continue  # UNREADABLE: nothing to say about it
            self._trial(cfg, parent, row, history[history.trial_id.astype(str) == str(row.trial_id)])
            done["trials"] += 1
        done["confirm"] = self._confirm(cfg, parent)
        if final:
            self._end(parent, record.test)
        status = rundir.read_json(self.run.status)
        ended = status.get("time") if isinstance(status, dict) and state != "running" else None
        self._set_status(parent, SWEEP_STATUS.get(state, "KILLED"),
                         int(ended * 1000) if isinstance(ended, (int, float)) else None)
        self._save()
        return done

    def _experiment_id(self, cfg) -> str:
        if "experiment_id" in self.state and self.state.get("experiment") == (self.experiment or cfg.name):
            return str(self.state["experiment_id"])
        name = self.experiment or cfg.name
        found = self.client.get_experiment_by_name(name)
        if found is None:
            # MLflow 3's UI opens an experiment of this kind on its training runs (else GenAI traces).
            exp_id = self.client.create_experiment(
                name, tags={"mlflow.experimentKind": "custom_model_development"})
        else:
            exp_id = found.experiment_id
            if found.lifecycle_stage == "deleted":
                self.client.restore_experiment(exp_id)
        self.state.update(experiment=name, experiment_id=exp_id)
        return exp_id

    def _find(self, exp_id: str, kind: str, key: str) -> str | None:
        """A live run this folder made earlier (by its tags), for ids lost to a kill."""
        if self._index is None:
            self._index = {}
            token = None
            while True:
                page = self.client.search_runs([exp_id], f"tags.`{UID}` = '{self.folder_id}'",
                                               max_results=1000, page_token=token)
                for r in page:
                    tags = r.data.tags
                    if tags.get(SUPERSEDED) != "true":
                        self._index[(tags.get(KIND, ""), tags.get(TRIAL, ""))] = r.info.run_id
                token = page.token
                if not token:
                    break
        return self._index.get((kind, key))

    def _live(self, run_id: str | None) -> bool:
        if not run_id:
            return False
        if run_id in self._status:
            return True
        try:
            r = self.client.get_run(run_id)
        except MlflowException:
            return False
        if r.info.lifecycle_stage == "deleted":
            return False
        self._status[run_id] = r.info.status
        self._params[run_id] = set(r.data.params)
        self._figures[run_id] = dict(r.data.metrics)
        self._tags[run_id] = dict(r.data.tags)
        return True

    def _run_for(self, exp_id: str, kind: str, key: str, name: str, slot: dict, slot_key: str,
                 tags: dict[str, str], start_time: int | None = None) -> str:
        run_id = slot.get(slot_key)
        if not self._live(run_id):
            run_id = self._find(exp_id, kind, key)
            if not self._live(run_id):
                made = self.client.create_run(exp_id, tags={KIND: kind, UID: self.folder_id, TRIAL: key,
                                                            **tags}, run_name=name, start_time=start_time)
                run_id = made.info.run_id
                self._status[run_id] = made.info.status
                self._params[run_id], self._figures[run_id] = set(), {}
                self._history[run_id], self._tags[run_id] = {}, {}
                self._fresh.add(run_id)
            slot[slot_key] = run_id
            self._save()
        assert run_id is not None
        return run_id

    def _parent(self, cfg, state: str, start_time: int | None) -> str:
        exp_id = self._experiment_id(cfg)
        parent = self._run_for(exp_id, "sweep", "", cfg.name, self.state, "parent", {}, start_time)
        params, moving = contents.space_params(cfg)
        names = rundir.class_names(self.run)
        tags = {TAG + "data_source": cfg.data.source, TAG + "algorithm": cfg.tuner.algorithm,
                TAG + "objective": cfg.tuner.objective, TAG + "version": __version__,
                TAG + "run_folder": str(self.run.path.resolve()), TAG + "state": state,
                **{TAG + "tuner." + k: v for k, v in moving.items()}}
        if names is not None:
            tags[TAG + "classes"] = param(names)
        self._log(parent, params=params, tags=tags)
        if "config.yaml" not in self.state.get("artifacts", []):
            self.client.log_artifact(parent, str(self.run.config))
            self.state.setdefault("artifacts", []).append("config.yaml")
        return parent

    def _trial(self, cfg, parent: str, row: pd.Series, epochs: pd.DataFrame) -> None:
        exp_id = self.state["experiment_id"]
        tid = str(row.trial_id)
        tags = {PARENT_TAG: parent}
        start, end = contents.times(self.run, row)
        run_id = self._run_for(exp_id, "trial", tid, f"trial {tid}", self.state["trials"], tid, tags, start)
        best = row.get("best_epoch") if row.status == TrialStatus.COMPLETED else None
        steps = contents.steps(epochs, best)
        if not self._agrees(run_id, steps):
            # A re-run after a kill: MLflow keeps logged values, so this attempt gets a new run.
            self.client.set_tag(run_id, SUPERSEDED, "true")
            if self._status.get(run_id) == "RUNNING":
                self.client.set_terminated(run_id, "KILLED")
            self.state["trials"].pop(tid)
            if self._index is not None:
                self._index.pop(("trial", tid), None)
            run_id = self._run_for(exp_id, "trial", tid, f"trial {tid}", self.state["trials"], tid, tags,
                                   start)
        params = {n: param(v) for n, v in contents.hyperparameters(self.run, cfg, row).items()}
        status = str(row.status)
        run_tags = {TAG + "status": status, PARENT_TAG: parent}
        if isinstance(row.get("worker"), str):
            run_tags[TAG + "worker"] = row.worker
        if isinstance(row.get("reason"), str):
            run_tags[TAG + "reason"] = row.reason[:5000]
        figures = contents.trial_figures(cfg, row) if status != "RUNNING" else {}
        self._log(run_id, params=params, tags=run_tags, steps=steps, figures=figures,
                  times=contents.epoch_times(self.run, row, epochs))
        self._set_status(run_id, STATUS[status], end)

    def _logged(self, run_id: str, keys) -> dict[str, dict[int, float]]:
        known = self._history.setdefault(run_id, {})
        for key in keys:
            if key not in known and run_id in self._fresh:
                known[key] = {}
            elif key not in known:
                known[key] = {m.step: m.value for m in self.client.get_metric_history(run_id, key)}
        return known

    def _agrees(self, run_id: str, steps: dict[str, dict[int, float]]) -> bool:
        """Whether every epoch the server holds for this run is the folder's."""
        logged = self._logged(run_id, [k for k in steps if k not in self._history.get(run_id, {})])
        for key, values in logged.items():
            want = steps.get(key, {})
            if any(step not in want or want[step] != v for step, v in values.items()):
                return False
        return True

    def _log(self, run_id: str, params: dict[str, str] | None = None, tags: dict[str, str] | None = None,
             steps: dict[str, dict[int, float]] | None = None, figures: dict[str, float] | None = None,
             times: dict[int, int] | None = None) -> None:
        """What the server lacks of these; a step's metrics at `times[step]` (ms), else now."""
        now = int(time.time() * 1000)
        times = times or {}
        have = self._params.get(run_id, set())
        new_params = [Param(k, v) for k, v in (params or {}).items() if k not in have]
        had = self._tags.setdefault(run_id, {})
        new_tags = [RunTag(k, v) for k, v in (tags or {}).items() if had.get(k) != v]
        logged = self._logged(run_id, list(steps or {}))
        new_metrics = [Metric(k, v, times.get(step, now), step) for k, values in (steps or {}).items()
                       for step, v in values.items() if step not in logged.get(k, {})]
        seen = self._figures.setdefault(run_id, {})
        new_metrics += [Metric(k, v, now, 0) for k, v in (figures or {}).items() if seen.get(k) != v]
        for i in range(0, max(len(new_metrics), len(new_params), len(new_tags)), 100):
            self.client.log_batch(run_id, metrics=new_metrics[i:i + 100], params=new_params[i:i + 100],
                                  tags=new_tags[i:i + 100])
        self._params.setdefault(run_id, set()).update(p.key for p in new_params)
        had.update((t.key, t.value) for t in new_tags)
        for m in new_metrics:
            if m.key in (figures or {}):
                seen[m.key] = m.value
            else:
                logged.setdefault(m.key, {})[m.step] = m.value

    def _set_status(self, run_id: str, status: str, end_time: int | None = None) -> None:
        if self._status.get(run_id) == status:
            return
        if status == "RUNNING":
            self.client.update_run(run_id, status="RUNNING")
        else:
            self.client.set_terminated(run_id, status, end_time=end_time)
        self._status[run_id] = status

    def _end(self, parent: str, test: dict) -> None:
        """The sweep's results on the parent: test figures, tables, plots, the HTML report."""
        figures, best = contents.test_figures(test)
        self._log(parent, figures=figures, tags={TAG + "best_trial": best} if best is not None else None)
        for name in contents.END_ARTIFACTS:
            path = self.run.path / name
            if path.is_file():
                self.client.log_artifact(parent, str(path))
        for path in sorted(self.run.path.glob("*.png")):
            self.client.log_artifact(parent, str(path), "plots")

    def _confirm(self, cfg, parent: str) -> int:
        """`sweep confirm`'s repeats, each a run under the parent."""
        rows = contents.confirm_rows(self.run)
        if rows is None:
            return 0
        exp_id = self.state["experiment_id"]
        for _, row in rows.iterrows():
            key = f"{row.trial_id}-seed_{int(row.seed)}-split_{int(row.split_seed)}"
            name = f"confirm trial {row.trial_id} seed {int(row.seed)}"
            run_id = self._run_for(exp_id, "confirm", key, name, self.state["confirm"], key,
                                   {PARENT_TAG: parent})
            params = {"trial_id": str(row.trial_id), "seed": str(int(row.seed)),
                      "split_seed": str(int(row.split_seed)),
                      **{n: param(row[n]) for n in cfg.hyperparameters if n in row}}
            failed = isinstance(row.get("reason"), str)
            tags = {TAG + "reason": row.reason[:5000]} if failed else {}
            self._log(run_id, params=params, tags=tags, figures=contents.confirm_figures(cfg, row))
            self._set_status(run_id, "FAILED" if failed else "FINISHED")
        return len(rows)

    # --- Export ----------------------------------------------------------------------------

    def log_export(self, trial_id: str, folder: Path, register: str | None = None) -> dict:
        """An export folder as an artifact of its trial's run; registered under `register`."""
        self.sync()
        run_id = self.state["trials"].get(str(trial_id))
        if run_id is None:
            raise MlflowException(f"trial {trial_id} has no run on {self.key}")
        where = f"export/{folder.name}"
        self.client.log_artifacts(run_id, str(folder), where)
        out: dict[str, Any] = {"run_id": run_id, "artifact_path": where}
        if register:
            try:
                self.client.create_registered_model(register)
            except MlflowException as e:
                if e.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
            version = self.client.create_model_version(register, f"runs:/{run_id}/{where}", run_id=run_id)
            out.update(registered=register, version=str(version.version))
        self.state["exports"][str(folder.resolve())] = out
        self._save()
        return out

