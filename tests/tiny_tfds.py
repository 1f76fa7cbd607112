"""Small tfds dataset builders for the download tests: "downloaded" from local CSV files.

Importing this module registers them with tfds (as `tfds:tiny_reviews`, `tfds:offline_reviews`
and `tfds:unreachable_reviews`). `tiny_reviews` prepares its train and test splits from
$TINY_TFDS_SOURCE/train.csv and test.csv (text,label), the way a real builder prepares what
it downloads; `offline_reviews` fails in its download step as a machine without internet does;
`unreachable_reviews` downloads from a host that never resolves.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import tensorflow_datasets as tfds

SOURCE_ENV = "TINY_TFDS_SOURCE"


class TinyReviews(tfds.core.GeneratorBasedBuilder):
    """Two-class reviews from local CSV files."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict({
                "text": tfds.features.Text(),
                "label": tfds.features.ClassLabel(names=["neg", "pos"]),
            }),
            supervised_keys=("text", "label"),
        )

    def _split_generators(self, dl_manager):
        folder = Path(os.environ[SOURCE_ENV])
        return {"train": self._generate_examples(folder / "train.csv"),
                "test": self._generate_examples(folder / "test.csv")}

    def _generate_examples(self, path: Path):
        with open(path, newline="", encoding="utf-8") as f:
            for i, row in enumerate(csv.DictReader(f)):
                yield i, {"text": row["text"], "label": int(row["label"])}


class OfflineReviews(TinyReviews):
    """As `TinyReviews`, on a machine that cannot reach the download."""

    def _split_generators(self, dl_manager):
        raise ConnectionError("Failed to resolve 'downloads.example.org' (no network)")


class UnreachableReviews(TinyReviews):
    """As `TinyReviews`, with its download (its checksums' URL, as a real builder registers
    them) on a host that no machine can reach (`.invalid`)."""

    url_infos = {"http://downloads.invalid/reviews.tar.gz": None}

    def _split_generators(self, dl_manager):
        raise AssertionError("the download was tried, though its host cannot be reached")
