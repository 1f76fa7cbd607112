"""tfds data that downloads itself (`data.download: auto`), offline, refused; and the Makefile.

The builders are tests/tiny_tfds.py's: prepared from local files, so the download path runs
without internet.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import tiny_tfds
from helpers import ROOT, make_examples, write_csv, write_space

from sweep import cli
from sweep.data import sources
from sweep.errors import DataError
from sweep.space.config import DataConfig


@pytest.fixture
def tiny_source(tmp_path, monkeypatch) -> Path:
    """The "remote" files of tfds:tiny_reviews, and an empty TFDS_DATA_DIR."""
    folder = tmp_path / "remote"
    folder.mkdir()
    write_csv(folder / "train.csv", make_examples(300, seed=1))
    write_csv(folder / "test.csv", make_examples(100, seed=2))
    monkeypatch.setenv(tiny_tfds.SOURCE_ENV, str(folder))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    return folder


def test_a_dataset_not_prepared_is_downloaded_and_prepared_once(tiny_source, tmp_path):
    splits = sources.load_texts(DataConfig(source="tfds:tiny_reviews"), seed=1)
    assert len(splits.train) + len(splits.val) == 300 and len(splits.test) == 100
    assert splits.class_names == ["neg", "pos"]
    prepared = tmp_path / "tfds" / "tiny_reviews" / "1.0.0"
    assert (prepared / "dataset_info.json").is_file()
    # Prepared: read from there, not prepared again (the source files are gone).
    for f in tiny_source.iterdir():
        f.unlink()
    again = sources.load_texts(DataConfig(source="tfds:tiny_reviews"), seed=1)
    assert list(again.train.text) == list(splits.train.text)


def test_download_false_keeps_the_refusal(tiny_source, tmp_path):
    with pytest.raises(DataError, match="not prepared under .* and data.download is false; set TFDS_DATA"):
        sources.load_texts(DataConfig(source="tfds:tiny_reviews", download=False), seed=1)
    assert not (tmp_path / "tfds" / "tiny_reviews").exists()


def test_offline_one_line_says_what_was_tried_and_where_to_point(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    space = write_space(tmp_path / "space.yaml", "tfds:offline_reviews")
    assert cli.main(["run", str(space), "--results-dir", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "tfds dataset 'offline_reviews' is not prepared under" in err
    assert "downloading and preparing it there failed (ConnectionError: Failed to resolve" in err
    assert "set TFDS_DATA_DIR (or data.data_dir) to a folder holding a prepared copy" in err
    assert not (tmp_path / "results" / "synthetic").exists()  # refused before the run folder


def test_a_sweep_without_the_shared_data_gets_past_loading(tiny_source, tmp_path):
    """As `make sweep` on a machine without ../shared: no TFDS_DATA_DIR, tfds' default folder."""
    space = write_space(tmp_path / "space.yaml", "tfds:tiny_reviews",
                        tuner={"algorithm": "random", "max_trials": 1, "epochs": 1})
    env = {k: v for k, v in os.environ.items() if k != "TFDS_DATA_DIR"}
    env.update(HOME=str(tmp_path / "home"), PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    code = "import sys, tiny_tfds; from sweep.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run([sys.executable, "-c", code, "run", str(space), "--results-dir",
                           str(tmp_path / "results")], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "home" / "tensorflow_datasets" / "tiny_reviews" / "1.0.0").is_dir()
    assert "COMPLETED" in (tmp_path / "results" / "synthetic" / "trials.csv").read_text()


def _makes_tfds_dir(checkout: Path, env_dir: str | None = None) -> str:
    """TFDS_DATA_DIR as the Makefile in `checkout` exports it to its commands."""
    env = {k: v for k, v in os.environ.items() if k != "TFDS_DATA_DIR"}
    if env_dir is not None:
        env["TFDS_DATA_DIR"] = env_dir
    proc = subprocess.run(["make", "-s", "-C", str(checkout), "--eval",
                           "_show_tfds: ; @echo \"[$$TFDS_DATA_DIR]\"", "_show_tfds"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().strip("[]")


@pytest.mark.skipif(subprocess.run(["which", "make"], capture_output=True).returncode != 0,
                    reason="no make")
def test_the_makefile_points_at_the_shared_data_only_when_it_exists(tmp_path):
    checkout = tmp_path / "rnn-sweep"
    checkout.mkdir()
    (checkout / "Makefile").write_text((ROOT / "Makefile").read_text())
    assert _makes_tfds_dir(checkout) == ""  # no ../shared: tfds' own default
    shared = tmp_path / "shared" / "tensorflow_datasets"
    shared.mkdir(parents=True)
    assert _makes_tfds_dir(checkout) == str(shared)
    assert _makes_tfds_dir(checkout, "/elsewhere") == "/elsewhere"  # the user's setting wins


def test_offline_a_download_is_refused_at_once_and_leaves_no_folders(tmp_path, monkeypatch, capsys):
    """A host that cannot be reached: refused before tfds' minutes of retries and its partial
    folders (`downloads/`, `incomplete.*`), which the next try warned about."""
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    space = write_space(tmp_path / "space.yaml", "tfds:unreachable_reviews")
    assert cli.main(["run", str(space), "--results-dir", str(tmp_path / "results")]) == 2
    out, err = capsys.readouterr()
    assert not out and len(err.strip().splitlines()) == 1, err
    assert f"not prepared under {tmp_path / 'tfds'} (TFDS_DATA_DIR)" in err
    assert "cannot be downloaded (no connection to downloads.invalid" in err
    assert "set TFDS_DATA_DIR (or data.data_dir) to a folder holding a prepared copy" in err
    assert not (tmp_path / "tfds").exists() or not any((tmp_path / "tfds").iterdir())


def _imdb_host_answers() -> bool:
    import socket

    try:
        socket.create_connection(("ai.stanford.edu", 80), timeout=5).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(_imdb_host_answers(), reason="IMDB's download host answers: not offline")
def test_offline_imdb_is_refused_at_once_without_partial_folders(tmp_path, monkeypatch, capsys):
    """The README's sweep on a machine with neither the data nor a network (tfds retried for
    about 3.5 minutes, then left downloads/ and incomplete.* behind)."""
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    code = cli.main(["run", str(ROOT / "search_spaces" / "imdb_rnn.yaml"), "--results-dir",
                     str(tmp_path / "results")])
    out, err = capsys.readouterr()
    assert code == 2 and not out and len(err.strip().splitlines()) == 1, err
    assert "tfds dataset 'imdb_reviews' is not prepared under" in err
    assert "cannot be downloaded (no connection to ai.stanford.edu" in err
    assert not (tmp_path / "tfds").exists() or not any((tmp_path / "tfds").iterdir())
    assert not (tmp_path / "results").exists()
