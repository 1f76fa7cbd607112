"""The search space: YAML -> validated, frozen dataclasses.

Everything a user can get wrong in a space file is caught here, before TensorFlow is
imported or a run folder exists, and reported as one `ConfigError` line that names the
key and what was expected. This module knows no TensorFlow and no KerasTuner.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sweep import metrics
from sweep.errors import ConfigError
from sweep.metrics import OBJECTIVES
from sweep.space import hyperparameters, overrides, registry, validation
from sweep.space.allowed import (
    ALGORITHMS,
    EVALUATED_SPLITS,
    LEGACY_STANDARDIZATION,
    MAX_SEED,
    SOURCE_SCHEMES,
    STANDARDIZATIONS,
    parse_duration,
)
from sweep.space.checks import check_keys, describe_value, one_of
from sweep.space.hyperparameters import HYPERPARAMETERS, Choice, Fixed, HPRule, HyperParameter, Range

__all__ = ["ALGORITHMS", "EVALUATED_SPLITS", "HYPERPARAMETERS", "LEGACY_STANDARDIZATION", "MAX_SEED",
           "OBJECTIVES", "SOURCE_SCHEMES", "STANDARDIZATIONS", "Choice", "ConfigError", "DataConfig",
           "PretrainConfig",
           "Fixed", "HPRule", "HyperParameter", "Range", "SweepConfig", "TunerConfig", "load",
           "from_dict", "apply_overrides", "parse_duration"]

# --- Sections -----------------------------------------------------------------------


@dataclass(frozen=True)
class DataConfig:
    """Where the text comes from and how it is cut and batched."""

    source: str = "tfds:imdb_reviews"
    validation_split: float = 0.2
    max_length: int = 256
    standardize: str = "lower_and_strip_punctuation"  # one of STANDARDIZATIONS
    batch_size: int = 64
    limit_train: int | None = None
    limit_eval: int | None = None
    text_column: str | list[str] | None = None
    label_column: str | None = None
    test_source: str | None = None
    test_split: float | None = None
    data_dir: str | None = None
    unlabeled_split: str | None = None  # tfds split of unlabeled text, for word2vec and the LM only
    # csv:PATH or dir:PATH of unlabeled text beside a csv/dir source (word2vec and the LM only)
    unlabeled_source: str | None = None
    # A tfds dataset not prepared under data_dir: "auto" downloads and prepares it (tfds), false
    # refuses (DataError). Not part of what the data is: a run resumes with either.
    download: str | bool = "auto"

    @property
    def scheme(self) -> str:
        return self.source.split(":", 1)[0]

    @property
    def location(self) -> str:
        return self.source.split(":", 1)[1]


@dataclass(frozen=True)
class TunerConfig:
    """Which KerasTuner tuner runs the search and for how long."""

    algorithm: str = "bayesian"
    objective: str = "val_accuracy"
    max_trials: int = 20
    epochs: int = 5
    early_stopping_patience: int = 2
    seed: int = 42
    max_consecutive_failed_trials: int = 3
    hyperband_factor: int = 3
    initial_points: int | None = None  # Bayesian random starts; None: `SweepConfig.initial_points()`
    max_time: str | int | None = None  # a duration ('45s', '90m', '2h') or seconds; None: no limit
    start_from: list[dict[str, Any]] = field(default_factory=list)  # configurations tried first
    # "median": a trial whose curve falls behind the earlier trials' median stops (sweep.search.pruning)
    pruning: str = "none"

    @property
    def direction(self) -> str:
        """'max' or 'min', from the metric table."""
        return metrics.direction(self.objective)

    @property
    def max_seconds(self) -> float | None:
        """`max_time` in seconds (None: no limit)."""
        return None if self.max_time is None else parse_duration(self.max_time)


@dataclass(frozen=True)
class PretrainConfig:
    """How the language model behind `embedding_init: lm` is trained (`sweep.train.pretrain`).

    Part of what an LM is: a change trains (and caches) another one.
    """

    epochs: int = 1  # passes over the LM's text (training part + unlabeled text)
    sequence_length: int = 64  # tokens per training window (truncated backpropagation)
    batch_size: int = 64  # windows per step
    sampled: int = 1024  # sampled-softmax classes per step; 0 (or >= vocab_size): full softmax
    learning_rate: float = 1e-3  # Adam's, in epoch 1
    lr_decay: float = 1.0  # the rate's factor each epoch: epoch K trains at learning_rate * lr_decay**(K - 1)
    # Fine-tuning, not the LM: epochs an lm trial trains its head alone (gradual unfreezing),
    # then whether the encoder unfreezes "together" or "layerwise" (a layer an epoch, top first)
    freeze_epochs: int = 0
    unfreeze: str = "together"


@dataclass(frozen=True)
class TrackingConfig:
    """Where trials are also recorded (MLflow); not part of what a trial means.

    `mlflow` is a tracking URI (`http://host:5000`, `sqlite:///mlflow.db`, ...). User names,
    passwords and tokens come only from MLflow's environment variables
    (MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD, MLFLOW_TRACKING_TOKEN): a URI
    holding them is refused, since the space is saved in the run folder.
    """

    mlflow: str | None = None
    experiment: str | None = None  # None: the sweep's name

    @property
    def enabled(self) -> bool:
        return self.mlflow is not None


@dataclass(frozen=True)
class SweepConfig:
    """A whole, resolved search space."""

    name: str
    hyperparameters: dict[str, HyperParameter]
    data: DataConfig = field(default_factory=DataConfig)
    tuner: TunerConfig = field(default_factory=TunerConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)  # embedding_init: lm only
    # modules imported when the space is read: they register cells and sources (docs/extending.md)
    plugins: tuple[str, ...] = ()
    # A TF-IDF + logistic regression fitted on the same splits and scored once on test
    # beside the selected trial (`sweep.search.baseline`); false skips it.
    baseline: bool = True

    def to_dict(self) -> dict:
        """The resolved space in the YAML forms `from_dict` reads back."""
        hps = {}
        for name, spec in self.hyperparameters.items():
            if isinstance(spec, Fixed):
                hps[name] = spec.value
            elif isinstance(spec, Choice):
                hps[name] = list(spec.values)
            else:
                hps[name] = {
                    k: v for k, v in dataclasses.asdict(spec).items() if v is not None
                }
        out: dict[str, Any] = {
            "name": self.name,
            "data": dataclasses.asdict(self.data),
            "tuner": dataclasses.asdict(self.tuner),
            "hyperparameters": hps,
        }
        if self.plugins:
            out["plugins"] = list(self.plugins)
        if not self.baseline:
            out["baseline"] = False
        if self.pretrain != PretrainConfig():  # left out when default: older saved spaces match
            out["pretrain"] = dataclasses.asdict(self.pretrain)
        if self.tracking != TrackingConfig():
            out["tracking"] = {k: v for k, v in dataclasses.asdict(self.tracking).items() if v is not None}
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def varying(self) -> list[str]:
        """Names of the hyperparameters that take more than one value."""
        return [n for n, s in self.hyperparameters.items() if not isinstance(s, Fixed)]

    def initial_points(self) -> int:
        """Random trials Bayesian optimisation runs before it fits its Gaussian process.

        `tuner.initial_points`, else one more than the varying hyperparameters (the fewest
        points that span them: a simplex), at most a third of `max_trials` so that two
        thirds or more of the budget is the model's, and at least 2. Known starting points
        (`start_from`) count among them.
        """
        t = self.tuner
        if t.initial_points is not None:
            chosen = t.initial_points
        else:
            chosen = max(2, min(len(self.varying()) + 1, t.max_trials // 3))
        return max(chosen, len(t.start_from))

# --- Loading ------------------------------------------------------------------------


def load(space: str | os.PathLike | Mapping[str, Any] | SweepConfig, **flags: Any) -> SweepConfig:
    """Reads, validates and resolves a space, then applies the run flags (`sweep run`, `sweep.run`).

    Args:
        space: the YAML file; or a mapping with its structure, or a loaded space (the
            Python API).
        **flags: flag values by their names in `sweep.space.overrides.FLAGS`
            (see `apply_overrides`); `None` means "not given".

    Raises:
        ConfigError: on anything malformed, with the offending key named.
    """
    if isinstance(space, SweepConfig):
        return apply_overrides(space, **flags)
    if isinstance(space, Mapping):
        raw = copy.deepcopy(dict(space))
        if "name" not in raw and flags.get("name") is not None:
            raw["name"] = flags["name"]  # from_dict needs one; --name's check applies below
        return apply_overrides(from_dict(raw), **flags)
    if not isinstance(space, (str, os.PathLike)):
        raise ConfigError(f"space: expected a YAML file's path, a mapping or a loaded space, got "
                          f"{type(space).__name__}")
    path = Path(space)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such space file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the space file ({e})") from None
    try:
        raw = yaml.load(text, Loader=_SpaceLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        if "'\\t'" in problem:
            problem += " (indent with spaces: YAML does not allow tabs)"
        raise ConfigError(f"{path}:{where}: YAML syntax error: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: expected a mapping with keys {one_of(_TOP)}, got {describe_value(raw)}"
        )
    if "name" not in raw:
        if not _valid_name(path.stem):
            raise ConfigError(
                f"name: not given, and the file name {path.stem!r} is not a folder name "
                "(letters, digits, '.', '_', '-'); add a name: line"
            )
        raw["name"] = path.stem
    return apply_overrides(from_dict(raw), **flags)


class _SpaceLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with two fixes for hand-written space files.

    - `1e-3` is a float, as in YAML 1.2 and Python (PyYAML follows YAML 1.1, which
      needs a dot, `1.0e-3`, and reads `1e-3` as the string '1e-3').
    - A key given twice in one mapping is an error (PyYAML keeps the last silently).
    """

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key_node.value!r} is given twice in the same mapping",
                    key_node.start_mark,
                )
            seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


_SpaceLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


_TOP = ("name", "data", "tuner", "hyperparameters", "pretrain", "tracking", "plugins", "baseline")


def from_dict(raw: dict) -> SweepConfig:
    """Validates a parsed space (the YAML's top-level mapping)."""
    check_keys(raw, _TOP, "")
    if "hyperparameters" not in raw:
        raise ConfigError(
            "hyperparameters: missing; name at least one of " + one_of(HYPERPARAMETERS)
        )
    name = raw.get("name")
    if not isinstance(name, str) or not _valid_name(name):
        raise ConfigError(f"name: expected {NAME_RULE}, got {_shown(name)}")
    plugins = registry.load_plugins(raw.get("plugins"))  # before the names they register are read
    data = validation.section(DataConfig, raw.get("data"), "data")
    tuner = validation.section(TunerConfig, raw.get("tuner"), "tuner")
    tracking = validation.section(TrackingConfig, raw.get("tracking"), "tracking")
    pretrain = validation.section(PretrainConfig, raw.get("pretrain"), "pretrain")
    hps = hyperparameters.parse(raw["hyperparameters"])
    baseline = raw.get("baseline", True)
    if not isinstance(baseline, bool):
        raise ConfigError(f"baseline: expected true or false, got {describe_value(baseline)}")
    cfg = SweepConfig(name=name, hyperparameters=hps, data=data, tuner=tuner, tracking=tracking,
                      pretrain=pretrain, plugins=plugins, baseline=baseline)
    validation.validate(cfg)
    return cfg


def apply_overrides(cfg: SweepConfig, **flags: Any) -> SweepConfig:
    """Returns `cfg` with the given (non-None) flag values applied and re-validated.

    Args:
        cfg: a validated space.
        **flags: values by the names of `sweep.space.overrides.FLAGS` (name, source,
            algorithm, max_trials, max_time, epochs, seed, limit_train, limit_eval); `None`
            means "not given".

    Raises:
        TypeError: a name that is not in the table.
        ConfigError: a value the space refuses, naming the flag for values the command line
            takes as typed (--data, --name) and the space key for the others.
    """
    unknown = set(flags) - set(overrides.BY_NAME)
    if unknown:
        raise TypeError(f"unknown overrides: {sorted(unknown)}")
    given = [overrides.BY_NAME[k] for k, v in flags.items() if v is not None]
    sections: dict[str, dict[str, Any]] = {}
    for f in given:
        if f.section is not None:
            sections.setdefault(f.section, {})[f.name] = flags[f.name]
    changes: dict[str, Any] = {s: dataclasses.replace(getattr(cfg, s), **values)
                               for s, values in sections.items()}
    if flags.get("name") is not None:
        if not _valid_name(flags["name"]):
            raise ConfigError(f"--name: expected {NAME_RULE}, got {_shown(flags['name'])}")
        changes["name"] = flags["name"]
    if not changes:
        return cfg
    cfg = dataclasses.replace(cfg, **changes)
    try:
        validation.validate(cfg)
    except ConfigError as e:
        # Name the flag the user typed, not the space key it overrides.
        typed = next((f for f in given if f.kind == "text" and str(e).startswith(f"{f.key}:")), None)
        if typed is not None:
            raise ConfigError(typed.flag + ":" + str(e).removeprefix(f"{typed.key}:")) from None
        raise
    return cfg


MAX_NAME = 100  # bytes: a run folder's name, with room for the temporary names made beside it
NAME_RULE = f"a folder name (letters, digits, '.', '_', '-'; at most {MAX_NAME} characters)"


def _valid_name(name: Any) -> bool:
    """Whether `name` (any value: the API passes what it is given) names a run folder."""
    return (isinstance(name, str) and 0 < len(name.encode("utf-8")) <= MAX_NAME
            and name not in (".", "..") and all(c.isalnum() or c in "._-" for c in name))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:50]}... ({len(str(value))} characters)"
