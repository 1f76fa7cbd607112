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
from sweep.space import hyperparameters, overrides
from sweep.space.checks import (
    check_fraction,
    check_keys,
    check_positive_int,
    check_type,
    describe_value,
    did_you_mean,
    is_int,
    one_of,
)
from sweep.space.hyperparameters import HYPERPARAMETERS, Choice, Fixed, HPRule, HyperParameter, Range

__all__ = ["ALGORITHMS", "HYPERPARAMETERS", "OBJECTIVES", "Choice", "ConfigError", "DataConfig",
           "Fixed", "HPRule", "HyperParameter", "Range", "SweepConfig", "TunerConfig", "load",
           "from_dict", "apply_overrides"]

ALGORITHMS = ("random", "grid", "bayesian", "hyperband")
MAX_SEED = 2**32 - 1  # NumPy's legacy seeding, which Keras uses, takes no more
EVALUATED_SPLITS = ("train", "test", "validation")  # tfds splits a sweep trains or evaluates on
SOURCE_SCHEMES = ("tfds", "csv", "dir")
# Keras TextVectorization's own standardizations, so an exported model.keras loads without
# this project; "sweep_0.1" is rnn-sweep 0.1's (lowercase, `<br />` tags and punctuation to
# spaces), kept so that the runs it made resume with the same tokens.
STANDARDIZATIONS = ("lower_and_strip_punctuation", "lower", "strip_punctuation", "sweep_0.1")
LEGACY_STANDARDIZATION = "sweep_0.1"


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
    unlabeled_split: str | None = None  # tfds split of unlabeled text, for word2vec only
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

    @property
    def direction(self) -> str:
        """'max' or 'min', from the metric table."""
        return metrics.direction(self.objective)

    @property
    def max_seconds(self) -> float | None:
        """`max_time` in seconds (None: no limit)."""
        return None if self.max_time is None else parse_duration(self.max_time)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smh])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(value: str | int | float) -> float:
    """'45s', '90m', '2h', '1h30m' or a number of seconds -> seconds (> 0).

    Raises:
        ValueError: anything else, with what was expected.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and re.fullmatch(r"(?:\s*\d+(?:\.\d+)?\s*[smh])+\s*", value):
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(value))
    else:
        raise ValueError(f"expected a duration such as 45s, 90m or 2h, got {value!r}")
    if not 0 < seconds < float("inf"):
        raise ValueError(f"expected a duration above zero, got {value!r}")
    return seconds


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
        out = {
            "name": self.name,
            "data": dataclasses.asdict(self.data),
            "tuner": dataclasses.asdict(self.tuner),
            "hyperparameters": hps,
        }
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


_TOP = ("name", "data", "tuner", "hyperparameters", "tracking")


def from_dict(raw: dict) -> SweepConfig:
    """Validates a parsed space (the YAML's top-level mapping)."""
    check_keys(raw, _TOP, "")
    if "hyperparameters" not in raw:
        raise ConfigError(
            "hyperparameters: missing; name at least one of " + one_of(HYPERPARAMETERS)
        )
    name = raw.get("name")
    if not isinstance(name, str) or not _valid_name(name):
        raise ConfigError(
            f"name: expected a folder name (letters, digits, '.', '_', '-'), got {name!r}"
        )
    data = _section(DataConfig, raw.get("data"), "data")
    tuner = _section(TunerConfig, raw.get("tuner"), "tuner")
    tracking = _section(TrackingConfig, raw.get("tracking"), "tracking")
    hps = hyperparameters.parse(raw["hyperparameters"])
    cfg = SweepConfig(name=name, hyperparameters=hps, data=data, tuner=tuner, tracking=tracking)
    _validate(cfg)
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
            raise ConfigError(f"--name: expected a folder name, got {flags['name']!r}")
        changes["name"] = flags["name"]
    if not changes:
        return cfg
    cfg = dataclasses.replace(cfg, **changes)
    try:
        _validate(cfg)
    except ConfigError as e:
        # Name the flag the user typed, not the space key it overrides.
        typed = next((f for f in given if f.kind == "text" and str(e).startswith(f"{f.key}:")), None)
        if typed is not None:
            raise ConfigError(typed.flag + ":" + str(e).removeprefix(f"{typed.key}:")) from None
        raise
    return cfg


# --- Validation ---------------------------------------------------------------------


def _section(cls: type, raw: Any, where: str):
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        hint = f" (write it as `{where}:` then `  source: {raw}` below)" if (
            where == "data" and isinstance(raw, str) and ":" in raw) else ""
        raise ConfigError(f"{where}: expected a mapping of keys, got {describe_value(raw)}{hint}")
    names = [f.name for f in dataclasses.fields(cls)]
    check_keys(raw, names, where)
    return cls(**raw)

def _validate(cfg: SweepConfig) -> None:
    """Checks values once sections are typed (also after CLI overrides)."""
    d, t = cfg.data, cfg.tuner
    check_type(d.source, str, "data.source", "a string such as 'tfds:imdb_reviews'")
    scheme, sep, location = d.source.partition(":")
    if not sep or not location or scheme not in SOURCE_SCHEMES:
        hint = did_you_mean(scheme, SOURCE_SCHEMES) if sep else ""
        raise ConfigError(
            f"data.source: expected SCHEME:LOCATION with SCHEME one of "
            f"{one_of(SOURCE_SCHEMES)} (e.g. tfds:imdb_reviews, csv:reviews.csv, dir:aclImdb), "
            f"got {d.source!r}{hint}"
        )
    check_fraction(d.validation_split, "data.validation_split")
    if d.test_split is not None:
        check_fraction(d.test_split, "data.test_split")
    for key in ("max_length", "batch_size"):
        check_positive_int(getattr(d, key), f"data.{key}")
    if d.standardize not in STANDARDIZATIONS:
        raise ConfigError(f"data.standardize: unknown value {d.standardize!r}"
                          f"{did_you_mean(str(d.standardize), STANDARDIZATIONS)}; "
                          f"expected one of {one_of(STANDARDIZATIONS)}")
    for key in ("limit_train", "limit_eval"):
        if getattr(d, key) is not None:
            check_positive_int(getattr(d, key), f"data.{key}")
    if not (d.download is False or d.download == "auto"):  # 0 == False, so `is`
        raise ConfigError(f"data.download: expected auto or false, got {d.download!r}")
    for key in ("label_column", "test_source", "data_dir", "unlabeled_split"):
        if getattr(d, key) is not None:
            check_type(getattr(d, key), str, f"data.{key}", "a string")
    tc = d.text_column
    if tc is not None and not (
        isinstance(tc, str) or (isinstance(tc, list) and tc and all(isinstance(c, str) for c in tc))
    ):
        raise ConfigError(f"data.text_column: expected a column name or a list of names, got {tc!r}")
    if d.test_source is not None and d.test_split is not None:
        raise ConfigError("data: give test_source or test_split, not both")
    if d.unlabeled_split is not None and scheme != "tfds":
        raise ConfigError(f"data.unlabeled_split: only for tfds: sources, got source {d.source!r}")
    if d.unlabeled_split is not None and _split_name(d.unlabeled_split) in EVALUATED_SPLITS:
        # word2vec would learn from the text that validation (carved from train) or test
        # come from.
        raise ConfigError(f"data.unlabeled_split: {d.unlabeled_split!r} holds text that validation or "
                          "test are drawn from; name a split of extra text (IMDB: unsupervised)")

    if t.algorithm not in ALGORITHMS:
        raise ConfigError(
            f"tuner.algorithm: unknown value {t.algorithm!r}"
            f"{did_you_mean(str(t.algorithm), ALGORITHMS)}; expected one of {one_of(ALGORITHMS)}"
        )
    if t.objective not in OBJECTIVES:
        raise ConfigError(
            f"tuner.objective: unknown value {t.objective!r}"
            f"{_objective_hint(str(t.objective))}; expected one of {one_of(OBJECTIVES)}"
        )
    for key in ("max_trials", "epochs", "early_stopping_patience", "max_consecutive_failed_trials"):
        check_positive_int(getattr(t, key), f"tuner.{key}")
    if not is_int(t.seed) or not 0 <= t.seed <= MAX_SEED:
        raise ConfigError(f"tuner.seed: expected an integer from 0 to {MAX_SEED} (2**32 - 1), "
                          f"got {t.seed!r}")
    if not is_int(t.hyperband_factor) or t.hyperband_factor < 2:
        raise ConfigError(f"tuner.hyperband_factor: expected an integer >= 2, got {t.hyperband_factor!r}")
    if t.algorithm == "grid":
        for name, spec in cfg.hyperparameters.items():
            if isinstance(spec, Range) and (spec.step is None or spec.sampling != "linear"):
                raise ConfigError(
                    f"hyperparameters.{name}: grid search needs a finite grid; give a list "
                    "of values or a linear range with a step"
                )
    _validate_budget(cfg)
    _validate_tracking(cfg.tracking)


def _validate_tracking(tracking: TrackingConfig) -> None:
    if tracking.mlflow is not None:
        check_tracking_uri(tracking.mlflow, "tracking.mlflow")
    if tracking.experiment is not None and (not isinstance(tracking.experiment, str)
                                            or not tracking.experiment.strip()):
        raise ConfigError(f"tracking.experiment: expected an MLflow experiment name, "
                          f"got {tracking.experiment!r}")
    if tracking.experiment is not None and tracking.mlflow is None:
        raise ConfigError("tracking.experiment: given without tracking.mlflow (the tracking URI)")


def check_tracking_uri(uri: Any, key: str) -> None:
    """A tracking URI without credentials in it (they would be saved with the space)."""
    if not isinstance(uri, str) or not uri.strip() or any(c.isspace() for c in uri):
        raise ConfigError(f"{key}: expected an MLflow tracking URI such as http://127.0.0.1:5000, "
                          f"got {uri!r}")
    _, sep, rest = uri.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        raise ConfigError(f"{key}: the URI holds a user name or password; give them in "
                          "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or "
                          "MLFLOW_TRACKING_TOKEN) instead, which are never saved")


def _objective_hint(typed: str) -> str:
    """An abbreviation first ('val_acc' -> 'val_accuracy', not 'val_auc'), else the closest name."""
    longer = [o for o in OBJECTIVES if o.startswith(typed) and len(typed) >= 5]
    return f" (did you mean {longer[0]!r}?)" if len(longer) == 1 else did_you_mean(typed, OBJECTIVES)


def _validate_budget(cfg: SweepConfig) -> None:
    """tuner.initial_points, max_time and start_from."""
    t = cfg.tuner
    if t.initial_points is not None:
        check_positive_int(t.initial_points, "tuner.initial_points")
    if t.max_time is not None:
        try:
            parse_duration(t.max_time)
        except ValueError as e:
            raise ConfigError(f"tuner.max_time: {e}") from None
    if not isinstance(t.start_from, list):
        raise ConfigError(f"tuner.start_from: expected a list of configurations (mappings of "
                          f"hyperparameter: value), got {describe_value(t.start_from)}")
    if t.start_from and t.algorithm == "grid":
        raise ConfigError("tuner.start_from: grid search tries every configuration anyway; "
                          "use random, bayesian or hyperband")
    for i, entry in enumerate(t.start_from):
        where = f"tuner.start_from[{i}]"
        if not isinstance(entry, dict) or not entry:
            raise ConfigError(f"{where}: expected a mapping of hyperparameter: value, "
                              f"got {describe_value(entry)}")
        check_keys(entry, cfg.hyperparameters, where)
        for name, value in entry.items():
            _check_in_space(value, cfg.hyperparameters[name], f"{where}.{name}", name)


def _check_in_space(value: Any, spec: HyperParameter, key: str, name: str) -> None:
    """A start_from value must be one the space can draw."""
    value = hyperparameters.check_value(name, value, key)
    if isinstance(spec, Fixed):
        allowed = [spec.value]
    elif isinstance(spec, Choice):
        allowed = list(spec.values)
    else:
        allowed = []
    if allowed:
        # Type-aware: True is not 1 here.
        if not any(value == a and type(value) is type(a) for a in allowed):
            raise ConfigError(f"{key}: {value!r} is not in the space; expected one of "
                              f"{one_of(allowed)}")
        return
    assert isinstance(spec, Range)
    if not spec.min <= value <= spec.max:
        raise ConfigError(f"{key}: {value!r} is outside the space's range {spec.min:g} to {spec.max:g}")
    if spec.is_int and spec.step is not None and (value - spec.min) % spec.step:
        raise ConfigError(f"{key}: {value!r} is not on the space's grid "
                          f"({spec.min:g} to {spec.max:g} in steps of {spec.step:g})")


def _valid_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and all(c.isalnum() or c in "._-" for c in name)


def _split_name(split: str) -> str:
    """A tfds split spec's name: 'train[:50%]' -> 'train', 'train+test' -> both count."""
    names = [part.split("[", 1)[0].strip() for part in split.split("+")]
    return next((n for n in names if n in EVALUATED_SPLITS), names[0])
