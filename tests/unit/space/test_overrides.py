"""The one table of flags that override space keys: argparse and `apply_overrides` read the same rows."""

from __future__ import annotations

import dataclasses

import pytest

from sweep.cli import run as run_command
from sweep.cli.common import Parser
from sweep.errors import ConfigError
from sweep.space import config
from sweep.space.overrides import BY_NAME, FLAGS

SPACE = {"name": "s", "hyperparameters": {"cell": ["lstm", "gru"]}}
# A value of each kind that the space accepts, different from its default.
VALUES = {"text": "csv:other.csv", "positive_int": 7, "seed": 9, "duration": "2h",
          "algorithm": "random"}


def _run_parser():
    sub = Parser(prog="sweep").add_subparsers(dest="command")
    return run_command.add_parser(sub)


def test_every_row_is_a_flag_of_sweep_run_with_the_tables_dest():
    actions = {a.option_strings[0]: a for a in _run_parser()._actions if a.option_strings}
    for f in FLAGS:
        assert f.flag in actions, f"{f.flag} is in the table but not a flag of `sweep run`"
        assert actions[f.flag].dest == f.name


def test_every_row_sets_its_space_key():
    cfg = config.from_dict(SPACE)
    for f in FLAGS:
        value = "renamed" if f.key == "name" else VALUES[f.kind]
        changed = config.apply_overrides(cfg, **{f.name: value})
        expected = dataclasses.asdict(cfg)
        (expected if f.section is None else expected[f.section])[f.name] = value
        assert dataclasses.asdict(changed) == expected, f.key  # that key and nothing else


def test_the_parsed_flags_reach_the_space_by_their_table_names(tmp_path):
    args = _run_parser().parse_args(["space.yaml", "--data", "csv:x.csv", "--tuner", "grid",
                                     "--max-trials", "3", "--max-time", "90m", "--epochs", "2",
                                     "--seed", "5", "--name", "n", "--limit-train", "10",
                                     "--limit-eval", "20"])
    cfg = config.apply_overrides(config.from_dict(SPACE), **{f.name: getattr(args, f.name) for f in FLAGS})
    d = cfg.data
    assert (cfg.name, d.source, d.limit_train, d.limit_eval) == ("n", "csv:x.csv", 10, 20)
    t = cfg.tuner
    assert (t.algorithm, t.max_trials, t.max_time, t.epochs, t.seed) == ("grid", 3, "90m", 2, 5)


def test_errors_name_the_flag_for_values_taken_as_typed_and_the_key_for_others():
    cfg = config.from_dict(SPACE)
    with pytest.raises(ConfigError, match=r"^--data: expected SCHEME:LOCATION"):
        config.apply_overrides(cfg, source="reviews.csv")
    with pytest.raises(ConfigError, match=r"^--name: expected a folder name"):
        config.apply_overrides(cfg, name="a/b")
    with pytest.raises(ConfigError, match=r"^tuner.max_time:"):
        config.apply_overrides(cfg, max_time="soon")
    with pytest.raises(TypeError, match="unknown overrides"):
        config.apply_overrides(cfg, batch_size=3)
    assert BY_NAME["source"].flag == "--data"
