"""Every bad space or flag is refused before anything trains: exit 2, a short message, no folder.

Each case writes a malformed space (or passes a bad flag) and runs `sweep run` in-process,
so the whole table costs about one TensorFlow import. The expectations are the words a
user needs to fix the mistake: the offending key or value, and what was expected.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import fake_run_folder, make_examples, run_main, write_csv, write_space

from sweep.space import config

MAX_STDERR_LINES = 3


def assert_refused(code: int, out: str, err: str, results: Path, *needles: str) -> None:
    assert code == 2, f"exit {code}, stderr: {err}"
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= MAX_STDERR_LINES, err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"
    assert not results.exists(), "a run folder was created for a refused space"
    assert "Starting sweep" not in out


# --- Space files that are not YAML mappings ------------------------------------------

TEXT_CASES = {
    "yaml_syntax": ("name: x\nhyperparameters: {cell: [lstm, gru}\n", ["YAML syntax error", "line 2"]),
    "yaml_tabs": ("name: x\nhyperparameters:\n\tcell: lstm\n", ["line 3", "tabs"]),
    "yaml_unclosed_quote": ("name: 'x\nhyperparameters: {cell: lstm}\n", ["YAML syntax error"]),
    "duplicate_key": (
        "name: x\nhyperparameters:\n  hidden_units: 8\n  hidden_units: 16\n",
        ["'hidden_units' is given twice", "line 4"],
    ),
    "not_a_mapping": ("- cell\n- lstm\n", ["expected a mapping", "got list"]),
    "scalar_document": ("text,label\nfoo,1\n", ["expected a mapping", "got str"]),
    "empty_document": ("", ["expected a mapping", "got nothing"]),
    "comments_only": ("# my sweep\n", ["expected a mapping", "got nothing"]),
    "no_hyperparameters": ("name: x\n", ["hyperparameters: missing"]),
    "hyperparameters_empty_mapping": ("name: x\nhyperparameters: {}\n", ["hyperparameters", "non-empty"]),
    "hyperparameters_null": ("name: x\nhyperparameters:\n", ["hyperparameters", "got nothing"]),
    "hyperparameters_a_list": ("name: x\nhyperparameters: [cell, lstm]\n", ["hyperparameters", "got list"]),
    "quoted_exponent": ("name: x\nhyperparameters: {learning_rate: '1e-3'}\n",
                        ["hyperparameters.learning_rate", "a number", "'1e-3'"]),
    "exponent_for_an_integer": ("name: x\nhyperparameters: {vocab_size: 1e4}\n",
                                ["hyperparameters.vocab_size", "an integer", "10000.0"]),
}


@pytest.mark.parametrize("case", TEXT_CASES, ids=list(TEXT_CASES))
def test_bad_space_text(case, tmp_path, capsys):
    text, needles = TEXT_CASES[case]
    space = tmp_path / "space.yaml"
    space.write_text(text)
    res = tmp_path / "res"
    code, out, err = run_main(["run", str(space), "--results-dir", str(res)], capsys)
    assert_refused(code, out, err, res, *needles)


def test_missing_space_file(tmp_path, capsys):
    res = tmp_path / "res"
    code, out, err = run_main(["run", str(tmp_path / "nope.yaml"), "--results-dir", str(res)], capsys)
    assert_refused(code, out, err, res, "nope.yaml", "no such space file")


def test_unreadable_space_file(tmp_path, capsys):
    # A folder, and bytes that are not UTF-8: unreadable even as root (chmod 000 is not).
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00name: x\n")
    res = tmp_path / "res"
    for path in (tmp_path, binary):
        code, out, err = run_main(["run", str(path), "--results-dir", str(res)], capsys)
        assert_refused(code, out, err, res, str(path), "cannot read the space file")


def test_name_from_a_bad_file_name(tmp_path, csv_path, capsys):
    space = write_space(tmp_path / "my space.yaml", f"csv:{csv_path}")
    raw = yaml.safe_load(space.read_text())
    del raw["name"]
    space.write_text(yaml.safe_dump(raw))
    res = tmp_path / "res"
    code, out, err = run_main(["run", str(space), "--results-dir", str(res)], capsys)
    assert_refused(code, out, err, res, "name:", "'my space'")


# --- Well-formed YAML, wrong content --------------------------------------------------

# id -> (sections for write_space, words the message must hold)
SPACE_CASES = {
    # unknown keys at every level, with "did you mean" for near misses
    "unknown_top_key": ({"hyperparameter": {"cell": "lstm"}},
                        ["hyperparameter:", "did you mean 'hyperparameters'"]),
    "unknown_data_key": ({"data": {"max_lenght": 32}}, ["data.max_lenght", "did you mean 'max_length'"]),
    "unknown_tuner_key": ({"tuner": {"epoch": 3}}, ["tuner.epoch", "did you mean 'epochs'"]),
    "unknown_hp": ({"hyperparameters": {"hiden_units": 32}},
                   ["hyperparameters.hiden_units", "did you mean 'hidden_units'"]),
    "unknown_hp_far": ({"hyperparameters": {"attention_heads": 4}},
                       ["hyperparameters.attention_heads", "unknown key", "hidden_units"]),
    "unknown_range_key": ({"hyperparameters": {"hidden_units": {"min": 8, "maxx": 16}}},
                          ["hyperparameters.hidden_units.maxx", "did you mean 'max'"]),
    # wrong types
    "hidden_units_string": ({"hyperparameters": {"hidden_units": "64"}},
                            ["hyperparameters.hidden_units", "an integer", "'64'"]),
    "hidden_units_float": ({"hyperparameters": {"hidden_units": 32.5}},
                           ["hyperparameters.hidden_units", "an integer", "32.5"]),
    "hidden_units_bool_in_list": ({"hyperparameters": {"hidden_units": [True, 8]}},
                                  ["hyperparameters.hidden_units[0]", "True"]),
    "bidirectional_string": ({"hyperparameters": {"bidirectional": "yes"}},
                             ["hyperparameters.bidirectional", "true or false", "'yes'"]),
    "learning_rate_word": ({"hyperparameters": {"learning_rate": "fast"}},
                           ["hyperparameters.learning_rate", "a number", "'fast'"]),
    "epochs_word": ({"tuner": {"epochs": "three"}}, ["tuner.epochs", "positive integer", "'three'"]),
    "max_trials_float": ({"tuner": {"max_trials": 2.5}}, ["tuner.max_trials", "2.5"]),
    "data_as_string": ({"data": "csv:reviews.csv"}, ["data:", "expected a mapping", "source:"]),
    "tuner_as_list": ({"tuner": ["random"]}, ["tuner:", "expected a mapping"]),
    "text_column_number": ({"data": {"text_column": 5}}, ["data.text_column", "5"]),
    "validation_split_string": ({"data": {"validation_split": "0.2"}},
                                ["data.validation_split", "'0.2'"]),
    # unknown names
    "cell_capitalised": ({"hyperparameters": {"cell": "LSTM"}},
                         ["hyperparameters.cell", "'LSTM'", "did you mean 'lstm'"]),
    "cell_keras_name": ({"hyperparameters": {"cell": ["SimpleRNN", "gru"]}},
                        ["hyperparameters.cell[0]", "did you mean 'simple_rnn'"]),
    "cell_unknown": ({"hyperparameters": {"cell": "transformer"}},
                     ["hyperparameters.cell", "'transformer'", "simple_rnn, lstm, gru"]),
    "cell_range": ({"hyperparameters": {"cell": {"min": 1, "max": 3}}},
                   ["hyperparameters.cell", "numeric", "list"]),
    "algorithm_typo": ({"tuner": {"algorithm": "randm"}}, ["tuner.algorithm", "did you mean 'random'"]),
    "algorithm_capitalised": ({"tuner": {"algorithm": "Bayesian"}},
                              ["tuner.algorithm", "did you mean 'bayesian'"]),
    "objective_typo": ({"tuner": {"objective": "val_acc"}},
                       ["tuner.objective", "did you mean 'val_accuracy'"]),
    "sampling_typo": ({"hyperparameters": {"learning_rate": {"min": 1e-4, "max": 1e-2,
                                                             "sampling": "logarithmic"}}},
                      ["learning_rate.sampling", "did you mean 'log'"]),
    "source_url": ({"data": {"source": "https://example.com/reviews.csv"}},
                   ["data.source", "SCHEME:LOCATION", "https"]),
    "source_no_scheme": ({"data": {"source": "reviews.csv"}}, ["data.source", "'reviews.csv'"]),
    "source_scheme_typo": ({"data": {"source": "cvs:reviews.csv"}},
                           ["data.source", "did you mean 'csv'"]),
    "source_no_location": ({"data": {"source": "csv:"}}, ["data.source", "'csv:'"]),
    "name_with_space": ({"name": "my sweep"}, ["name:", "'my sweep'"]),
    "name_dotdot": ({"name": ".."}, ["name:", "'..'"]),
    # ranges
    "range_min_gt_max": ({"hyperparameters": {"hidden_units": {"min": 64, "max": 8}}},
                         ["hyperparameters.hidden_units", "min (64) is greater than max (8)"]),
    "range_zero_min": ({"hyperparameters": {"hidden_units": {"min": 0, "max": 8}}},
                       ["hyperparameters.hidden_units.min", ">= 1", "got 0"]),
    "range_negative_lr": ({"hyperparameters": {"learning_rate": {"min": -0.1, "max": 0.1}}},
                          ["hyperparameters.learning_rate.min", "> 0"]),
    "range_log_from_zero": ({"hyperparameters": {"dropout": {"min": 0.0, "max": 0.5, "sampling": "log"}}},
                            ["hyperparameters.dropout", "log sampling needs min > 0"]),
    "range_zero_step": ({"hyperparameters": {"hidden_units": {"min": 8, "max": 32, "step": 0}}},
                        ["hyperparameters.hidden_units.step", "positive"]),
    "range_missing_max": ({"hyperparameters": {"hidden_units": {"min": 8}}},
                          ["hyperparameters.hidden_units", "missing max"]),
    "range_float_step_for_int": ({"hyperparameters": {"hidden_units": {"min": 8, "max": 32, "step": 2.5}}},
                                 ["hyperparameters.hidden_units", "integer"]),
    "range_string_bound": ({"hyperparameters": {"hidden_units": {"min": "8", "max": 32}}},
                           ["hyperparameters.hidden_units.min", "'8'"]),
    "grid_needs_steps": ({"tuner": {"algorithm": "grid"},
                          "hyperparameters": {"learning_rate": {"min": 1e-4, "max": 1e-2}}},
                         ["hyperparameters.learning_rate", "grid search"]),
    # lists
    "empty_list": ({"hyperparameters": {"hidden_units": []}}, ["hyperparameters.hidden_units", "empty list"]),
    "repeated_values": ({"hyperparameters": {"vocab_size": [100, 100]}},
                        ["hyperparameters.vocab_size", "repeated"]),
    # values out of bounds
    "learning_rate_zero": ({"hyperparameters": {"learning_rate": 0}},
                           ["hyperparameters.learning_rate", "> 0"]),
    "learning_rate_negative": ({"hyperparameters": {"learning_rate": [0.01, -0.001]}},
                               ["hyperparameters.learning_rate[1]", "> 0"]),
    "learning_rate_nan": ({"hyperparameters": {"learning_rate": float("nan")}},
                          ["hyperparameters.learning_rate", "nan"]),
    "learning_rate_inf": ({"hyperparameters": {"learning_rate": float("inf")}},
                          ["hyperparameters.learning_rate", "inf"]),
    "dropout_above_one": ({"hyperparameters": {"dropout": 1.5}}, ["hyperparameters.dropout", "< 1", "1.5"]),
    "dropout_one": ({"hyperparameters": {"dropout": [0.0, 1.0]}}, ["hyperparameters.dropout[1]", "< 1"]),
    "vocab_zero": ({"hyperparameters": {"vocab_size": 0}}, ["hyperparameters.vocab_size", ">= 3"]),
    "embedding_zero": ({"hyperparameters": {"embedding_dim": 0}}, ["hyperparameters.embedding_dim", ">= 1"]),
    "hidden_negative": ({"hyperparameters": {"hidden_units": -16}}, ["hyperparameters.hidden_units", "-16"]),
    "num_layers_zero": ({"hyperparameters": {"num_layers": 0}}, ["hyperparameters.num_layers", ">= 1"]),
    "lr_decay_zero": ({"hyperparameters": {"lr_decay": 0}}, ["hyperparameters.lr_decay", "> 0"]),
    "lr_decay_growth": ({"hyperparameters": {"lr_decay": [0.5, 1.5]}},
                        ["hyperparameters.lr_decay[1]", "<= 1", "1.5"]),
    "embedding_init_unknown": ({"hyperparameters": {"embedding_init": ["random", "glove"]}},
                               ["hyperparameters.embedding_init[1]", "glove", "word2vec"]),
    "clipnorm_negative": ({"hyperparameters": {"clipnorm": -1.0}}, ["hyperparameters.clipnorm", ">= 0"]),
    "epochs_zero": ({"tuner": {"epochs": 0}}, ["tuner.epochs", "positive integer", "got 0"]),
    "max_trials_zero": ({"tuner": {"max_trials": 0}}, ["tuner.max_trials", "positive integer"]),
    "max_trials_negative": ({"tuner": {"max_trials": -5}}, ["tuner.max_trials", "-5"]),
    "patience_zero": ({"tuner": {"early_stopping_patience": 0}}, ["tuner.early_stopping_patience"]),
    "failures_zero": ({"tuner": {"max_consecutive_failed_trials": 0}},
                      ["tuner.max_consecutive_failed_trials"]),
    "seed_negative": ({"tuner": {"seed": -1}}, ["tuner.seed", "an integer from 0 to"]),
    "hyperband_factor_one": ({"tuner": {"hyperband_factor": 1}}, ["tuner.hyperband_factor", ">= 2"]),
    "batch_size_zero": ({"data": {"batch_size": 0}}, ["data.batch_size", "positive integer"]),
    "max_length_zero": ({"data": {"max_length": 0}}, ["data.max_length", "positive integer"]),
    "limit_train_zero": ({"data": {"limit_train": 0}}, ["data.limit_train", "positive integer"]),
    "validation_split_zero": ({"data": {"validation_split": 0}},
                              ["data.validation_split", "between 0 and 1"]),
    "validation_split_one": ({"data": {"validation_split": 1}}, ["data.validation_split", "between 0 and 1"]),
    "validation_split_percent": ({"data": {"validation_split": 20}}, ["data.validation_split", "20"]),
    "unlabeled_split_not_tfds": ({"data": {"unlabeled_split": "unsupervised"}},
                                 ["data.unlabeled_split", "tfds"]),
    "test_split_and_source": ({"data": {"test_split": 0.2, "test_source": "csv:test.csv"}},
                              ["test_source or test_split, not both"]),
}


@pytest.mark.parametrize("case", SPACE_CASES, ids=list(SPACE_CASES))
def test_bad_space(case, tmp_path, csv_path, capsys):
    sections, needles = SPACE_CASES[case]
    space = write_space(tmp_path / "space.yaml", f"csv:{csv_path}", **sections)
    res = tmp_path / "res"
    code, out, err = run_main(["run", str(space), "--results-dir", str(res)], capsys)
    assert_refused(code, out, err, res, *needles)


# --- Data that cannot be used (found after TensorFlow loads, still before any folder) --

DATA_CASES = {
    "csv_missing_flag": ({}, ["--data", "csv:/nope/reviews.csv"], ["data.source", "/nope/reviews.csv"]),
    "csv_missing_space": ({"data": {"source": "csv:/nope/reviews.csv"}}, [], ["/nope/reviews.csv"]),
    "dir_missing": ({"data": {"source": "dir:/nope/aclImdb"}}, [], ["no such folder", "/nope/aclImdb"]),
    "tfds_unknown": ({"data": {"source": "tfds:no_such_dataset_xyz"}}, [],
                     ["data.source", "'no_such_dataset_xyz'", "not found"]),
    # download: false, the refusal (auto would try the network first: e2e/test_download.py)
    "tfds_unprepared_env": ({"data": {"source": "tfds:imdb_reviews", "download": False}}, [],
                            ["data.source", "'imdb_reviews'", "not prepared", "TFDS_DATA_DIR"]),
    "tfds_unprepared_data_dir": ({"data": {"source": "tfds:imdb_reviews", "data_dir": "{tmp}/tfds2",
                                           "download": False}}, [], ["not prepared", "tfds2"]),
    "csv_no_label_column": ({"data": {"label_column": "stars"}}, [], ["data.label_column", "'stars'"]),
}


@pytest.mark.parametrize("case", DATA_CASES, ids=list(DATA_CASES))
def test_bad_data(case, tmp_path, csv_path, capsys, monkeypatch):
    sections, flags, needles = DATA_CASES[case]
    # An empty TFDS folder: nothing is prepared there, and nothing is downloaded.
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    sections = yaml.safe_load(yaml.safe_dump(sections).replace("{tmp}", str(tmp_path)))
    space = write_space(tmp_path / "space.yaml", f"csv:{csv_path}", **sections)
    res = tmp_path / "res"
    code, out, err = run_main(["run", str(space), "--results-dir", str(res), *flags], capsys)
    assert_refused(code, out, err, res, *needles)


def test_single_class_csv(tmp_path, capsys):
    one_class = write_csv(tmp_path / "one.csv", [(text, 1) for text, _ in make_examples(60)])
    space = write_space(tmp_path / "space.yaml", f"csv:{one_class}")
    res = tmp_path / "res"
    code, out, err = run_main(["run", str(space), "--results-dir", str(res)], capsys)
    assert_refused(code, out, err, res, "single class")


# --- Flags ----------------------------------------------------------------------------

FLAG_CASES = {
    "epochs_zero": (["--epochs", "0"], ["--epochs", "positive integer", "'0'"]),
    "epochs_negative": (["--epochs", "-3"], ["--epochs", "'-3'"]),
    "epochs_float": (["--epochs", "2.5"], ["--epochs", "'2.5'"]),
    "tuner_unknown": (["--tuner", "foo"], ["--tuner", "'foo'", "random"]),
    "max_trials_word": (["--max-trials", "x"], ["--max-trials", "'x'"]),
    "max_trials_underscore": (["--max_trials", "3"], ["unrecognized arguments", "--max_trials"]),
    "seed_negative": (["--seed", "-1"], ["--seed", "an integer from 0 to"]),
    "limit_train_zero": (["--limit-train", "0"], ["--limit-train"]),
    "limit_eval_word": (["--limit-eval", "all"], ["--limit-eval", "'all'"]),
    "epochs_missing_value": (["--epochs"], ["--epochs", "expected one argument"]),
    "name_path": (["--name", "../elsewhere"], ["--name", "'../elsewhere'"]),
    "name_empty": (["--name", ""], ["--name"]),
    "data_no_scheme": (["--data", "reviews.csv"], ["--data:", "'reviews.csv'"]),
    "data_scheme_typo": (["--data", "tfsd:imdb_reviews"], ["--data:", "did you mean 'tfds'"]),
    "grid_flag_with_open_range": (["--tuner", "grid"], ["hyperparameters.learning_rate", "grid search"]),
}


@pytest.mark.parametrize("case", FLAG_CASES, ids=list(FLAG_CASES))
def test_bad_flag(case, tmp_path, csv_path, capsys):
    flags, needles = FLAG_CASES[case]
    space = write_space(tmp_path / "space.yaml", f"csv:{csv_path}",
                        hyperparameters={"learning_rate": {"min": 1e-3, "max": 1e-2}})
    res = tmp_path / "res"
    code, out, err = run_main(["run", str(space), "--results-dir", str(res), *flags], capsys)
    assert_refused(code, out, err, res, *needles)


def test_run_without_space(tmp_path, capsys):
    code, out, err = run_main(["run", "--results-dir", str(tmp_path / "res")], capsys)
    assert_refused(code, out, err, tmp_path / "res", "space")


@pytest.mark.parametrize("argv", [["report", "{tmp}/nope"], ["plot", "{tmp}"]])
def test_report_and_plot_refuse_non_run_folders(argv, tmp_path, capsys):
    code, out, err = run_main([a.replace("{tmp}", str(tmp_path)) for a in argv], capsys)
    assert code == 2 and "Traceback" not in err
    assert 1 <= len(err.strip().splitlines()) <= MAX_STDERR_LINES, err


@pytest.mark.parametrize("top", ["0", "-2", "two"])
def test_report_refuses_a_bad_top_on_a_real_run(small_run, top, capsys):
    code, out, err = run_main(["report", str(small_run), "--top", top], capsys)
    assert code == 2 and "Traceback" not in err and not out
    assert "--top" in err and f"expected a positive integer, got {top!r}" in err


# --- A run folder of another space ----------------------------------------------------


def test_run_folder_of_another_space_is_refused(tmp_path, csv_path, capsys):
    old = config.load(write_space(tmp_path / "old.yaml", f"csv:{csv_path}",
                                  hyperparameters={"hidden_units": 8}))
    run_dir = tmp_path / "res" / old.name
    fake_run_folder(run_dir, old)
    before = (run_dir / "config.yaml").read_text()

    space = write_space(tmp_path / "space.yaml", f"csv:{csv_path}", hyperparameters={"hidden_units": 16})
    code, out, err = run_main(["run", str(space), "--results-dir", str(tmp_path / "res")], capsys)
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) <= MAX_STDERR_LINES
    for needle in ("different space", "hyperparameters.hidden_units", "--overwrite", "--name"):
        assert needle in err
    assert (run_dir / "config.yaml").read_text() == before
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.yaml", "tuner"]
