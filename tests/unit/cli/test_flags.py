"""Flags by their exact names: `--version`, no prefix matching, did-you-mean, refusals before output."""

from __future__ import annotations

import pytest
from helpers import make_examples, write_csv, write_space

import sweep
from sweep.cli import main


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    code, out, err = run_main(["--version"], capsys)
    assert code == 0 and out.strip() == f"sweep {sweep.__version__}" and not err


@pytest.fixture
def space(tmp_path):
    return write_space(tmp_path / "space.yaml", f"csv:{write_csv(tmp_path / 'd.csv', make_examples(60))}")


@pytest.mark.parametrize(("flag", "meant"), [
    ("--max-trial", "--max-trials"), ("--limit_train", "--limit-train"), ("--epoch", "--epochs"),
    ("--result-dir", "--results-dir")])
def test_a_flag_is_taken_only_by_its_exact_name_and_a_close_one_is_suggested(flag, meant, space, tmp_path,
                                                                             capsys):
    code, out, err = run_main(["run", str(space), "--results-dir", str(tmp_path / "r"), flag, "3"], capsys)
    assert code == 2 and not out and len(err.strip().splitlines()) == 1, err
    assert f"sweep run: error: unrecognized arguments: {flag}" in err
    assert f"did you mean {meant}?" in err
    assert not (tmp_path / "r").exists()


def test_prefixes_are_refused_in_every_command(small_run, capsys):
    code, out, err = run_main(["report", str(small_run), "--to", "2"], capsys)
    assert code == 2 and not out and "unrecognized arguments: --to" in err and "did you mean --top?" in err
    code, out, err = run_main(["--vers"], capsys)
    assert code == 2 and not out and "did you mean --version?" in err


def test_report_refuses_an_unknown_sort_column_before_printing_anything(small_run, capsys):
    code, out, err = run_main(["report", str(small_run), "--sort", "val_acc"], capsys)
    assert code == 2 and not out, out
    assert "--sort: no column 'val_acc'" in err and "did you mean 'val_accuracy'?" in err


def test_a_tfds_name_close_to_a_known_one_gets_a_did_you_mean(space, tmp_path, capsys):
    code, out, err = run_main(["run", str(space), "--results-dir", str(tmp_path / "r"),
                               "--data", "tfds:imdb_review"], capsys)
    assert code == 2 and not out and len(err.strip().splitlines()) == 1, err
    assert "'imdb_review' not found" in err and "did you mean 'imdb_reviews'?" in err
