"""A data source registered by the user (`sweep.register_source`): its texts and labels become
the splits as a CSV's do; what it gets wrong is one DataError line naming its function."""

from __future__ import annotations

import pytest
from helpers import make_examples

from sweep.data import sources
from sweep.errors import DataError
from sweep.space.config import DataConfig
from sweep.space.registry import SOURCES, register_source

ROWS = make_examples(100, seed=2)
TEST = make_examples(30, seed=4)


def _pairs(rows):
    return [t for t, _ in rows], [["neg", "pos"][label] for _, label in rows]


def _loader(location: str):
    if location == "split":
        return {"train": _pairs(ROWS), "test": _pairs(TEST)}
    if location == "broken":
        raise KeyError("no table named broken")
    if location == "uneven":
        return ["a", "b"], ["pos"]
    return _pairs(ROWS if location == "all" else TEST)


@pytest.fixture(autouse=True)
def mem():
    register_source("mem", _loader)
    yield
    SOURCES.remove("mem")


def _load(location: str, **kw):
    return sources.load_texts(DataConfig(source=f"mem:{location}", **kw), seed=1)


def test_its_texts_are_split_as_a_csv_is():
    s = _load("all", test_split=0.2)
    assert s.class_names == ["neg", "pos"]
    assert len(s.train) + len(s.val) + len(s.test) == len(ROWS)
    assert _load("all", test_split=0.2).fingerprint == s.fingerprint != _load("all").fingerprint


def test_its_own_test_split_or_a_test_source_of_the_same_scheme_is_the_test_set():
    assert len(_load("split").test) == len(TEST)
    assert len(_load("all", test_source="mem:test").test) == len(TEST)
    with pytest.raises(DataError, match="data.test_source: expected mem:LOCATION alongside"):
        _load("all", test_source="csv:t.csv")


@pytest.mark.parametrize(("location", "message"), [
    ("broken", r"data\.source: .*_loader could not load 'broken' \(KeyError: 'no table named broken'\)"),
    ("uneven", r"data\.source: .*_loader returned 2 texts and 1 labels; expected as many"),
])
def test_what_it_gets_wrong_is_one_line(location, message):
    with pytest.raises(DataError, match=message) as e:
        _load(location)
    assert "\n" not in str(e.value)
