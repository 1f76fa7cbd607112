"""The search space: YAML -> validated, frozen dataclasses.

Everything a user can get wrong in a space file is caught here, before TensorFlow is
imported or a run folder exists, and reported as one `ConfigError` line that names the
key and what was expected. This module knows no TensorFlow and no KerasTuner.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A bad space file or flag: nothing has run yet. The CLI exits 2 on it."""


CELLS = ("simple_rnn", "lstm", "gru")
POOLINGS = ("last", "max", "mean", "max_mean")
EMBEDDING_INITS = ("random", "word2vec")
ALGORITHMS = ("random", "grid", "bayesian", "hyperband")
OBJECTIVES = ("val_accuracy", "val_loss", "accuracy", "loss")
SOURCE_SCHEMES = ("tfds", "csv", "dir")
SAMPLINGS = ("linear", "log", "reverse_log")


# --- Hyperparameter specs: the three YAML forms -------------------------------------


@dataclass(frozen=True)
class Fixed:
    """A scalar in YAML: the value every trial uses."""

    value: Any


@dataclass(frozen=True)
class Choice:
    """A list in YAML: KerasTuner's `hp.Choice`."""

    values: tuple


@dataclass(frozen=True)
class Range:
    """A `{min, max, step, sampling}` mapping: `hp.Int` when bounds and step are ints."""

    min: float
    max: float
    step: float | None = None
    sampling: str = "linear"

    @property
    def is_int(self) -> bool:
        return all(_is_int(v) for v in (self.min, self.max)) and (
            self.step is None or _is_int(self.step)
        )


HyperParameter = Fixed | Choice | Range


@dataclass(frozen=True)
class HPRule:
    """What one known hyperparameter accepts."""

    kind: type  # bool, int, float or str
    default: Any
    doc: str
    low: float | None = None  # smallest allowed value
    low_open: bool = False  # True: value must be > low
    high: float | None = None
    high_open: bool = False
    options: tuple = ()


HYPERPARAMETERS: dict[str, HPRule] = {
    "cell": HPRule(str, "lstm", "recurrent cell", options=CELLS),
    "bidirectional": HPRule(bool, False, "wrap each recurrent layer in Bidirectional"),
    "vocab_size": HPRule(int, 10000, "TextVectorization max_tokens (incl. padding and OOV)", low=3),
    "embedding_dim": HPRule(int, 64, "embedding width", low=1),
    "hidden_units": HPRule(int, 64, "units per recurrent layer (per direction)", low=1),
    "learning_rate": HPRule(float, 1e-3, "Adam learning rate", low=0, low_open=True),
    "lr_decay": HPRule(float, 1.0, "learning rate multiplier per epoch (1: constant)",
                       low=0, low_open=True, high=1),
    "num_layers": HPRule(int, 1, "stacked recurrent layers", low=1),
    "dropout": HPRule(float, 0.0, "dropout before the output layer", low=0, high=1, high_open=True),
    "embedding_init": HPRule(str, "random", "embedding start: random, or word2vec vectors trained on "
                             "the training (and unlabeled) text", options=EMBEDDING_INITS),
    "embedding_dropout": HPRule(float, 0.0, "spatial dropout on the embeddings (whole channels)",
                                low=0, high=1, high_open=True),
    "clipnorm": HPRule(float, 0.0, "gradient norm clipping; 0 turns it off", low=0),
    "pooling": HPRule(str, "last", "last layer's final state, or masked max/mean (or both) over its outputs",
                      options=POOLINGS),
}


# --- Sections -----------------------------------------------------------------------


@dataclass(frozen=True)
class DataConfig:
    """Where the text comes from and how it is cut and batched."""

    source: str = "tfds:imdb_reviews"
    validation_split: float = 0.2
    max_length: int = 256
    batch_size: int = 64
    limit_train: int | None = None
    limit_eval: int | None = None
    text_column: str | list[str] | None = None
    label_column: str | None = None
    test_source: str | None = None
    test_split: float | None = None
    data_dir: str | None = None
    unlabeled_split: str | None = None  # tfds split of unlabeled text, for word2vec only

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

    @property
    def direction(self) -> str:
        return "max" if self.objective.endswith("accuracy") else "min"


@dataclass(frozen=True)
class SweepConfig:
    """A whole, resolved search space."""

    name: str
    hyperparameters: dict[str, HyperParameter]
    data: DataConfig = field(default_factory=DataConfig)
    tuner: TunerConfig = field(default_factory=TunerConfig)

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
        return {
            "name": self.name,
            "data": dataclasses.asdict(self.data),
            "tuner": dataclasses.asdict(self.tuner),
            "hyperparameters": hps,
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def varying(self) -> list[str]:
        """Names of the hyperparameters that take more than one value."""
        return [n for n, s in self.hyperparameters.items() if not isinstance(s, Fixed)]


# --- Loading ------------------------------------------------------------------------


def load(path: str | Path, **overrides: Any) -> SweepConfig:
    """Reads, validates and resolves a space file, then applies CLI overrides.

    Args:
        path: the YAML file.
        **overrides: dotted-free flag values; `None` means "not given". Known keys:
            name, source, algorithm, max_trials, epochs, seed, limit_train, limit_eval.

    Raises:
        ConfigError: on anything malformed, with the offending key named.
    """
    path = Path(path)
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
            f"{path}: expected a mapping with keys {_known(_TOP)}, got {_kind(raw)}"
        )
    if "name" not in raw:
        if not _valid_name(path.stem):
            raise ConfigError(
                f"name: not given, and the file name {path.stem!r} is not a folder name "
                "(letters, digits, '.', '_', '-'); add a name: line"
            )
        raw["name"] = path.stem
    return apply_overrides(from_dict(raw), **overrides)


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


_TOP = ("name", "data", "tuner", "hyperparameters")


def from_dict(raw: dict) -> SweepConfig:
    """Validates a parsed space (the YAML's top-level mapping)."""
    _check_keys(raw, _TOP, "")
    if "hyperparameters" not in raw:
        raise ConfigError(
            "hyperparameters: missing; name at least one of " + _known(HYPERPARAMETERS)
        )
    name = raw.get("name")
    if not isinstance(name, str) or not _valid_name(name):
        raise ConfigError(
            f"name: expected a folder name (letters, digits, '.', '_', '-'), got {name!r}"
        )
    data = _section(DataConfig, raw.get("data"), "data")
    tuner = _section(TunerConfig, raw.get("tuner"), "tuner")
    hps = _hyperparameters(raw["hyperparameters"])
    cfg = SweepConfig(name=name, hyperparameters=hps, data=data, tuner=tuner)
    _validate(cfg)
    return cfg


def apply_overrides(cfg: SweepConfig, **flags: Any) -> SweepConfig:
    """Returns `cfg` with the given (non-None) CLI flags applied and re-validated."""
    data_keys = {"source": "source", "limit_train": "limit_train", "limit_eval": "limit_eval"}
    tuner_keys = {"algorithm": "algorithm", "max_trials": "max_trials", "epochs": "epochs",
                  "seed": "seed"}
    unknown = set(flags) - set(data_keys) - set(tuner_keys) - {"name"}
    if unknown:
        raise TypeError(f"unknown overrides: {sorted(unknown)}")
    data = {data_keys[k]: v for k, v in flags.items() if k in data_keys and v is not None}
    tuner = {tuner_keys[k]: v for k, v in flags.items() if k in tuner_keys and v is not None}
    changes: dict[str, Any] = {}
    if data:
        changes["data"] = dataclasses.replace(cfg.data, **data)
    if tuner:
        changes["tuner"] = dataclasses.replace(cfg.tuner, **tuner)
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
        if "source" in data and str(e).startswith("data.source:"):
            raise ConfigError("--data:" + str(e).removeprefix("data.source:")) from None
        raise
    return cfg


# --- Validation helpers -------------------------------------------------------------


def _section(cls: type, raw: Any, where: str):
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        hint = f" (write it as `{where}:` then `  source: {raw}` below)" if (
            where == "data" and isinstance(raw, str) and ":" in raw) else ""
        raise ConfigError(f"{where}: expected a mapping of keys, got {_kind(raw)}{hint}")
    names = [f.name for f in dataclasses.fields(cls)]
    _check_keys(raw, names, where)
    return cls(**raw)


def _hyperparameters(raw: Any) -> dict[str, HyperParameter]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            "hyperparameters: expected a non-empty mapping of "
            f"{_known(HYPERPARAMETERS)}, got {_kind(raw)}"
        )
    _check_keys(raw, HYPERPARAMETERS, "hyperparameters")
    specs: dict[str, HyperParameter] = {}
    for name, rule in HYPERPARAMETERS.items():
        key = f"hyperparameters.{name}"
        value = raw.get(name, rule.default)
        if isinstance(value, list):
            if not value:
                raise ConfigError(f"{key}: an empty list; give at least one value")
            values = tuple(_scalar(v, rule, f"{key}[{i}]") for i, v in enumerate(value))
            if len(set(values)) != len(values):
                raise ConfigError(f"{key}: repeated values in {value}")
            specs[name] = Choice(values) if len(values) > 1 else Fixed(values[0])
        elif isinstance(value, dict):
            specs[name] = _range(value, rule, key)
        else:
            specs[name] = Fixed(_scalar(value, rule, key))
    return specs


def _scalar(value: Any, rule: HPRule, key: str) -> Any:
    expected = _expected(rule)
    if rule.kind is bool:
        ok = isinstance(value, bool)
    elif rule.kind is int:
        ok = _is_int(value)
    elif rule.kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ConfigError(f"{key}: expected {expected}, got {value!r}")
    if rule.options and value not in rule.options:
        hint = _did_you_mean(value, rule.options)
        raise ConfigError(f"{key}: unknown value {value!r}{hint}; expected {expected}")
    if rule.kind in (int, float) and not _in_bounds(value, rule):
        raise ConfigError(f"{key}: expected {expected}, got {value!r}")
    return value


def _range(raw: dict, rule: HPRule, key: str) -> Range:
    if rule.kind not in (int, float):
        raise ConfigError(
            f"{key}: a {{min, max}} range needs a numeric hyperparameter; "
            f"give a list of {_expected(rule)} instead"
        )
    _check_keys(raw, ("min", "max", "step", "sampling"), key)
    for bound in ("min", "max"):
        if bound not in raw:
            raise ConfigError(f"{key}: a range needs both min and max (missing {bound})")
    lo, hi, step = raw["min"], raw["max"], raw.get("step")
    sampling = raw.get("sampling", "linear")
    for name, v in (("min", lo), ("max", hi), ("step", step)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise ConfigError(f"{key}.{name}: expected a number, got {v!r}")
    for name, v in (("min", lo), ("max", hi)):
        _scalar(v, rule, f"{key}.{name}")
    if lo > hi:
        raise ConfigError(f"{key}: min ({lo}) is greater than max ({hi})")
    if step is not None and step <= 0:
        raise ConfigError(f"{key}.step: expected a positive number, got {step!r}")
    if sampling not in SAMPLINGS:
        raise ConfigError(
            f"{key}.sampling: unknown value {sampling!r}{_did_you_mean(sampling, SAMPLINGS)}; "
            f"expected one of {_known(SAMPLINGS)}"
        )
    if sampling != "linear" and lo <= 0:
        raise ConfigError(f"{key}: {sampling} sampling needs min > 0, got {lo}")
    spec = Range(lo, hi, step, sampling)
    if rule.kind is int and not spec.is_int:
        raise ConfigError(f"{key}: expected integer min, max and step, got {raw}")
    if rule.kind is float and spec.is_int:
        # `learning_rate: {min: 1, max: 2}` means floats; KerasTuner would make ints.
        spec = Range(float(lo), float(hi), None if step is None else float(step), sampling)
    return spec


def _validate(cfg: SweepConfig) -> None:
    """Checks values once sections are typed (also after CLI overrides)."""
    d, t = cfg.data, cfg.tuner
    _check_type(d.source, str, "data.source", "a string such as 'tfds:imdb_reviews'")
    scheme, sep, location = d.source.partition(":")
    if not sep or not location or scheme not in SOURCE_SCHEMES:
        hint = _did_you_mean(scheme, SOURCE_SCHEMES) if sep else ""
        raise ConfigError(
            f"data.source: expected SCHEME:LOCATION with SCHEME one of "
            f"{_known(SOURCE_SCHEMES)} (e.g. tfds:imdb_reviews, csv:reviews.csv, dir:aclImdb), "
            f"got {d.source!r}{hint}"
        )
    _check_fraction(d.validation_split, "data.validation_split")
    if d.test_split is not None:
        _check_fraction(d.test_split, "data.test_split")
    for key in ("max_length", "batch_size"):
        _check_positive_int(getattr(d, key), f"data.{key}")
    for key in ("limit_train", "limit_eval"):
        if getattr(d, key) is not None:
            _check_positive_int(getattr(d, key), f"data.{key}")
    for key in ("label_column", "test_source", "data_dir", "unlabeled_split"):
        if getattr(d, key) is not None:
            _check_type(getattr(d, key), str, f"data.{key}", "a string")
    tc = d.text_column
    if tc is not None and not (
        isinstance(tc, str) or (isinstance(tc, list) and tc and all(isinstance(c, str) for c in tc))
    ):
        raise ConfigError(f"data.text_column: expected a column name or a list of names, got {tc!r}")
    if d.test_source is not None and d.test_split is not None:
        raise ConfigError("data: give test_source or test_split, not both")
    if d.unlabeled_split is not None and scheme != "tfds":
        raise ConfigError(f"data.unlabeled_split: only for tfds: sources, got source {d.source!r}")

    if t.algorithm not in ALGORITHMS:
        raise ConfigError(
            f"tuner.algorithm: unknown value {t.algorithm!r}"
            f"{_did_you_mean(str(t.algorithm), ALGORITHMS)}; expected one of {_known(ALGORITHMS)}"
        )
    if t.objective not in OBJECTIVES:
        raise ConfigError(
            f"tuner.objective: unknown value {t.objective!r}"
            f"{_did_you_mean(str(t.objective), OBJECTIVES)}; expected one of {_known(OBJECTIVES)}"
        )
    for key in ("max_trials", "epochs", "early_stopping_patience", "max_consecutive_failed_trials"):
        _check_positive_int(getattr(t, key), f"tuner.{key}")
    if not _is_int(t.seed) or t.seed < 0:
        raise ConfigError(f"tuner.seed: expected a non-negative integer, got {t.seed!r}")
    if not _is_int(t.hyperband_factor) or t.hyperband_factor < 2:
        raise ConfigError(f"tuner.hyperband_factor: expected an integer >= 2, got {t.hyperband_factor!r}")
    if t.algorithm == "grid":
        for name, spec in cfg.hyperparameters.items():
            if isinstance(spec, Range) and (spec.step is None or spec.sampling != "linear"):
                raise ConfigError(
                    f"hyperparameters.{name}: grid search needs a finite grid; give a list "
                    "of values or a linear range with a step"
                )


# --- Small predicates and message helpers -------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _valid_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and all(c.isalnum() or c in "._-" for c in name)


def _in_bounds(v: float, rule: HPRule) -> bool:
    if isinstance(v, float) and not math.isfinite(v):
        return False
    if rule.low is not None and (v <= rule.low if rule.low_open else v < rule.low):
        return False
    if rule.high is not None and (v >= rule.high if rule.high_open else v > rule.high):
        return False
    return True


def _expected(rule: HPRule) -> str:
    if rule.options:
        return "one of " + _known(rule.options)
    words = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    text = words[rule.kind]
    if rule.low is not None:
        text += f" {'>' if rule.low_open else '>='} {rule.low:g}"
    if rule.high is not None:
        text += f" and {'<' if rule.high_open else '<='} {rule.high:g}"
    return text


def _check_keys(raw: dict, known, where: str) -> None:
    for key in raw:
        if key not in known:
            place = f"{where}.{key}" if where else str(key)
            raise ConfigError(
                f"{place}: unknown key{_did_you_mean(str(key), known)}; "
                f"expected one of {_known(known)}"
            )


def _check_type(value: Any, kind: type, key: str, expected: str) -> None:
    if not isinstance(value, kind):
        raise ConfigError(f"{key}: expected {expected}, got {value!r}")


def _check_positive_int(value: Any, key: str) -> None:
    if not _is_int(value) or value <= 0:
        raise ConfigError(f"{key}: expected a positive integer, got {value!r}")


def _check_fraction(value: Any, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(f"{key}: expected a fraction strictly between 0 and 1, got {value!r}")


def _did_you_mean(word: str, options) -> str:
    # Case and '-' vs '_' don't count: 'LSTM' -> 'lstm', 'SimpleRNN' -> 'simple_rnn'.
    def norm(text) -> str:
        return str(text).lower().replace("-", "_")

    by_norm = {norm(o): str(o) for o in options}
    close = difflib.get_close_matches(norm(word), list(by_norm), n=1, cutoff=0.6)
    # ... and so do extra letters: 'logarithmic' -> 'log'.
    close = close or sorted((o for o in by_norm if o and norm(word).startswith(o)), key=len)[-1:]
    return f" (did you mean {by_norm[close[0]]!r}?)" if close else ""


def _known(options) -> str:
    return ", ".join(str(o) for o in options)


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:80]
