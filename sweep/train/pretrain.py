"""The language models behind `embedding_init: lm`: trained once, cached for every run, resumable.

    a trial's (cell, vocab_size, embedding_dim, hidden_units, num_layers)
    + the vocabulary + the LM's text (training part + unlabeled text, as token ids)
    + `pretrain:` but its epochs -> a key -> LMCache (`$RNN_SWEEP_CACHE/lm/`, default
       `~/.cache/rnn-sweep/lm/`):
       NAME.npz            the LM's newest state (every weight and Adam's), after E epochs
       NAME/epoch-K.npz    its encoder's weights after each epoch K <= E
    -> a trial asking for `pretrain.epochs` K:
       epoch-K found, its manifest matching: its weights, no training
       else the newest state, trained on from epoch E + 1 to K (a killed pretraining
       resumes; an LM of 2 epochs grows to 4 without training the first 2 again)
    -> the embedding's and the cells' weights, the start of the trial's encoder
    -> RUN/pretrain.csv: the LM's epochs (loss, held-out perplexity, seconds), for report.html

Epochs are not part of the key: Adam's learning rate is a function of the epoch alone
(`pretrain.learning_rate * lr_decay**(K - 1)`, constant by default), its state is saved and
each epoch shuffles by its own seed, so K epochs in two sittings are trained as K in one
would be (not bit for bit: the sampled softmax's draws are not replayed).
The LM never reads validation or test text. Its text is one stream of token ids, texts
separated by id 0 (padding to the classifier, so masked there), cut into windows of
`pretrain.sequence_length`; a few windows are held out for the perplexity.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sweep.errors import DataError
from sweep.progress.events import Say, duration
from sweep.rundir import LMCache, RunDir, read_csv, writes
from sweep.space.config import PretrainConfig

if TYPE_CHECKING:
    from sweep.data.pipeline import SweepData

FORMAT = 2  # the manifest's layout; another one is trained again
FINE_TUNING = ("freeze_epochs", "unfreeze")  # pretrain keys on how trials fine-tune, not the LM
HELD_OUT = 64  # windows scored for the perplexity (exact, over the whole vocabulary)
SAY_EVERY = 30.0  # seconds between progress lines within an epoch
COLUMNS = ["lm", "epoch", "loss", "perplexity", "seconds", "tokens"]


class Pretrainer:
    """Gives trials the language model of their encoder, training it when no run has yet.

    Args:
        cfg: the space's `pretrain:` section.
        data: the run's data (its token ids and vocabulary).
        say: where progress lines go.
        cache: the shared folder; default `LMCache()` (`$RNN_SWEEP_CACHE/lm/`).
        record: whether the LM's epochs go into the run's pretrain.csv: the sweep's and
            `sweep confirm`'s record; an export reads the LM and leaves the run as it is.
    """

    def __init__(self, cfg: PretrainConfig, data: SweepData, say: Say = lambda line: None,
                 cache: LMCache | None = None, record: bool = True):
        self.cfg, self.data, self.say, self.record = cfg, data, say, record
        self.cache = cache or LMCache()
        self._ready: dict[tuple[str, int], list[list[np.ndarray]]] = {}  # by (LM, epochs)
        self._streams: dict[int, tuple[np.ndarray, str]] = {}  # by vocab_size: the stream, its digest

    def encoder_weights(self, values: dict) -> list[list[np.ndarray]]:
        """The LM's weights per layer (embedding, then each cell) for the trial's `values`.

        The global random state is drawn from before and set after, so the trial's own
        starting weights are the same whether the LM was trained now or read from the cache.
        """
        import keras

        reseed = int(np.random.randint(2**31 - 1))
        try:
            return self._weights(values)
        finally:
            keras.utils.set_random_seed(reseed)

    def _weights(self, values: dict) -> list[list[np.ndarray]]:
        identity, stream = self._identity(values)
        name = "{cell}-v{vocab_size}-e{embedding_dim}-h{hidden_units}-n{num_layers}-".format(**values) + \
            hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
        epochs = self.cfg.epochs
        if (name, epochs) in self._ready:
            return self._ready[name, epochs]
        snapshot = self.cache.snapshot(name, epochs)
        saved = self._read(snapshot, name, identity)
        if saved is not None:
            manifest, arrays = saved
            self.say(f"Language model {name}: from the cache {snapshot} (held-out perplexity "
                     f"{manifest['history'][-1]['perplexity']:.1f} after {epochs} epochs)")
            self._record(name, manifest["history"][:epochs])
        else:  # each epoch recorded as it ends
            manifest, arrays = self._train(name, identity, values, stream)
        weights, start = [], 0
        for count in manifest["encoder_layers"]:
            weights.append(arrays[start:start + count])
            start += count
        self._ready[name, epochs] = weights
        return weights

    # --- What an LM is ----------------------------------------------------------------

    def _identity(self, values: dict) -> tuple[dict, np.ndarray]:
        """What the LM depends on (its key, the manifest checked on load), and its token stream."""
        vocab_size = int(values["vocab_size"])
        if vocab_size not in self._streams:
            enc = self.data.encoded(vocab_size)
            parts = ("train", "unlabeled") if "unlabeled_ids" in enc.arrays else ("train",)
            stream = _stream([enc.ids(p) for p in parts])
            self._streams[vocab_size] = stream, _digest(stream.tobytes())
        stream, text = self._streams[vocab_size]
        vocab = self.data.vocabulary(vocab_size)
        identity = {
            "format": FORMAT,
            **{k: values[k] for k in ("cell", "vocab_size", "embedding_dim", "hidden_units", "num_layers")},
            "vocabulary": _digest(json.dumps([vocab.tokens, vocab.standardize, vocab.split]).encode()),
            "text": text,
            # epochs: how long it has trained (its files say), not which LM it is;
            # FINE_TUNING: how trials fine-tune
            # lr_decay: left out when constant (1.0), so LMs cached before it existed stay theirs
            "pretrain": {k: v for k, v in asdict(self.cfg).items() if k not in ("epochs", *FINE_TUNING)
                         and not (k == "lr_decay" and v == 1.0)},
        }
        return identity, stream

    def _read(self, path: Path, name: str, identity: dict) -> tuple[dict, list[np.ndarray]] | None:
        """The manifest and arrays saved at `path` for the LM `name`, or None when there is
        no file, it is damaged, or its manifest says it is another LM (it is trained again)."""
        if not path.exists():
            return None
        try:
            with np.load(path) as f:
                manifest = json.loads(str(f["manifest"]))
                arrays = [f[f"arr_{i}"] for i in range(manifest["arrays"])]
        except Exception as e:  # cut short, not ours: trained again, saved over it
            self.say(f"Language model {name}: {path} cannot be read ({type(e).__name__}); trained again")
            return None
        if manifest.get("identity") != identity:
            self.say(f"Language model {name}: {path} was made from other text, vocabulary or settings; "
                     "trained again")
            return None
        return manifest, arrays

    # --- Training ---------------------------------------------------------------------

    def _train(self, name: str, identity: dict, values: dict,
               stream: np.ndarray) -> tuple[dict, list[np.ndarray]]:
        """Trains the LM to `pretrain.epochs`, from its newest saved state when that is
        earlier, else from the start; saves each epoch (a snapshot, then the state)."""
        import keras

        from sweep.model.lm import LanguageModel

        p = self.cfg
        seed = int(identity["text"][:8], 16) % (2**31 - 1)  # the LM's own, whatever the sweep's
        keras.utils.set_random_seed(seed)
        lm = LanguageModel(values, p.sampled, p.learning_rate)
        train, held_out = _windows(stream, p.sequence_length, seed)
        manifest: dict[str, Any] = {"identity": identity, "history": [], "resumed_at": [],
                    "encoder_layers": [len(layer.weights) for layer in lm.encoder.layers if layer.weights]}
        state = self.cache.weights(name)
        saved = self._read(state, name, identity)
        newest = len(saved[0]["history"]) if saved else 0  # epochs the saved state has trained
        if saved is not None and newest < p.epochs and lm.load_state(saved[1]):
            manifest = saved[0]
            manifest["resumed_at"].append(newest + 1)
            self.say(f"Language model {name}: resuming at epoch {newest + 1} of {p.epochs} from {state}")
        else:
            if newest >= p.epochs:  # trained past p.epochs, but epoch p.epochs' file is gone
                self.say(f"Language model {name}: {self.cache.snapshot(name, p.epochs)} is missing; "
                         f"trained again from epoch 1 (the newer {state} is kept)")
            self.say(f"Pretraining the language model {name}: {len(stream):,} tokens "
                     f"({len(train):,} windows of {p.sequence_length}), {p.epochs} epoch(s), "
                     f"{'sampled softmax of ' + str(lm.sampled) if lm.sampled else 'full softmax'}, "
                     f"learning rate {p.learning_rate:g}"
                     f"{f' x {p.lr_decay:g} an epoch' if p.lr_decay != 1 else ''}; "
                     f"cached in {state}")
        for epoch in range(len(manifest["history"]) + 1, p.epochs + 1):
            keras.utils.set_random_seed(seed + epoch)  # a resumed epoch is drawn as the first try's
            lm.set_learning_rate(p.learning_rate * p.lr_decay ** (epoch - 1))  # a resumed epoch: the same
            start = time.perf_counter()
            loss = lm.train_epoch(train, p.batch_size, seed + epoch,
                                  self._progress(name, epoch, start))
            perplexity = lm.perplexity(held_out)
            seconds = time.perf_counter() - start
            manifest["history"].append({"epoch": epoch, "loss": round(loss, 4),
                                        "perplexity": round(perplexity, 2), "seconds": round(seconds, 1),
                                        "tokens": int(train[:, 1:].size)})
            # The snapshot first: a kill between the two redoes this epoch, the same way.
            encoder = [w for layer in lm.encoder_weights() for w in layer]
            self._save(self.cache.snapshot(name, epoch), manifest, encoder)
            if epoch > newest:  # never back over a state that has trained further
                self._save(state, manifest, lm.state(with_optimizer=True))
                writes.save_cached(self.cache, self.cache.manifest(name),
                                   writes.text(json.dumps(manifest, indent=2)))
            self.say(f"Language model {name}: epoch {epoch}/{p.epochs}, held-out perplexity "
                     f"{perplexity:.1f}, loss {loss:.3f}, {duration(seconds)}")
            self._record(name, manifest["history"])
        return manifest, lm.state(with_optimizer=False)

    def _progress(self, name: str, epoch: int, start: float):
        """A line every SAY_EVERY seconds: where the epoch is and the time left."""
        last = {"said": start}

        def on_batch(batch: int, batches: int, loss: float) -> None:
            now = time.perf_counter()
            if now - last["said"] < SAY_EVERY:
                return
            last["said"] = now
            per_batch = (now - start) / batch
            left = per_batch * (batches - batch) + per_batch * batches * (self.cfg.epochs - epoch)
            self.say(f"Language model {name}: epoch {epoch}/{self.cfg.epochs}, batch {batch:,}/"
                     f"{batches:,}, loss {loss:.3f}, about {duration(left)} left")

        return on_batch

    def _save(self, path: Path, manifest: dict, arrays: list[np.ndarray]) -> None:
        text = json.dumps({**manifest, "arrays": len(arrays), "saved_at": time.time()})
        writes.save_cached(self.cache, path, lambda tmp: np.savez(tmp, *arrays, manifest=np.array(text)))

    def _record(self, name: str, history: list[dict]) -> None:
        """RUN/pretrain.csv: this LM's epochs, beside those of the run's other LMs."""
        run: RunDir | None = self.data.run
        if run is None or not self.record:
            return
        import pandas as pd

        old = read_csv(run.pretrain_csv)
        rows = pd.DataFrame([{"lm": name, **row} for row in history], columns=COLUMNS)
        if old is not None and "lm" in old:
            rows = pd.concat([old[old.lm != name], rows], ignore_index=True)
        writes.write_run_text(run, run.pretrain_csv, rows.to_csv(index=False))


def _stream(rows: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Every text's ids, one after the other, each followed by 0 (the end of a text)."""
    pieces = []
    for ids, lengths in rows:
        ends = np.cumsum(lengths)
        pieces.append(np.insert(ids.astype(np.int32), ends, 0))
    return np.concatenate(pieces) if pieces else np.zeros(0, np.int32)


def _windows(stream: np.ndarray, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training windows, held-out windows), each `length` + 1 tokens (inputs and next tokens)."""
    n = (len(stream) - 1) // length
    if n < 2:
        raise DataError(f"pretrain: {len(stream)} tokens of text are too few for windows of "
                        f"{length} (pretrain.sequence_length); lower it or give more text")
    index = np.arange(n)[:, None] * length + np.arange(length + 1)[None, :]
    windows = stream[index]
    held = np.random.default_rng(seed).permutation(n)[: min(HELD_OUT, max(1, n // 20))]
    keep = np.ones(n, bool)
    keep[held] = False
    return windows[keep], windows[np.sort(held)]


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]
