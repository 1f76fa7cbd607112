"""sweep.rundir.atomic's one CSV reader: missing reads as None, damaged as None or one error."""

from __future__ import annotations

import pytest

from sweep.errors import DamagedRun
from sweep.rundir import read_csv


def test_a_table_reads_with_pandas_options(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("trial_id,x\n007,1.5\n")
    frame = read_csv(path, dtype={"trial_id": str})
    assert frame.trial_id.tolist() == ["007"] and frame.x.tolist() == [1.5]


def test_a_missing_table_is_none_even_when_damage_would_raise(tmp_path):
    assert read_csv(tmp_path / "nope.csv") is None
    assert read_csv(tmp_path / "nope.csv", damaged="delete it") is None


@pytest.mark.parametrize("content", [b"", b"a,b\n\xff\xfe,1\n", b'a,b\n"1,2\n'])
def test_a_damaged_table_is_none_or_says_what_to_do(tmp_path, content):
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    assert read_csv(path) is None
    with pytest.raises(DamagedRun) as e:
        read_csv(path, damaged="delete it to confirm afresh")
    message = str(e.value)
    assert message.startswith(f"{path}: damaged (") and message.endswith("; delete it to confirm afresh")
    assert "\n" not in message
