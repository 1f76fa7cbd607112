"""`data.unlabeled_source` (unlabeled text beside a csv/dir source) and the `pretrain:` section's checks."""

from __future__ import annotations

import pytest
from helpers import make_examples, write_csv

from sweep.data.sources import load_texts
from sweep.errors import ConfigError
from sweep.space.config import DataConfig, from_dict


def test_unlabeled_csv_and_folder_are_read_and_fingerprinted(tmp_path):
    data = write_csv(tmp_path / "data.csv", make_examples(60))
    extra = write_csv(tmp_path / "extra.csv", [("more text here", ""), ("and more", "")])
    cfg = DataConfig(source=f"csv:{data}", unlabeled_source=f"csv:{extra}")
    splits = load_texts(cfg, seed=1)
    assert list(splits.unlabeled.text) == ["more text here", "and more"]
    assert (splits.unlabeled.labels == -1).all()
    write_csv(extra, [("other text", "")])
    assert load_texts(cfg, seed=1).fingerprint != splits.fingerprint  # the LM's text changed

    folder = tmp_path / "unsup"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "1.txt").write_text("first review")
    (folder / "2.txt").write_text("second review")
    got = load_texts(DataConfig(source=f"csv:{data}", unlabeled_source=f"dir:{folder}"), seed=1)
    assert sorted(got.unlabeled.text) == ["first review", "second review"]
    assert load_texts(DataConfig(source=f"csv:{data}"), seed=1).unlabeled is None


@pytest.mark.parametrize(("section", "message"), [
    ({"data": {"source": "tfds:imdb_reviews", "unlabeled_source": "csv:x.csv"}},
     "data.unlabeled_source: expected csv:PATH or dir:PATH"),
    ({"data": {"source": "csv:d.csv", "unlabeled_source": "x.csv"}},
     "data.unlabeled_source: expected csv:PATH or dir:PATH"),
    ({"pretrain": {"epochs": 0}}, "pretrain.epochs"),
    ({"pretrain": {"sampled": -1}}, "pretrain.sampled: expected an integer >= 0"),
    ({"pretrain": {"learning_rate": 0}}, "pretrain.learning_rate: expected a number > 0"),
    ({"pretrain": {"freeze_epochs": -1}}, "pretrain.freeze_epochs: expected an integer >= 0"),
    ({"pretrain": {"unfreeze": "layer_wise"}}, "pretrain.unfreeze: unknown value 'layer_wise'"),
    ({"pretrain": {"lr_decay": 0}}, "pretrain.lr_decay: expected a number > 0 and <= 1"),
    ({"pretrain": {"lr_decay": 1.5}}, "pretrain.lr_decay: expected a number > 0 and <= 1"),
    ({"pretrain": {"epoch": 2}}, "pretrain"),
])
def test_bad_settings_are_refused_in_one_line(section, message):
    raw = {"name": "t", "data": {"source": "csv:d.csv"}, "hyperparameters": {"embedding_init": "lm"},
           **section}
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        from_dict(raw)


def test_a_pretrain_section_round_trips_and_a_default_one_is_left_out():
    raw = {"name": "t", "data": {"source": "csv:d.csv"}, "hyperparameters": {"embedding_init": "lm"}}
    assert "pretrain" not in from_dict(raw).to_dict()  # older saved spaces compare equal
    cfg = from_dict({**raw, "pretrain": {"epochs": 3, "sampled": 0}})
    assert from_dict(cfg.to_dict()) == cfg and cfg.pretrain.epochs == 3
