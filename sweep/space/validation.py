"""The checks a space passes once its sections are typed (also after command-line overrides).

Each raises `ConfigError` with one line that names the key and what was expected.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sweep.errors import ConfigError
from sweep.metrics import OBJECTIVES
from sweep.space import hyperparameters
from sweep.space.allowed import (
    EVALUATED_SPLITS,
    MAX_SEED,
    STANDARDIZATIONS,
    parse_duration,
)
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
from sweep.space.hyperparameters import Choice, Fixed, HyperParameter, Range
from sweep.space.registry import SOURCES, TUNERS

if TYPE_CHECKING:
    from sweep.space.config import SweepConfig, TrackingConfig


def section(cls: type, raw: Any, where: str):
    """A section (`data:`, `tuner:`) as its dataclass; unknown keys are refused, by name."""
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        hint = f" (write it as `{where}:` then `  source: {raw}` below)" if (
            where == "data" and isinstance(raw, str) and ":" in raw) else ""
        raise ConfigError(f"{where}: expected a mapping of keys, got {describe_value(raw)}{hint}")
    names = [f.name for f in dataclasses.fields(cls)]
    check_keys(raw, names, where)
    return cls(**raw)

def validate(cfg: SweepConfig) -> None:
    """Checks values once sections are typed (also after CLI overrides)."""
    d, t = cfg.data, cfg.tuner
    check_type(d.source, str, "data.source", "a string such as 'tfds:imdb_reviews'")
    scheme, sep, location = d.source.partition(":")
    if not sep or not location or scheme not in SOURCES:
        hint = did_you_mean(scheme, SOURCES.names()) if sep else ""
        raise ConfigError(
            f"data.source: expected SCHEME:LOCATION with SCHEME one of "
            f"{one_of(SOURCES.names())} (e.g. tfds:imdb_reviews, csv:reviews.csv, dir:aclImdb), "
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
    for key in ("label_column", "test_source", "data_dir", "unlabeled_split", "unlabeled_source"):
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

    if d.unlabeled_source is not None and (scheme == "tfds"
                                           or d.unlabeled_source.partition(":")[0] not in ("csv", "dir")):
        raise ConfigError(f"data.unlabeled_source: expected csv:PATH or dir:PATH beside a csv, dir or "
                          f"registered source (tfds sources name unlabeled_split), got "
                          f"{d.unlabeled_source!r} with source {d.source!r}")
    _validate_pretrain(cfg)

    if t.algorithm not in TUNERS:
        raise ConfigError(
            f"tuner.algorithm: unknown value {t.algorithm!r}"
            f"{did_you_mean(str(t.algorithm), TUNERS.names())}; expected one of {one_of(TUNERS.names())}"
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
    if t.pruning not in PRUNERS:
        raise ConfigError(f"tuner.pruning: unknown value {t.pruning!r}"
                          f"{did_you_mean(str(t.pruning), PRUNERS)}; expected one of {one_of(PRUNERS)}")
    if t.algorithm == "grid":
        for name, spec in cfg.hyperparameters.items():
            if isinstance(spec, Range) and (spec.step is None or spec.sampling != "linear"):
                raise ConfigError(
                    f"hyperparameters.{name}: grid search needs a finite grid; give a list "
                    "of values or a linear range with a step"
                )
    _validate_budget(cfg)
    _validate_tracking(cfg.tracking)


PRUNERS = ("none", "median")
UNFREEZE = ("together", "layerwise")


def _validate_pretrain(cfg: SweepConfig) -> None:
    p = cfg.pretrain
    for key in ("epochs", "sequence_length", "batch_size"):
        check_positive_int(getattr(p, key), f"pretrain.{key}")
    if not is_int(p.sampled) or p.sampled < 0:
        raise ConfigError(f"pretrain.sampled: expected an integer >= 0 (0: full softmax), got {p.sampled!r}")
    if not is_int(p.freeze_epochs) or p.freeze_epochs < 0:
        raise ConfigError(f"pretrain.freeze_epochs: expected an integer >= 0, got {p.freeze_epochs!r}")
    if p.unfreeze not in UNFREEZE:
        raise ConfigError(f"pretrain.unfreeze: unknown value {p.unfreeze!r}"
                          f"{did_you_mean(str(p.unfreeze), UNFREEZE)}; expected one of {one_of(UNFREEZE)}")
    if isinstance(p.learning_rate, bool) or not isinstance(p.learning_rate, (int, float)) \
            or not 0 < p.learning_rate < float("inf"):
        raise ConfigError(f"pretrain.learning_rate: expected a number > 0, got {p.learning_rate!r}")
    if isinstance(p.lr_decay, bool) or not isinstance(p.lr_decay, (int, float)) or not 0 < p.lr_decay <= 1:
        raise ConfigError(f"pretrain.lr_decay: expected a number > 0 and <= 1 (1: a constant rate), "
                          f"got {p.lr_decay!r}")


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


def _split_name(split: str) -> str:
    """A tfds split spec's name: 'train[:50%]' -> 'train', 'train+test' -> both count."""
    names = [part.split("[", 1)[0].strip() for part in split.split("+")]
    return next((n for n in names if n in EVALUATED_SPLITS), names[0])
