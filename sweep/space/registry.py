"""The registries: the cells, tuners and data sources a space may name, one table each.

    CELLS    cell: NAME        -> what the model stacks (a Keras RNN class, a layer-making
                                  function) or the whole network between tokens and head
    TUNERS   tuner.algorithm   -> a KerasTuner tuner and its oracle
    SOURCES  data.source       -> a loader of SCHEME:LOCATION

An entry holds the name the space writes, the label plots and reports show (in table
order), and its builder as a "module:attribute" string or a callable, resolved only when
something is built. So validation, `sweep report` and `--help` read these tables without
importing TensorFlow; `sweep.model.hypermodel`, `sweep.search.tuning` and
`sweep.data.sources` build from them, the plots take their order and labels from them, and
docs/extending.md lists them (tests check all of these against the tables).

Users add cells and sources from Python (`sweep.register_cell`, `sweep.register_model`,
`sweep.register_source`) or from a module the space names under `plugins:`, which is
imported when the space is read (see docs/extending.md).
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sweep.errors import ConfigError
from sweep.space.checks import did_you_mean, one_of

Target = str | Callable[..., Any]
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Entry:
    """One registered cell, tuner or source.

    Attributes:
        name: as the space writes it (`cell: gru`, `algorithm: hyperband`, `source: csv:...`).
        label: as plots and reports show it.
        target: the builder, a callable or "module:attribute" (imported on `resolve`).
        kind: how the builder is called. Cells: "rnn" (a Keras RNN class, called with
            hidden_units), "layer" (`f(values, return_sequences) -> layer`), "network"
            (`f(values, tokens) -> features`). Sources: "corpus" (built-in,
            `f(DataConfig) -> Corpus`), "texts" (`f(location) -> (texts, labels)` or
            `{"train": ..., "test": ...}`). Tuners: "tuner".
        doc: one line for the docs.
        oracle: tuners only: the KerasTuner oracle class, as `target`.
        builtin: shipped with rnn-sweep (cannot be replaced).
    """

    name: str
    label: str
    target: Target
    kind: str
    doc: str = ""
    oracle: Target | None = None
    builtin: bool = True

    def resolve(self, attribute: str = "target") -> Any:
        """The builder (or, with "oracle", the oracle class), imported if given by name.

        Raises:
            ConfigError: the module or attribute cannot be imported.
        """
        target = getattr(self, attribute)
        return target if callable(target) else load_target(target, self.name)

    @property
    def where(self) -> str:
        """Where the builder lives, as "module:attribute"."""
        if isinstance(self.target, str):
            return self.target
        return f"{self.target.__module__}:{getattr(self.target, '__qualname__', self.target)}"


class Table:
    """An ordered registry of entries by name."""

    def __init__(self, what: str, key: str, entries: list[Entry], kinds: tuple[str, ...]):
        self.what, self.key, self.kinds = what, key, kinds
        self._entries = {e.name: e for e in entries}

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def get(self, name: str, key: str | None = None) -> Entry:
        """The entry `name`; ConfigError naming `key` (and the closest name) if there is none."""
        if name not in self._entries:
            raise ConfigError(self.unknown(name, key or self.key))
        return self._entries[name]

    def unknown(self, name: object, key: str) -> str:
        """The one line that refuses an unregistered name."""
        return (f"{key}: unknown {self.what} {name!r}{did_you_mean(str(name), self.names())}; "
                f"expected one of {one_of(self.names())} (or one registered by a module under "
                "`plugins:`, see docs/extending.md)")

    def label(self, name: object) -> str:
        """What plots show for `name` (the name itself when it is not registered here)."""
        entry = self._entries.get(str(name))
        return entry.label if entry else str(name)

    def rank(self, name: object) -> int:
        """Its place in the table, for sorting and colours; unregistered names come last."""
        names = self.names()
        return names.index(str(name)) if str(name) in names else len(names)

    def add(self, entry: Entry) -> Entry:
        """Registers `entry`; a user's entry may replace a user's entry, never a built-in."""
        if not isinstance(entry.name, str) or not _NAME.match(entry.name):
            raise ConfigError(f"{self.key}: cannot register {entry.name!r}: a name is a letter "
                              "then letters, digits or '_'")
        old = self._entries.get(entry.name)
        if old is not None and old.builtin:
            raise ConfigError(f"{self.key}: cannot register {entry.name!r}: a built-in {self.what} "
                              "has that name")
        if entry.kind not in self.kinds:
            raise ConfigError(f"{self.key}: {entry.kind!r} is not a kind of {self.what} "
                              f"({one_of(self.kinds)})")
        if not (callable(entry.target) or _is_dotted(entry.target)):
            raise ConfigError(f"{self.key}: cannot register {entry.name!r}: expected a function or "
                              f"'module:function', got {entry.target!r}")
        self._entries[entry.name] = entry
        return entry

    def remove(self, name: str) -> None:
        """Forgets a user's entry (tests, notebooks); built-ins stay."""
        if name in self._entries and not self._entries[name].builtin:
            del self._entries[name]


CELLS = Table("cell", "hyperparameters.cell", [
    Entry("simple_rnn", "SimpleRNN", "keras.layers:SimpleRNN", "rnn", "Keras' SimpleRNN"),
    Entry("lstm", "LSTM", "keras.layers:LSTM", "rnn", "Keras' LSTM (cuDNN on a GPU)"),
    Entry("gru", "GRU", "keras.layers:GRU", "rnn", "Keras' GRU (cuDNN on a GPU)"),
], kinds=("rnn", "layer", "network"))

TUNERS = Table("algorithm", "tuner.algorithm", [
    Entry("random", "random search", "keras_tuner:RandomSearch", "tuner", "KerasTuner's RandomSearch",
          oracle="keras_tuner.oracles:RandomSearchOracle"),
    Entry("grid", "grid search", "keras_tuner:GridSearch", "tuner", "KerasTuner's GridSearch",
          oracle="keras_tuner.oracles:GridSearchOracle"),
    Entry("bayesian", "Bayesian optimization", "keras_tuner:BayesianOptimization", "tuner",
          "KerasTuner's BayesianOptimization", oracle="keras_tuner.oracles:BayesianOptimizationOracle"),
    Entry("hyperband", "Hyperband", "keras_tuner:Hyperband", "tuner", "KerasTuner's Hyperband",
          oracle="keras_tuner.oracles:HyperbandOracle"),
], kinds=("tuner",))

SOURCES = Table("data source", "data.source", [
    Entry("tfds", "TensorFlow Datasets", "sweep.data.tfds_source:load_tfds", "corpus",
          "a TensorFlow Datasets dataset: tfds:NAME[/CONFIG]"),
    Entry("csv", "CSV file", "sweep.data.sources:load_csv", "corpus",
          "a CSV file with a text and a label column: csv:PATH"),
    Entry("dir", "folder per class", "sweep.data.sources:load_dir", "corpus",
          "a folder of .txt files per class: dir:PATH"),
], kinds=("corpus", "texts"))


# --- The public extension point --------------------------------------------------------


def register_cell(name: str, build: Target, label: str | None = None) -> Entry:
    """Adds a cell that `cell:` may name, stacked like the built-in RNNs.

    Args:
        name: the value the space writes (`cell: [gru, conv1d]`).
        build: `build(values, return_sequences) -> keras.layers.Layer` (or its
            "module:function"): `values` holds every hyperparameter of the trial
            (hidden_units, ...); the layer reads (batch, time, features) and returns the
            same shape when `return_sequences`, else (batch, features).
        label: what plots show (default: the name).

    Raises:
        ConfigError: a bad or built-in name, or a build that is neither callable nor
            "module:function".
    """
    return CELLS.add(Entry(name, label or name, build, "layer", builtin=False))


def register_model(name: str, build: Target, label: str | None = None) -> Entry:
    """Adds a whole network that `cell:` may name, in place of embedding, cells and pooling.

    Args:
        name: the value the space writes (`cell: [lstm, transformer]`).
        build: `build(values, tokens) -> features` (or its "module:function"): `tokens` is
            the (batch, time) int Keras tensor of token ids, 0 for padding; it returns a
            (batch, features) tensor. The sweep adds dropout, the classifier head, the loss
            and the metrics.
        label: what plots show (default: the name).
    """
    return CELLS.add(Entry(name, label or name, build, "network", builtin=False))


def register_source(scheme: str, load: Target, label: str | None = None) -> Entry:
    """Adds a data source that `data.source: SCHEME:LOCATION` may name.

    Args:
        scheme: the part before the colon (`parquet` in `parquet:reviews.parquet`).
        load: `load(location) -> (texts, labels)` or a mapping `{"train": (texts, labels),
            "test": (texts, labels)}` (or its "module:function"); labels are class names or
            integers. Without "test", the test split is carved as for a CSV.
        label: for the docs (default: the scheme).
    """
    return SOURCES.add(Entry(scheme, label or scheme, load, "texts", builtin=False))


def load_plugins(modules: Any, key: str = "plugins") -> tuple[str, ...]:
    """Imports each named module (which registers its entries on import); returns the names.

    The working folder is searched after the usual places, as `python -m` would.

    Raises:
        ConfigError: not a list of module names, or a module that cannot be imported.
    """
    if modules is None:
        return ()
    if not isinstance(modules, list) or not all(isinstance(m, str) and m for m in modules):
        raise ConfigError(f"{key}: expected a list of Python module names (e.g. [mypkg.cells]), "
                          f"got {modules!r}")
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    for i, name in enumerate(modules):
        try:
            importlib.import_module(name)
        except Exception as e:  # a plugin's own error, as one line
            raise ConfigError(f"{key}[{i}]: cannot import {name!r} "
                              f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    return tuple(modules)


def load_target(target: str, name: str) -> Any:
    """"module:attribute" -> the attribute, imported."""
    module, _, attribute = target.partition(":")
    try:
        found: Any = importlib.import_module(module)
        for part in attribute.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"{name}: cannot load {target!r} ({type(e).__name__}: {e})") from None
    return found


def _is_dotted(target: object) -> bool:
    if not isinstance(target, str):
        return False
    module, sep, attribute = target.partition(":")
    return bool(sep) and all(p.isidentifier() for p in module.split(".") + attribute.split("."))
