"""The one table of command-line flags that override a space key.

`sweep run` builds its flags from `FLAGS` (`sweep.cli.run`), and `config.apply_overrides`
applies them from the same rows, so a flag, the key it sets and the name it goes by in
Python (`config.load(path, max_trials=3)`) are written once. The value kinds say how the
command line checks a value before the space sees it; the space validates it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sweep.space.registry import TUNERS

# How argparse reads a value (`sweep.cli.common.ARG_TYPES`): "text" is taken as typed and
# checked only by the space, so its errors name the flag.
Kind = Literal["text", "positive_int", "seed", "duration", "algorithm"]


@dataclass(frozen=True)
class Flag:
    """A flag of `sweep run` that overrides one key of the space.

    Attributes:
        flag: as typed, e.g. "--max-trials".
        key: the space key it sets, "section.key" or a top-level key ("name").
        kind: how the command line reads the value (see `Kind`).
        metavar: argparse's placeholder in --help.
        help: the --help line (None: the flag and metavar say enough).
    """

    flag: str
    key: str
    kind: Kind
    metavar: str | None = None
    help: str | None = None

    @property
    def section(self) -> str | None:
        """"data", "tuner" or "tracking"; None for a top-level key."""
        return self.key.split(".", 1)[0] if "." in self.key else None

    @property
    def name(self) -> str:
        """The key within its section: argparse's dest and `apply_overrides`' keyword."""
        return self.key.rsplit(".", 1)[-1]


FLAGS: tuple[Flag, ...] = (
    Flag("--data", "data.source", "text", "SOURCE", "data source: tfds:NAME[/CONFIG], csv:PATH or dir:PATH"),
    Flag("--tuner", "tuner.algorithm", "algorithm", "ALG", " | ".join(TUNERS.names())),
    Flag("--max-trials", "tuner.max_trials", "positive_int", "N"),
    Flag("--max-time", "tuner.max_time", "duration", "DURATION",
         "time budget of the search, e.g. 45s, 90m, 2h (counted across resumes): no trial starts "
         "once it is spent"),
    Flag("--epochs", "tuner.epochs", "positive_int", "N"),
    Flag("--seed", "tuner.seed", "seed", "N"),
    Flag("--name", "name", "text", None, "run folder name (default: the space's name)"),
    Flag("--limit-train", "data.limit_train", "positive_int", "N",
         "train on a seeded sample of N examples of the training part"),
    Flag("--limit-eval", "data.limit_eval", "positive_int", "N",
         "validate and test on at most N examples each"),
    Flag("--mlflow", "tracking.mlflow", "text", "URI",
         "also record every trial on this MLflow tracking server (default: $MLFLOW_TRACKING_URI; "
         "see docs/tracking.md)"),
)

BY_NAME: dict[str, Flag] = {f.name: f for f in FLAGS}
