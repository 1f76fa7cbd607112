"""A recurrent language model over the classifier's encoder: the pretraining behind `embedding_init: lm`.

    token ids -> Embedding(vocab_size, embedding_dim) -> num_layers x the trial's cell
    (one direction, every step) -> next-token logits: a (vocab_size, units) output matrix

The embedding and the cells are made as `hypermodel.features` makes them (`hypermodel.cell_layer`),
so their weights have the classifier's shapes and copy across (`encoder_weights`). It trains
on windows of one token stream with a sampled softmax (TensorFlow's `sampled_softmax_loss`,
whose log-uniform sampler suits ids ranked by frequency, as TextVectorization ranks them),
or the full softmax on a small vocabulary, and is scored by exact perplexity over the whole
vocabulary. Keras and TensorFlow only: `sweep.train.pretrain` feeds it windows and keeps
its files.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np

from sweep.model.hypermodel import cell_layer
from sweep.space.registry import CELLS

CLIPNORM = 1.0  # Adam's gradient clipping: a recurrent LM's gradients spike now and then


class LanguageModel:
    """One LM for the encoder hyperparameters in `values` (cell, vocab_size, embedding_dim,
    hidden_units, num_layers).

    Args:
        values: the trial's hyperparameter values (`RNNHyperModel.declare`).
        sampled: classes sampled per step for the softmax; 0, or as many as the vocabulary
            less one, uses the full softmax.
        learning_rate: Adam's.
    """

    def __init__(self, values: dict, sampled: int, learning_rate: float):
        import tensorflow as tf

        self.vocab_size = int(values["vocab_size"])
        tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
        # No mask: a window of the stream has no padding (id 0 separates texts, and is learnt).
        x = keras.layers.Embedding(self.vocab_size, values["embedding_dim"], name="lm_embedding")(tokens)
        entry = CELLS.get(values["cell"])
        for _ in range(values["num_layers"]):
            x = cell_layer(entry, values, return_sequences=True)(x)
        self.encoder = keras.Model(tokens, x, name="lm_encoder")
        self.units = int(x.shape[-1])
        self.output_kernel = keras.Variable(keras.initializers.GlorotUniform()((self.vocab_size, self.units)),
                                            name="lm_output_kernel")
        self.output_bias = keras.Variable(np.zeros(self.vocab_size, "float32"), name="lm_output_bias")
        self.optimizer = keras.optimizers.Adam(learning_rate, clipnorm=CLIPNORM)
        self.trainable = [*self.encoder.trainable_weights, self.output_kernel, self.output_bias]
        self.optimizer.build(self.trainable)
        self.sampled = sampled if 0 < sampled < self.vocab_size - 1 else 0
        spec = tf.TensorSpec([None, None], tf.int32)
        self._step = tf.function(self._train_step, input_signature=[spec, spec], reduce_retracing=True)
        self._nll = tf.function(self._sum_nll, input_signature=[spec, spec], reduce_retracing=True)

    # --- Steps ------------------------------------------------------------------------

    def _hidden(self, x, training: bool):
        import tensorflow as tf

        # float32 whatever the precision policy: the softmax's weights are float32.
        return tf.cast(tf.reshape(self.encoder(x, training=training), [-1, self.units]), tf.float32)

    def _logits(self, h):
        import tensorflow as tf

        return tf.matmul(h, self.output_kernel, transpose_b=True) + self.output_bias

    def _train_step(self, x, y):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            h = self._hidden(x, training=True)
            labels = tf.reshape(tf.cast(y, tf.int64), [-1, 1])
            if self.sampled:
                losses = tf.nn.sampled_softmax_loss(self.output_kernel, self.output_bias, labels, h,
                                                    self.sampled, self.vocab_size)
            else:
                losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels[:, 0], self._logits(h))
            loss = tf.reduce_mean(losses)
        grads = tape.gradient(loss, self.trainable)
        self.optimizer.apply_gradients(zip(grads, self.trainable, strict=True))
        return loss

    def _sum_nll(self, x, y):
        import tensorflow as tf

        logits = self._logits(self._hidden(x, training=False))
        labels = tf.reshape(tf.cast(y, tf.int64), [-1])
        return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))

    # --- Epochs -----------------------------------------------------------------------

    def set_learning_rate(self, rate: float) -> None:
        """Adam's rate from the next step on (a pretraining's schedule sets it each epoch)."""
        self.optimizer.learning_rate = rate

    @property
    def learning_rate(self) -> float:
        return float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))

    def train_epoch(self, windows: np.ndarray, batch_size: int, seed: int,
                    on_batch: Callable[[int, int, float], None] | None = None) -> float:
        """One pass over `windows` ((n, length + 1) token ids: inputs and their next tokens),
        shuffled by `seed`; returns the mean training loss (sampled, so above the true one)."""
        order = np.random.default_rng(seed).permutation(len(windows))
        batches = math.ceil(len(order) / batch_size)
        total = 0.0
        for b in range(batches):
            w = windows[order[b * batch_size:(b + 1) * batch_size]]
            loss = float(self._step(w[:, :-1], w[:, 1:]))
            if not math.isfinite(loss):
                raise FloatingPointError(f"the language model's loss became {loss} at batch {b + 1}")
            total += loss
            if on_batch is not None:
                on_batch(b + 1, batches, total / (b + 1))
        return total / max(batches, 1)

    def perplexity(self, windows: np.ndarray, batch_size: int = 32) -> float:
        """exp(mean negative log-likelihood) of every next token in `windows`, full softmax."""
        nll = sum(float(self._nll(w[:, :-1], w[:, 1:]))
                  for w in (windows[i:i + batch_size] for i in range(0, len(windows), batch_size)))
        return math.exp(nll / max(windows[:, 1:].size, 1))

    # --- State ------------------------------------------------------------------------

    def state(self, with_optimizer: bool) -> list[np.ndarray]:
        """Every weight (and Adam's state, to resume), in a fixed order."""
        weights = [*self.encoder.weights, self.output_kernel, self.output_bias]
        if with_optimizer:
            weights += list(self.optimizer.variables)
        return [np.asarray(keras.ops.convert_to_numpy(w)) for w in weights]

    def load_state(self, arrays: list[np.ndarray]) -> bool:
        """Sets `state`'s arrays back; returns whether Adam's state was among them.

        Raises:
            ValueError: the arrays are not this model's (count or shapes).
        """
        weights = [*self.encoder.weights, self.output_kernel, self.output_bias]
        with_optimizer = len(arrays) == len(weights) + len(self.optimizer.variables)
        if with_optimizer:
            weights += list(self.optimizer.variables)
        if len(arrays) != len(weights) or any(tuple(a.shape) != tuple(w.shape)
                                              for a, w in zip(arrays, weights, strict=True)):
            raise ValueError("the saved weights are not this language model's")
        for a, w in zip(arrays, weights, strict=True):
            w.assign(a)
        return with_optimizer

    def encoder_weights(self) -> list[list[np.ndarray]]:
        """Per layer (the embedding, then each cell): its weights, for `RNNHyperModel`."""
        return [[np.asarray(keras.ops.convert_to_numpy(w)) for w in layer.weights]
                for layer in self.encoder.layers if layer.weights]
