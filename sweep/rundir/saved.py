"""The space saved in a run folder (config.yaml) and the class names (classes.json), read back."""

from __future__ import annotations

import yaml

from sweep.errors import ConfigError, NotARunError
from sweep.rundir import legacy
from sweep.rundir.atomic import read_json
from sweep.rundir.layout import RunDir
from sweep.space import config


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
    legacy.upgrade(saved)
    try:
        return config.from_dict(saved)
    except ConfigError as e:
        raise NotARunError(f"{run.config}: not a valid saved search space ({e})") from None


def class_names(run: RunDir) -> list[str] | None:
    """The class names by class id (`classes.json`), or None before the sweep saved them."""
    names = read_json(run.classes_json)
    return [str(n) for n in names] if isinstance(names, list) else None
