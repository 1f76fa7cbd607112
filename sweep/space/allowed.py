"""The values a space may name: algorithms, data sources, standardizations, the seed range,
and how a duration is written. Read by the sections (`config`) and their checks (`validation`).
Algorithms and sources are the registries' (`sweep.space.registry`)."""

from __future__ import annotations

import re

from sweep.space.registry import SOURCES, TUNERS

ALGORITHMS = TUNERS.names()  # tuners are not extended by users, so a constant
MAX_SEED = 2**32 - 1  # NumPy's legacy seeding, which Keras uses, takes no more
EVALUATED_SPLITS = ("train", "test", "validation")  # tfds splits a sweep trains or evaluates on
SOURCE_SCHEMES = SOURCES.names()  # the built-in ones; users may register more (validation reads SOURCES)
# Keras TextVectorization's own standardizations, so an exported model.keras loads without
# this project; "sweep_0.1" is rnn-sweep 0.1's (lowercase, `<br />` tags and punctuation to
# spaces), kept so that the runs it made resume with the same tokens.
STANDARDIZATIONS = ("lower_and_strip_punctuation", "lower", "strip_punctuation", "sweep_0.1")
LEGACY_STANDARDIZATION = "sweep_0.1"

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smh])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(value: str | int | float) -> float:
    """'45s', '90m', '2h', '1h30m' or a number of seconds -> seconds (> 0).

    Raises:
        ValueError: anything else, with what was expected.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", value):
        seconds = float(value)  # a bare number is seconds, as in the space file
    elif isinstance(value, str) and re.fullmatch(r"(?:\s*\d+(?:\.\d+)?\s*[smh])+\s*", value):
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(value))
    else:
        raise ValueError(f"expected a duration such as 45s, 90m or 2h, got {value!r}")
    if not 0 < seconds < float("inf"):
        raise ValueError(f"expected a duration above zero, got {value!r}")
    return seconds
