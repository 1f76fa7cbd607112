"""Where a tfds dataset is looked for (`data_dirs`), and names close to a registered one."""

from __future__ import annotations

import pytest
import tiny_tfds
from helpers import make_examples, write_csv

from sweep.data import sources, tfds_source
from sweep.errors import DataError
from sweep.space.config import DataConfig
from unit.data.test_sources import write_tfds


@pytest.fixture
def beside(tmp_path, monkeypatch):
    """No TFDS_DATA_DIR, a home of its own and a prepared-copy folder "beside the checkout"."""
    monkeypatch.delenv("TFDS_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    shared = tmp_path / "shared" / "tensorflow_datasets"
    shared.mkdir(parents=True)
    monkeypatch.setattr(tfds_source, "BESIDE_CHECKOUT", shared)  # absolute: checkout / it == it
    return shared


def test_the_order_data_dir_then_tfds_data_dir_then_beside_the_checkout_then_home(beside, tmp_path,
                                                                                  monkeypatch):
    home = str(tmp_path / "home" / "tensorflow_datasets")
    assert tfds_source.data_dirs(DataConfig(source="tfds:x")) == [
        (str(beside), "the prepared copy beside the checkout"), (home, "tfds' default")]
    monkeypatch.setenv("TFDS_DATA_DIR", "/env")
    assert tfds_source.data_dirs(DataConfig(source="tfds:x")) == [("/env", "TFDS_DATA_DIR")]
    cfg = DataConfig(source="tfds:x", data_dir="/space")
    assert tfds_source.data_dirs(cfg) == [("/space", "data.data_dir")]
    beside.rmdir()  # no prepared copy beside the checkout: tfds' default alone
    monkeypatch.delenv("TFDS_DATA_DIR")
    assert tfds_source.data_dirs(DataConfig(source="tfds:x")) == [(home, "tfds' default")]


def test_a_copy_prepared_beside_the_checkout_is_found_without_tfds_data_dir(beside, tmp_path):
    name = write_tfds(beside, {"train": make_examples(60, num_classes=3, seed=1),
                               "test": make_examples(20, num_classes=3, seed=2)}, dataset="sweep_beside")
    splits = sources.load_texts(DataConfig(source=f"tfds:{name}"), seed=1)
    assert len(splits.test) == 20
    assert splits.origin == f"{beside / name / '1.0.0'} (the prepared copy beside the checkout)"
    assert not (tmp_path / "home" / "tensorflow_datasets").exists()  # nothing made in tfds' default


def test_a_tfds_name_close_to_a_registered_one_gets_a_did_you_mean(tmp_path):
    with pytest.raises(DataError, match=r"'imdb_review' not found .*; did you mean 'imdb_reviews'\?$"):
        sources.load_texts(DataConfig(source="tfds:imdb_review", data_dir=str(tmp_path)), seed=1)
    with pytest.raises(DataError, match=r"did you mean 'imdb_reviews/plain_text'\?$"):
        sources.load_texts(DataConfig(source="tfds:imbd_reviews/plain_text", data_dir=str(tmp_path)), seed=1)


def test_a_download_goes_to_tfds_default_never_beside_the_checkout(beside, tmp_path, monkeypatch):
    (tmp_path / "remote").mkdir()
    write_csv(tmp_path / "remote" / "train.csv", make_examples(60, seed=1))
    write_csv(tmp_path / "remote" / "test.csv", make_examples(20, seed=2))
    monkeypatch.setenv(tiny_tfds.SOURCE_ENV, str(tmp_path / "remote"))
    splits = sources.load_texts(DataConfig(source="tfds:tiny_reviews"), seed=1)
    home = tmp_path / "home" / "tensorflow_datasets"
    assert splits.origin == f"{home / 'tiny_reviews' / '1.0.0'} (tfds' default)"
    assert not any(beside.iterdir())  # the prepared copy beside the checkout is only read
