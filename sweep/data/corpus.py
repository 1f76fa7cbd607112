"""Labelled text as the readers give it (`Corpus`) and as the sweep splits it (`TextSplits`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Split:
    """One split's raw text and integer labels."""

    text: np.ndarray  # object array of str
    labels: np.ndarray  # int64 class ids

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: np.ndarray) -> Split:
        return Split(self.text[index], self.labels[index])


@dataclass
class TextSplits:
    """Train, validation and test text, and the class names behind the label ids."""

    train: Split
    val: Split
    test: Split
    class_names: list[str]
    fingerprint: str  # changes whenever the text or the split would
    unlabeled: Split | None = None  # extra text for word2vec only (data.unlabeled_split)
    origin: str = ""  # where a tfds source was found, and why there (the sweep's first line says it)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclass
class Corpus:
    """What a reader gives: the labelled text, a test split if the source has one, the
    class names (index = class id) and a file_versions that changes when the files do."""

    pool: Split  # train and validation are carved from it
    test: Split | None
    class_names: list[str]
    file_versions: list
    origin: str = ""  # where a tfds source was found, and why there
