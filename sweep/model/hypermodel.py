"""The KerasTuner HyperModel: hyperparameters -> a compiled recurrent text classifier.

Knows Keras only (no tf.data, no files), so it builds and tests without data and runs on
any Keras backend. The model:

    Embedding(vocab_size, embedding_dim, mask_zero; random, word2vec or LM start) -> [SpatialDropout1D]
    -> num_layers x [Bidirectional] cell       (a registered layer-making cell: the same)
    -> [masked max / mean / both concatenated, over time] -> Dropout
    -> Dense(1 logit for two classes, else one per class)

trained with Adam at `learning_rate`, times `lr_decay` per epoch when that is below 1, the
encoder (embedding and cells) at `encoder_lr_scale` times that, and an `embedding_init: lm`
network's head alone for its first `freeze_epochs` (`training.EncoderAdam`).
The cell comes from the registry (`sweep.space.registry.CELLS`); a registered network
(`register_model`) replaces everything from the embedding to the pooling.

With `pooling: last` the last recurrent layer returns only its final state; with `max` or
`mean` it returns every timestep and those are pooled over the real (unpadded) tokens.
Either way there is one prediction per example: the notebook this project grew from
returned every timestep and trained on per-token outputs (chance accuracy).
LSTM and GRU keep Keras' default activations and no recurrent dropout, so with a
right-padded mask a GPU runs them on cuDNN on the TensorFlow backend. (On the JAX backend
Keras 3.15 uses cuDNN only for an LSTM with no mask at all, so these run as lax.scan
loops there; see bench/gpu_check.py.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import keras_tuner as kt
import numpy as np

from sweep.model import keras_metrics, training
from sweep.space.hyperparameters import Choice, Fixed, HyperParameter, Range
from sweep.space.registry import CELLS


class RNNHyperModel(kt.HyperModel):
    """Builds one model per set of hyperparameter values.

    Args:
        space: hyperparameter name -> spec, as in `SweepConfig.hyperparameters`.
        num_classes: 2 gives one logit and binary cross-entropy; more give softmax.
        word_vectors: (vocab_size, embedding_dim) -> the starting embedding matrix, for
            `embedding_init: word2vec` (`SweepData.word_vectors`).
        metrics: names in `sweep.metrics.METRICS` to compile (`metrics.compiled(objective)`).
        encoder_weights: hyperparameter values -> a language model's weights per layer (the
            embedding's, then each cell's), for `embedding_init: lm`
            (`sweep.train.pretrain.Pretrainer.encoder_weights`); None keeps Keras' random start
            (export rebuilds the network that way, then loads the trained weights).
        freeze_epochs: `embedding_init: lm` trials train only the head for this many epochs
            first (`pretrain.freeze_epochs`; `training.EncoderAdam`).
        unfreeze: then "together" (the whole encoder at once) or "layerwise" (one layer an
            epoch, the top recurrent layer first, the embedding last; `pretrain.unfreeze`).
    """

    def __init__(self, space: dict[str, HyperParameter], num_classes: int = 2,
                 word_vectors: Callable[[int, int], np.ndarray] | None = None,
                 metrics: Sequence[str] = ("accuracy",),
                 encoder_weights: EncoderWeights | None = None, freeze_epochs: int = 0,
                 unfreeze: str = "together", **kwargs):
        super().__init__(**kwargs)
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self.space = space
        self.num_classes = num_classes
        self.word_vectors = word_vectors
        self.metrics = tuple(metrics)
        self.encoder_weights = encoder_weights
        self.freeze_epochs = freeze_epochs
        self.unfreeze = unfreeze

    def declare(self, hp: kt.HyperParameters) -> dict:
        """Registers every hyperparameter of the space on `hp`; returns their values."""
        return {name: _declare(hp, name, spec) for name, spec in self.space.items()}

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        v = self.declare(hp)
        inputs = keras.Input(shape=(None,), dtype="int32", name="tokens")
        x = features(v, inputs, self.word_vectors, encoder_weights=self.encoder_weights)
        binary = self.num_classes == 2
        # float32 logits even under mixed precision, so the loss stays stable.
        head = keras.layers.Dense(1 if binary else self.num_classes, dtype="float32")
        outputs = head(x)
        model = keras.Model(inputs, outputs, name=f"{v['cell']}_classifier")

        adam = {"learning_rate": v["learning_rate"], "clipnorm": v["clipnorm"] or None}
        frozen = self.freeze_epochs if v.get("embedding_init") == "lm" else 0
        scale = v.get("encoder_lr_scale", 1.0)
        if frozen or scale != 1.0:
            # Gradual unfreezing (the head learns to read a pretrained encoder first) and
            # discriminative rates (the encoder moves slower than the head).
            optimizer: keras.optimizers.Optimizer = training.EncoderAdam(
                _layer_groups(model, head, frozen, self.unfreeze == "layerwise"), scale, **adam)
        else:
            optimizer = keras.optimizers.Adam(**adam)
        if binary:
            loss = keras.losses.BinaryCrossentropy(from_logits=True)
        else:
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        compiled = [keras_metrics.make(name, self.num_classes) for name in self.metrics]
        # No XLA: batches vary in length (bucketing), and XLA would recompile per shape
        # and keep TensorFlow off the cuDNN RNN kernels.
        jit = keras.backend.backend() == "jax"
        model.compile(optimizer=optimizer, loss=loss, metrics=compiled, jit_compile=jit)
        return model

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args, **kwargs):
        """Trains with the project's one routine (`sweep.model.training.fit`): the learning rate
        decayed per epoch when `lr_decay` < 1; a NaN loss raises `training.Diverged`."""
        return training.fit(hp, model, *args, **kwargs)


EncoderWeights = Callable[[dict], list[list[np.ndarray]]]


def _layer_groups(model: keras.Model, head: keras.layers.Layer, frozen: int,
                  layerwise: bool) -> list[tuple[list[str], int]]:
    """The encoder's layers below `head` as `training.EncoderAdam` groups: (weight paths,
    epochs frozen): `frozen` for all, or with `layerwise` (ULMFiT's gradual unfreezing) one
    epoch more for each layer further from the head, so the embedding is the last to train."""
    layers = [layer for layer in model.layers if layer.trainable_weights and layer is not head]
    return [([w.path for w in layer.trainable_weights], frozen + (len(layers) - 1 - i if layerwise else 0))
            for i, layer in enumerate(layers)]


def features(v: dict, tokens, word_vectors: Callable[[int, int], np.ndarray] | None = None,
             masked_max: Callable | None = None, encoder_weights: EncoderWeights | None = None):
    """Token ids -> what the classifier head reads: embedding, cells, pooling, dropout.

    Args:
        v: hyperparameter values (`RNNHyperModel.declare`).
        tokens: the (batch, time) token-id tensor, 0 for padding.
        word_vectors: as in `RNNHyperModel`.
        masked_max: pooled = masked_max(sequence) for `pooling: max`; default
            `MaskedGlobalMaxPooling1D`. Export passes a built-in equivalent.
        encoder_weights: as in `RNNHyperModel`.

    Training and export build the network with this one function, so their layers (and
    so their weights) come in the same order.
    """
    masked_max = masked_max or (lambda seq: MaskedGlobalMaxPooling1D()(seq))
    entry = CELLS.get(v["cell"])
    if entry.kind == "network":
        x = entry.resolve()(v, tokens)
        return keras.layers.Dropout(v["dropout"])(x) if v["dropout"] > 0 else x
    # Asked first: pretraining a language model may take a while, and it reseeds.
    pretrained = encoder_weights(v) if v.get("embedding_init") == "lm" and encoder_weights else None
    embedding = keras.layers.Embedding(v["vocab_size"], v["embedding_dim"], mask_zero=True)
    x = embedding(tokens)
    if pretrained:
        _start_from(embedding, pretrained[0])
    if v.get("embedding_init", "random") == "word2vec":
        if word_vectors is None:
            raise ValueError("embedding_init 'word2vec' needs the word_vectors argument")
        embedding.set_weights([word_vectors(v["vocab_size"], v["embedding_dim"])])
    if v.get("embedding_dropout", 0.0) > 0:
        # Drops whole embedding channels for the review (not single numbers): the
        # embedding table holds most of the weights and is what overfits first.
        x = keras.layers.SpatialDropout1D(v["embedding_dropout"])(x)
    pooling = v.get("pooling", "last")
    for i in range(v["num_layers"]):
        last = i == v["num_layers"] - 1
        layer = cell_layer(entry, v, return_sequences=not last or pooling != "last")
        if v["bidirectional"]:
            wrapper = keras.layers.Bidirectional(layer)
            x = wrapper(x)
            layer = wrapper.forward_layer  # the LM's direction; the backward one starts random
        else:
            x = layer(x)
        if pretrained and i + 1 < len(pretrained):
            _start_from(layer, pretrained[i + 1])
    # Keras' average pooling already leaves masked (padding) steps out; its max does not.
    if pooling == "max":
        x = masked_max(x)
    elif pooling == "mean":
        x = keras.layers.GlobalAveragePooling1D()(x)
    elif pooling == "max_mean":
        # The strongest cue and the overall tone of the review, side by side.
        x = keras.layers.Concatenate()([masked_max(x), keras.layers.GlobalAveragePooling1D()(x)])
    if v["dropout"] > 0:
        x = keras.layers.Dropout(v["dropout"])(x)
    return x


def _start_from(layer: keras.layers.Layer, weights: list[np.ndarray]) -> None:
    """A layer's start from the language model's, where the shapes match (not the second layer of
    a bidirectional stack, which reads both directions: it keeps its random start)."""
    if [tuple(w.shape) for w in layer.weights] == [tuple(w.shape) for w in weights]:
        layer.set_weights(weights)


def cell_layer(entry, v: dict, return_sequences: bool) -> keras.layers.Layer:
    """One layer of the registered cell `entry`: a Keras RNN class or a user's function."""
    if entry.kind == "rnn":
        return entry.resolve()(v["hidden_units"], return_sequences=return_sequences)
    layer = entry.resolve()(v, return_sequences)
    if not isinstance(layer, keras.layers.Layer):
        raise TypeError(f"cell {entry.name!r} ({entry.where}) returned {type(layer).__name__}, "
                        "not a Keras layer")
    if v["bidirectional"] and not isinstance(layer, keras.layers.RNN):
        raise ValueError(f"cell {entry.name!r}: bidirectional needs a Keras RNN layer, and "
                         f"{entry.where} returned {type(layer).__name__}; set bidirectional: false")
    return layer


def foreign_layers(model: keras.Model) -> list[str]:
    """The classes of `model`'s layers that are not Keras built-ins (a registered cell's own),
    which a saved model.keras could not load without the user's code. Our masked max pooling
    does not count: export replaces it with built-ins."""
    return sorted({f"{type(layer).__module__}.{type(layer).__name__}"
                   for layer in model._flatten_layers(include_self=False)
                   if not type(layer).__module__.startswith("keras.")
                   and not isinstance(layer, MaskedGlobalMaxPooling1D)})


@keras.saving.register_keras_serializable(package="sweep")
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """Max over time of the unmasked steps (Keras' GlobalMaxPooling1D ignores the mask).

    Padding steps would otherwise take part in the max: their outputs are the RNN's
    carried-over state, so the result would depend on how much padding the batch had.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            keep = keras.ops.expand_dims(keras.ops.cast(mask, "bool"), -1)
            inputs = keras.ops.where(keep, inputs, keras.ops.full_like(inputs, float("-inf")))
        return keras.ops.max(inputs, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


def _declare(hp: kt.HyperParameters, name: str, spec: HyperParameter):
    if isinstance(spec, Fixed):
        return hp.Fixed(name, spec.value)
    if isinstance(spec, Choice):
        return hp.Choice(name, list(spec.values), ordered=_ordered(spec.values))
    if isinstance(spec, Range):
        if spec.is_int:
            return hp.Int(name, spec.min, spec.max, step=spec.step, sampling=spec.sampling)
        return hp.Float(name, spec.min, spec.max, step=spec.step, sampling=spec.sampling)
    raise TypeError(f"unknown hyperparameter spec {spec!r}")


def _ordered(values: tuple) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
