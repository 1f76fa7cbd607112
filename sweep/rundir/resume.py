"""Whether a run folder may be resumed or replaced, and making it ready for a sweep."""

from __future__ import annotations

import dataclasses
from typing import Any

from sweep.errors import ConfigError, DamagedRun, NotARunError, UsageError
from sweep.rundir import owned, writes
from sweep.rundir.atomic import read_json
from sweep.rundir.layout import RunDir
from sweep.rundir.saved import load_config
from sweep.space import config


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
        d.pop("baseline", None)  # what the winner is compared with, not what a trial is
        d["data"].pop("download", None)  # how to get the data, not what it is
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
    """Makes `run` ready and saves the resolved space; returns True when resuming. The caller
    holds the run (`lock.RunLock`): the saved space of a resumed run is written over.

    Raises:
        ConfigError: the folder holds a run of a different space (KerasTuner would
            silently resume it with the old one).
    """
    resuming = check_resumable(cfg, run, overwrite)
    if overwrite and run.path.exists():
        owned.clear_run(run, keep=run.lock.name)
    run.path.mkdir(parents=True, exist_ok=True)
    writes.write_run_text(run, run.config, cfg.to_yaml())
    return resuming


def check_resumable(cfg: config.SweepConfig, run: RunDir, overwrite: bool) -> bool:
    """Whether `cfg` resumes the sweep in `run`; raises when it cannot.

    Raises:
        ConfigError: the folder holds a run of a different space (KerasTuner would
            silently resume it with the old one).
        DamagedRun: KerasTuner's saved state cannot be read.
    """
    if not overwrite:
        writes.check_run_folder(run)  # a same-named folder that is not a run: never written into
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
    if others and not owned.overwritable(run):
        raise UsageError(f"--overwrite: {run} is not a run folder (no saved space with the status or "
                         "tuner state of a sweep in it); refusing to delete it")
