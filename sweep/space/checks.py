"""Small checks and message helpers shared by the space's validators.

Each check raises `ConfigError` with one line that names the key and what was expected.
"""

from __future__ import annotations

import difflib
from typing import Any

from sweep.errors import ConfigError


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_keys(raw: dict, known, where: str) -> None:
    for key in raw:
        if key not in known:
            place = f"{where}.{key}" if where else str(key)
            raise ConfigError(
                f"{place}: unknown key{did_you_mean(str(key), known)}; "
                f"expected one of {one_of(known)}"
            )


def check_type(value: Any, kind: type, key: str, expected: str) -> None:
    if not isinstance(value, kind):
        raise ConfigError(f"{key}: expected {expected}, got {value!r}")


def check_positive_int(value: Any, key: str) -> None:
    if not is_int(value) or value <= 0:
        raise ConfigError(f"{key}: expected a positive integer, got {value!r}")


def check_fraction(value: Any, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(f"{key}: expected a fraction strictly between 0 and 1, got {value!r}")


def did_you_mean(word: str, options) -> str:
    # Case and '-' vs '_' don't count: 'LSTM' -> 'lstm', 'SimpleRNN' -> 'simple_rnn'.
    def norm(text) -> str:
        return str(text).lower().replace("-", "_")

    by_norm = {norm(o): str(o) for o in options}
    close = difflib.get_close_matches(norm(word), list(by_norm), n=1, cutoff=0.6)
    # ... and so do extra letters: 'logarithmic' -> 'log'.
    close = close or sorted((o for o in by_norm if o and norm(word).startswith(o)), key=len)[-1:]
    return f" (did you mean {by_norm[close[0]]!r}?)" if close else ""


def one_of(options) -> str:
    return ", ".join(str(o) for o in options)


def describe_value(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:80]
