"""A user's plugin module, as docs/extending.md describes it: a space names it under `plugins:`
and importing it registers a 1-D CNN cell, a network with a layer of its own, and a data source.

Light on purpose: Keras is imported inside the builders, so `sweep report` on a run that names
this plugin still imports no TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import sweep


def conv1d(values: dict, return_sequences: bool):
    """A 1-D convolution over the embeddings; max over time where the sweep wants one vector."""
    import keras

    conv = keras.layers.Conv1D(values["hidden_units"], 3, padding="same", activation="relu")
    return conv if return_sequences else keras.Sequential([conv, keras.layers.GlobalMaxPooling1D()])


def doubled_mean(values: dict, tokens):
    """A whole network whose middle layer is the user's own class (export refuses it)."""
    import keras

    class Doubled(keras.layers.Layer):
        def call(self, x):
            return 2.0 * x

    x = keras.layers.Embedding(values["vocab_size"], values["embedding_dim"])(tokens)
    return Doubled()(keras.layers.GlobalAveragePooling1D()(x))


def tab_lines(location: str):
    """`lines:PATH`: one example per line, `label<TAB>text`."""
    rows = [line.split("\t", 1) for line in Path(location).read_text(encoding="utf-8").splitlines()]
    return [text for _, text in rows], [label for label, _ in rows]


sweep.register_cell("conv1d", conv1d, label="1-D CNN")
sweep.register_model("doubled_mean", doubled_mean)
sweep.register_source("lines", "e2e.extending_plugin:tab_lines")  # by name: resolved on use
