"""Hyperparameters: the table of the known ones, and their three YAML forms.

    cell: lstm                                   a scalar is fixed       -> Fixed
    cell: [lstm, gru]                            a list is a choice      -> Choice
    learning_rate: {min: 1e-4, max: 1e-2, sampling: log}   a range       -> Range

`HYPERPARAMETERS` is the one table of what each accepts, its default and what it means;
docs/search-space.md is checked against it. No TensorFlow, no KerasTuner.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sweep.errors import ConfigError
from sweep.space.checks import check_keys, describe_value, did_you_mean, is_int, one_of
from sweep.space.registry import CELLS

POOLINGS = ("last", "max", "mean", "max_mean")
EMBEDDING_INITS = ("random", "word2vec", "lm")
SAMPLINGS = ("linear", "log", "reverse_log")


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
        return all(is_int(v) for v in (self.min, self.max)) and (
            self.step is None or is_int(self.step)
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
    options: tuple | Callable[[], tuple] = ()  # a callable: read when a value is checked

    def allowed(self) -> tuple:
        """The values a choice of this hyperparameter may take (empty: any of its kind)."""
        return self.options() if callable(self.options) else self.options


HYPERPARAMETERS: dict[str, HPRule] = {
    "cell": HPRule(str, "lstm", "recurrent cell: simple_rnn, lstm or gru, or a registered one",
                   options=CELLS.names),
    "bidirectional": HPRule(bool, False, "wrap each recurrent layer in Bidirectional"),
    "vocab_size": HPRule(int, 10000, "vocabulary size: TextVectorization's max_tokens, counting the "
                         "padding and out-of-vocabulary ids", low=3),
    "embedding_dim": HPRule(int, 64, "embedding width", low=1),
    "hidden_units": HPRule(int, 64, "units per recurrent layer (per direction)", low=1),
    "learning_rate": HPRule(float, 1e-3, "Adam learning rate", low=0, low_open=True),
    "lr_decay": HPRule(float, 1.0, "the learning rate is multiplied by this after each epoch (1: constant)",
                       low=0, low_open=True, high=1),
    "num_layers": HPRule(int, 1, "stacked recurrent layers", low=1),
    "dropout": HPRule(float, 0.0, "dropout before the output layer", low=0, high=1, high_open=True),
    "embedding_init": HPRule(str, "random", "embedding start: random, or word2vec vectors trained on "
                             "the training (and unlabeled) text, or a recurrent language model's "
                             "embedding and recurrent weights (lm)", options=EMBEDDING_INITS),
    "embedding_dropout": HPRule(float, 0.0, "spatial dropout on the embeddings (whole channels)",
                                low=0, high=1, high_open=True),
    "clipnorm": HPRule(float, 0.0, "Adam's gradient-norm clipping (clipnorm); 0 turns it off", low=0),
    "pooling": HPRule(str, "last", "what reaches the head: the last recurrent layer's final state, or "
                      "masked max/mean (or both) over its outputs", options=POOLINGS),
    "encoder_lr_scale": HPRule(float, 1.0, "the encoder's (embedding and recurrent layers') learning rate "
                               "as a fraction of the head's (ULMFiT's discriminative rates, for a "
                               "pretrained start; 1: one rate)", low=0, low_open=True, high=1),
}


# --- Parsing ------------------------------------------------------------------------


def parse(raw: Any) -> dict[str, HyperParameter]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            "hyperparameters: expected a non-empty mapping of "
            f"{one_of(HYPERPARAMETERS)}, got {describe_value(raw)}"
        )
    check_keys(raw, HYPERPARAMETERS, "hyperparameters")
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


def check_value(name: str, value: Any, key: str) -> Any:
    """One value of the known hyperparameter `name`, checked as a scalar in a space file
    (ints as floats where the hyperparameter is a float); raises ConfigError naming `key`."""
    return _scalar(value, HYPERPARAMETERS[name], key)


def _scalar(value: Any, rule: HPRule, key: str) -> Any:
    expected = _expected(rule)
    if rule.kind is bool:
        ok = isinstance(value, bool)
    elif rule.kind is int:
        ok = is_int(value)
    elif rule.kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ConfigError(f"{key}: expected {expected}, got {value!r}")
    if rule.allowed() and value not in rule.allowed():
        hint = did_you_mean(value, rule.allowed())
        tail = " (or one registered by a module under `plugins:`)" if callable(rule.options) else ""
        raise ConfigError(f"{key}: unknown value {value!r}{hint}; expected {expected}{tail}")
    if rule.kind in (int, float) and not _in_bounds(value, rule):
        raise ConfigError(f"{key}: expected {expected}, got {value!r}")
    return value


def _range(raw: dict, rule: HPRule, key: str) -> Range:
    if rule.kind not in (int, float):
        raise ConfigError(
            f"{key}: a {{min, max}} range needs a numeric hyperparameter; "
            f"give a list of {_expected(rule)} instead"
        )
    check_keys(raw, ("min", "max", "step", "sampling"), key)
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
            f"{key}.sampling: unknown value {sampling!r}{did_you_mean(sampling, SAMPLINGS)}; "
            f"expected one of {one_of(SAMPLINGS)}"
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


def _in_bounds(v: float, rule: HPRule) -> bool:
    if isinstance(v, float) and not math.isfinite(v):
        return False
    if rule.low is not None and (v <= rule.low if rule.low_open else v < rule.low):
        return False
    if rule.high is not None and (v >= rule.high if rule.high_open else v > rule.high):
        return False
    return True


def _expected(rule: HPRule) -> str:
    if rule.allowed():
        return "one of " + one_of(rule.allowed())
    words = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    text = words[rule.kind]
    if rule.low is not None:
        text += f" {'>' if rule.low_open else '>='} {rule.low:g}"
    if rule.high is not None:
        text += f" and {'<' if rule.high_open else '<='} {rule.high:g}"
    return text
