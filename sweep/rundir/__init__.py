"""The run folder: its layout, its one way of writing files, its status and saved space.

    results/<name>/
      config.yaml  status.json                 the resolved space; running|finished|interrupted|failed
      trials.csv  history.csv  test.json       one row per trial; per trial x epoch; the winner on test
      length_accuracy.csv  classes.json  *.png
      confirm.csv  confirm/                    `sweep confirm`: a row per configuration x seed; weights
      mlflow.json                              MLflow run ids per tracking server (`sweep.track`)
      tuner/                                   KerasTuner's project (oracle.json, trial_*/)
      cache/                                   vectorized data and word vectors
      logs/  tensorboard/

This is the only module that knows those names. It imports no TensorFlow, so reports and
plots work on a folder copied from elsewhere.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from sweep.errors import ConfigError, DamagedRun, NotARunError, UsageError
from sweep.space import config

TUNER_PROJECT = "tuner"  # KerasTuner's project_name inside the run folder
HEARTBEAT_SECONDS = 30.0  # a running sweep refreshes status.json this often
STALE_AFTER = 4 * HEARTBEAT_SECONDS  # no heartbeat for this long: the sweep is dead
STATES = ("running", "finished", "interrupted", "failed")


class _Inside:
    """A fixed path inside a folder, read as an attribute: `run.config` is RUN/config.yaml."""

    def __init__(self, *parts: str):
        self.parts = parts

    def __get__(self, folder: RunDir | ExportDir, owner: type | None = None) -> Path:
        return folder.path.joinpath(*self.parts)


class RunDir:
    """Paths inside one run folder (nothing is read or made by building one)."""

    config = _Inside("config.yaml")  # the resolved space, as saved
    status = _Inside("status.json")  # running|finished|interrupted|failed, pid, host, heartbeat
    trials_csv = _Inside("trials.csv")
    history_csv = _Inside("history.csv")
    test_json = _Inside("test.json")  # the selected trial, evaluated once on test
    classes_json = _Inside("classes.json")  # class names by class id
    length_accuracy_csv = _Inside("length_accuracy.csv")
    confirm_csv = _Inside("confirm.csv")  # `sweep confirm`: one row per configuration x seed
    confirm_png = _Inside("confirm.png")
    confirm_weights = _Inside("confirm")  # each repeat's best-epoch weights, for the test
    lock = _Inside("lock")  # who runs the sweep (sweep.rundir.lock)
    mlflow_json = _Inside("mlflow.json")  # MLflow run ids by tracking server (sweep.track)
    oracle_secret = _Inside("oracle.secret")  # the distributed oracle's shared secret (0600)
    tuner = _Inside(TUNER_PROJECT)  # KerasTuner's project folder
    oracle_json = _Inside(TUNER_PROJECT, "oracle.json")
    cache = _Inside("cache")
    logs = _Inside("logs")
    tensorboard = _Inside("tensorboard")

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def worker_lock(self, worker_id: str) -> Path:
        """Held by the live worker of that id."""
        return self.logs / f"{worker_id}.lock"

    def confirm_checkpoint(self, trial_id: str, seed: int, split_seed: int) -> Path:
        """The best-epoch weights of one `sweep confirm` repeat."""
        return self.confirm_weights / f"trial_{trial_id}-seed_{seed}-split_{split_seed}.npz"

    def plot(self, name: str) -> Path:
        """A plot's file: 'best_curves' -> RUN/best_curves.png."""
        return self.path / f"{name}.png"

    def worker_log(self, worker_id: str) -> Path:
        return self.logs / f"{worker_id}.log"

    def tuner_state(self, tuner_id: str) -> Path:
        """KerasTuner's per-tuner state file (`tuner/<tuner_id>.json`)."""
        return self.tuner / f"{tuner_id}.json"

    # Per trial, inside KerasTuner's trial folders
    def trial_dir(self, trial_id: str) -> Path:
        return self.tuner / f"trial_{trial_id}"

    def trial_dirs(self) -> list[Path]:
        return sorted(p for p in self.tuner.glob("trial_*") if p.is_dir())

    @staticmethod
    def trial_id_of(trial_dir: Path) -> str:
        return trial_dir.name.removeprefix("trial_")

    @staticmethod
    def trial_json(trial_dir: Path) -> Path:
        return trial_dir / "trial.json"

    @staticmethod
    def epochs_csv(trial_dir: Path) -> Path:
        """This project's per-epoch record (KerasTuner keeps only the best epoch)."""
        return trial_dir / "epochs.csv"

    @staticmethod
    def checkpoint(trial_dir: Path) -> Path:
        """KerasTuner's weights of the trial's best epoch."""
        return trial_dir / "checkpoint.weights.h5"

    def export_dir(self, trial_id: str, refit: bool = False) -> Path:
        """Where `sweep export` writes a trial's model by default."""
        return self.path / "export" / f"trial_{trial_id}{'_refit' if refit else ''}"

    @staticmethod
    def trial_record(trial_dir: Path) -> Path:
        """This project's timings, memory and worker of one trial."""
        return trial_dir / "sweep.json"

    # Cache files, keyed by what they depend on
    def tokens_cache(self, fingerprint: str, vocab_size: int, max_length: int) -> Path:
        return self.cache / f"tokens-{fingerprint}-v{vocab_size}-l{max_length}.npz"

    def vocabulary(self, fingerprint: str, vocab_size: int, max_length: int) -> Path:
        """The vocabulary behind `tokens_cache` (and what cut the text), for export."""
        return self.cache / f"vocab-{fingerprint}-v{vocab_size}-l{max_length}.json"

    def vectors_cache(self, fingerprint: str, vocab_size: int, max_length: int, dim: int) -> Path:
        return self.cache / f"word2vec-{fingerprint}-v{vocab_size}-l{max_length}-d{dim}.npy"


class ExportDir:
    """Paths inside an export folder (`sweep export`), inside a run folder or anywhere."""

    model_keras = _Inside("model.keras")  # raw strings in, probabilities out; Keras built-ins only
    saved_model = _Inside("saved_model")  # TensorFlow SavedModel, `serve` signature
    classes_json = _Inside("classes.json")
    card_md = _Inside("model_card.md")
    card_json = _Inside("model_card.json")

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.path)

    def is_export(self) -> bool:
        return self.card_json.is_file()


def as_run(run: RunDir | str | Path) -> RunDir:
    """A RunDir for a path (or the RunDir itself)."""
    return run if isinstance(run, RunDir) else RunDir(run)


# --- Writing ------------------------------------------------------------------------


def save_atomic(path: Path, save: Callable[[Path], Any]) -> None:
    """`save(tmp)` writes a temporary file, which is synced and renamed to `path`.

    A reader (or a resume after a kill or a power cut) sees the old file or the new one,
    never half of one. The temporary name is unique per host and process, since workers
    that share a run folder may write the same file at once.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{socket.gethostname()}-{os.getpid()}.tmp{path.suffix}")
    try:
        save(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def write_atomic(path: Path, text: str) -> None:
    """Writes `text` (UTF-8) to `path` atomically (see `save_atomic`)."""
    save_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=2))


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_tree(folder: Path) -> None:
    """Flushes every file below `folder`, and the folders themselves, to the disk."""
    for path in sorted(Path(folder).rglob("*"), reverse=True):
        if path.is_file() and not path.is_symlink():
            with contextlib.suppress(OSError), open(path, "rb") as f:
                os.fsync(f.fileno())
        elif path.is_dir():
            _fsync_dir(path)
    _fsync_dir(Path(folder))


def read_json(path: Path) -> Any:
    """The parsed file, or None when it is missing or not JSON (caught mid-copy, damaged)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# --- Status -------------------------------------------------------------------------


def write_status(run: RunDir, state: str, **extra: Any) -> None:
    """Records whether the sweep is running, finished, interrupted or failed.

    Written whole, so a resumed run does not carry the last run's failure reason. The
    host tells a report on a copied folder not to trust the pid.
    """
    now = time.time()
    write_json(run.status, dict(state=state, pid=os.getpid(), host=socket.gethostname(),
                                time=now, heartbeat=now, **extra))


def run_state(run: RunDir) -> str:
    """'running', 'finished', 'interrupted' or 'failed' (a dead 'running' one is interrupted).

    A 'running' sweep is dead when its pid is gone (on the host that wrote status.json) or,
    on any host, when its heartbeat is older than STALE_AFTER.
    """
    status = read_json(run.status)
    if not isinstance(status, dict):
        return "interrupted"
    state = status.get("state", "interrupted")
    if state != "running":
        return state
    here = status.get("host") in (None, socket.gethostname())
    beat = status.get("heartbeat")
    stale = isinstance(beat, (int, float)) and time.time() - beat > STALE_AFTER
    if stale or (here and not pid_alive(status.get("pid"))):
        return "interrupted"
    return state


def pid_alive(pid: Any) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(int(pid), 0)
    except PermissionError:
        return True  # it exists, under another user
    except (OSError, TypeError, ValueError):
        return False
    return True


# --- The saved space ----------------------------------------------------------------


def check_is_run(run: RunDir) -> None:
    """Raises NotARunError unless `run` is a folder holding a saved space."""
    if not run.path.exists():
        raise NotARunError(f"{run}: no such folder")
    if not run.path.is_dir():
        raise NotARunError(f"{run}: not a folder (give a run folder such as results/NAME)")
    if not run.config.is_file():
        raise NotARunError(f"{run}: not a run folder (no config.yaml in it)")


def load_config(run: RunDir) -> config.SweepConfig:
    """The run's saved space, typed; keys added to the harness since count as their defaults.

    Raises:
        NotARunError: not a run folder, or its config.yaml cannot be read as a space.
    """
    check_is_run(run)
    try:
        saved = yaml.safe_load(run.config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise NotARunError(f"{run.config}: unreadable ({str(e).splitlines()[0]})") from None
    if not isinstance(saved, dict):
        raise NotARunError(f"{run.config}: not a saved search space")
    if isinstance(saved.get("data"), dict) and "standardize" not in saved["data"]:
        # Saved before the key existed: made by 0.1, which had its own standardization.
        saved["data"]["standardize"] = config.LEGACY_STANDARDIZATION
    try:
        return config.from_dict(saved)
    except ConfigError as e:
        raise NotARunError(f"{run.config}: not a valid saved search space ({e})") from None


def keep_saved_standardization(cfg: config.SweepConfig, run: RunDir) -> config.SweepConfig:
    """`cfg`, resuming a run made by 0.1, with 0.1's standardization where `cfg` has the default.

    The space files of 0.1 name no standardization; without this they would resume their
    runs with other tokens than the trials so far were trained on.
    """
    if not run.oracle_json.exists() or cfg.data.standardize != config.DataConfig.standardize:
        return cfg
    try:
        saved = load_config(run).data.standardize
    except NotARunError:
        return cfg
    if saved != config.LEGACY_STANDARDIZATION:
        return cfg
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, standardize=saved))


def class_names(run: RunDir) -> list[str] | None:
    """The class names by class id (`classes.json`), or None before the sweep saved them."""
    names = read_json(run.classes_json)
    return [str(n) for n in names] if isinstance(names, list) else None


def saved_space_diffs(cfg: config.SweepConfig, run: RunDir) -> list[str]:
    """Where `cfg` differs from the space saved in `run` (none saved: no differences).

    Settings that do not change what a trial means may change on resume ("run 10
    more", "allow more failures in a row"): they are left out.
    """
    if not run.config.exists():
        return []
    old = load_config(run).to_dict()
    new = cfg.to_dict()
    for d in (old, new):
        for key in RESUMABLE_CHANGES:
            d["tuner"].pop(key)
        d.pop("tracking", None)  # where trials are also recorded, not what they are
    return _diff(old, new)


RESUMABLE_CHANGES = ("max_trials", "max_consecutive_failed_trials", "max_time")


def _diff(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += _diff(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [] if old == new else [prefix.rstrip(".")]


def prepare(cfg: config.SweepConfig, run: RunDir, overwrite: bool) -> bool:
    """Makes `run` ready and saves the resolved space; returns True when resuming.

    Raises:
        ConfigError: the folder holds a run of a different space (KerasTuner would
            silently resume it with the old one).
    """
    resuming = check_resumable(cfg, run, overwrite)
    if overwrite and run.path.exists():
        for entry in run.path.iterdir():
            if entry.name == run.lock.name:
                continue  # held by this sweep
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    run.path.mkdir(parents=True, exist_ok=True)
    write_atomic(run.config, cfg.to_yaml())
    return resuming


def check_resumable(cfg: config.SweepConfig, run: RunDir, overwrite: bool) -> bool:
    """Whether `cfg` resumes the sweep in `run`; raises when it cannot.

    Raises:
        ConfigError: the folder holds a run of a different space (KerasTuner would
            silently resume it with the old one).
        DamagedRun: KerasTuner's saved state cannot be read.
    """
    resuming = run.oracle_json.exists() and not overwrite
    if resuming:
        check_tuner_state(run)
        diffs = saved_space_diffs(cfg, run)
        if diffs:
            raise ConfigError(
                f"{run} holds a sweep of a different space (differs in {', '.join(diffs[:4])}); "
                "pass --overwrite to replace it or --name to run beside it"
            )
    return resuming


def check_tuner_state(run: RunDir) -> None:
    """Raises DamagedRun, naming the file, when KerasTuner's saved state cannot be read.

    KerasTuner would stop with a traceback on the first one it reads.
    """
    files = [run.oracle_json, *sorted(run.tuner.glob("*.json"))]
    files += [RunDir.trial_json(d) for d in run.trial_dirs() if RunDir.trial_json(d).exists()]
    way_out = "restore it from a backup, or pass --overwrite to start the sweep afresh (its trials are lost)"
    for path in dict.fromkeys(files):
        if path.exists() and not isinstance(read_json(path), dict):
            what = "a trial's record" if path.name == "trial.json" else "KerasTuner's saved state"
            raise DamagedRun(f"{path}: damaged (not a JSON object: {what}); {way_out}")
    oracle = read_json(run.oracle_json) or {}
    known = [*oracle.get("start_order", []), *oracle.get("end_order", []),
             *(oracle.get("ongoing_trials") or {}).values()]
    for trial_id in dict.fromkeys(str(t) for t in known):
        path = RunDir.trial_json(run.trial_dir(trial_id))
        if not path.exists():
            raise DamagedRun(f"{path}: missing (oracle.json lists trial {trial_id}); {way_out}")


def check_overwritable(run: RunDir) -> None:
    """--overwrite deletes run folders only: not a folder of anything else."""
    if not run.path.exists():
        return
    if not run.path.is_dir():
        raise UsageError(f"--overwrite: {run} is not a folder")
    others = [p for p in run.path.iterdir() if p.name != run.lock.name]
    if others and not _is_sweep_folder(run):
        raise UsageError(f"--overwrite: {run} is not a run folder (no saved space, status.json or "
                         "tuner/oracle.json in it); refusing to delete it")


def _is_sweep_folder(run: RunDir) -> bool:
    """Whether `run` holds a sweep's files (not merely a file that happens to share a name)."""
    if run.oracle_json.exists() or isinstance(read_json(run.status), dict):
        return True
    try:
        load_config(run)
    except NotARunError:
        return False
    return True
