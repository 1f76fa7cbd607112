"""A completed trial -> a model that reads raw text, with its card.

    trial.json + checkpoint (token ids in, logits out) + the saved vocabulary
    -> [--refit: the same hyperparameters retrained on train + validation]
    -> model.keras: strings -> TextVectorization -> network -> probabilities, Keras
       built-ins only, so `keras.saving.load_model` needs no import of this project
    -> saved_model/ (TensorFlow SavedModel, `serve`: strings -> probabilities)
    -> classes.json, model_card.md, model_card.json

The network is rebuilt from the hyperparameters with `hypermodel.features`, as in training,
and the trained weights copied over in layer order. Two things change on the way out:
the masked max pooling becomes built-in layers (a fixed 0/1 "is a token" embedding and a
-1e9 penalty on padding, then Keras' GlobalMaxPooling1D: the same maximum), and the
logit head becomes a softmax over one column per class (for two classes the logit z
becomes the logits [0, z], whose softmax is [1 - sigmoid(z), sigmoid(z)]).
"""

from __future__ import annotations

import datetime
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sweep import __version__, metrics, rundir
from sweep.analysis.record import RunRecord
from sweep.errors import DamagedRun, RunFailed, RunInUse, UsageError
from sweep.metrics import TrialStatus
from sweep.rundir import ExportDir, RunDir, owned, read_json, writes
from sweep.space.config import LEGACY_STANDARDIZATION, SweepConfig

PADDING_PENALTY = 1e9  # exact in float32, and far below any RNN output (|h| <= 1)


@dataclass
class Exported:
    """What `export` wrote."""

    folder: ExportDir
    card: dict
    notes: list[str]


def choose_trial(run: RunDir | RunRecord, trial_id: str | None = None) -> pd.Series:
    """The trials.csv row of `trial_id`, or of the best completed trial (`RunRecord.best`).

    Raises:
        UsageError: an unknown id, a trial that did not complete, or no completed trial.
    """
    record = run if isinstance(run, RunRecord) else RunRecord.read(run)
    trials = record.trials
    if trial_id is not None:
        row = record.trial(trial_id)
        if row is None:
            known = ", ".join(trials.trial_id.astype(str).head(20))
            raise UsageError(f"--trial: no trial {trial_id!r} in {record.run} (it has {known or 'none'})")
        if row.status != TrialStatus.COMPLETED:
            raise UsageError(f"--trial: trial {trial_id} is {row.status}, not COMPLETED; "
                             "only a completed trial is a model")
        return row
    best = record.best()
    if best is None:
        raise UsageError(f"{record.run}: no completed trial to export")
    return best


def export(run: RunDir | RunRecord, trial_id: str | None = None, refit: bool = False,
           out: Path | None = None, say=print) -> Exported:
    """Writes the export folder of one completed trial (see the module docstring).

    Args:
        run: the run folder, or as read (`RunRecord`).
        trial_id: the trial; default the best completed one.
        refit: retrain its hyperparameters on train + validation for its best number of
            epochs (seeded) and export that model; the card shows both test figures.
        out: the export folder (default `RUN/export/trial_<id>[_refit]`), replaced whole.
        say: progress lines.

    Raises:
        UsageError: no such completed trial; the data is gone when it is needed (a refit,
            or a run made before vocabularies were saved).
    """
    record = run if isinstance(run, RunRecord) else RunRecord.read(run)
    run, cfg = record.run, record.config
    notes: list[str] = []
    running = _live_sweep(record)
    if running and trial_id is None:
        raise RunInUse(f"{run}: the sweep is still running ({running}), so its best trial may "
                       "change; export when it ends, or name a trial with --trial ID")
    if running:
        notes.append(f"the sweep in {run} is still running ({running}); trial {trial_id} is "
                     "exported as it is now")
    row = choose_trial(record, trial_id)
    tid = str(row.trial_id)
    checkpoint = RunDir.checkpoint(run.trial_dir(tid))
    if not checkpoint.is_file():
        raise DamagedRun(f"{checkpoint}: missing; trial {tid} has no weights to export")
    folder = ExportDir(out or run.export_dir(tid, refit))
    # Checked and made before any work: a folder sweep did not make is never replaced.
    with owned.Replacement(folder.path, "export", run=str(run.path.resolve()), trial_id=tid,
                           refit=refit) as tmp:
        card = _export(run, cfg, row, refit, ExportDir(tmp), notes, say)
    return Exported(folder, card, notes)


def _live_sweep(record: RunRecord) -> str | None:
    """'pid N on HOST' when a live sweep is running in the run, else None."""
    if record.state != "running":
        return None
    status = read_json(record.run.status) or {}
    return f"pid {status.get('pid')} on {status.get('host')}"


def _export(run: RunDir, cfg: SweepConfig, row: pd.Series, refit: bool, tmp: ExportDir,
            notes: list[str], say) -> dict:
    """Writes the export of trial `row` into `tmp`; returns its card."""
    import keras_tuner as kt

    from sweep.model.hypermodel import RNNHyperModel, foreign_layers
    from sweep.train import runtime

    tid = str(row.trial_id)
    trial_dir = run.trial_dir(tid)
    hp = kt.HyperParameters.from_config(read_json(RunDir.trial_json(trial_dir))["hyperparameters"])
    names = rundir.class_names(run) or ["0", "1"]
    vocab_size = int(hp.get("vocab_size"))
    runtime.configure_runtime(runtime.trial_seed(cfg.tuner.seed, tid), mixed_precision=False)

    data, vocab = _vocabulary(cfg, run, vocab_size)
    hypermodel = RNNHyperModel(cfg.hyperparameters, len(names),
                               word_vectors=lambda v, d: np.zeros((v, d), "float32"),
                               metrics=metrics.compiled(cfg.tuner.objective))
    trained = hypermodel.build(hp)
    if foreign := foreign_layers(trained):  # a registered cell of the user's own layers
        raise UsageError(f"cannot export trial {tid}: its cell {hp.get('cell')!r} has layers that are not "
                         f"Keras built-ins ({', '.join(foreign)}), which model.keras cannot hold")
    try:
        trained.load_weights(RunDir.checkpoint(trial_dir))
    except Exception as e:  # cut short, or not the weights of this network
        raise DamagedRun(f"{RunDir.checkpoint(trial_dir)}: cannot be read as trial {tid}'s weights "
                         f"({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None

    test = read_json(run.test_json)
    checkpoint_test: dict[str, Any] = {}
    if isinstance(test, dict) and str(test.get("trial_id")) == tid:
        checkpoint_test = {k: test[k] for k in ("test_accuracy", "test_loss", "test_examples") if k in test}
    refit_info: dict[str, Any] | None = None
    if refit or not checkpoint_test:
        if data is None:
            data = _data(cfg, run)
        from sweep.train.evaluation import score_on_test

        if not checkpoint_test:
            # Not the sweep's pick, so test.json does not hold it: scored now, and said so.
            checkpoint_test = {**score_on_test(trained, data, vocab_size), "evaluated_at_export": True}
        if refit:
            trained, refit_info = _refit(hypermodel, hp, cfg, data, row, tid, say)
            refit_info.update(score_on_test(trained, data, vocab_size))

    model = raw_text_model(trained, hypermodel.declare(hp), vocab, len(names))
    card = _card(cfg, run, row, hp.values, vocab, names, checkpoint_test, refit_info)
    _write(tmp, model, names, card, notes)
    return card


def _vocabulary(cfg: SweepConfig, run: RunDir, vocab_size: int):
    """(data or None, Vocabulary): read from the run folder, else made from the data source."""
    from sweep.data.pipeline import Vocabulary

    for path in run.vocabularies(vocab_size, cfg.data.max_length):
        vocab = Vocabulary.read(path, cfg.data.standardize, cfg.data.max_length)
        if vocab is not None:
            return None, vocab
    why = ("this run saved no vocabulary (made before 0.2)" if run.cache.is_dir() else
           f"its {run.cache.name}/ folder, which holds the vocabulary, was deleted")
    data = _data(cfg, run, why=why)
    return data, data.vocabulary(vocab_size)


def _data(cfg: SweepConfig, run: RunDir, why: str = "a refit and a test score need it"):
    from sweep.data.pipeline import SweepData

    try:
        return SweepData(cfg.data, cfg.tuner.seed, run)
    except UsageError as e:
        raise type(e)(f"cannot export from {run}: {why}, and its data is not there ({e})") from None


def _refit(hypermodel, hp, cfg: SweepConfig, data, row: pd.Series, tid: str, say):
    """The trial's hyperparameters trained again on train + validation, seeded."""
    import keras

    from sweep.model import training
    from sweep.train.runtime import trial_seed

    epochs = int(row.best_epoch) if pd.notna(row.best_epoch) else cfg.tuner.epochs
    seed = trial_seed(cfg.tuner.seed, tid)
    keras.utils.set_random_seed(seed)
    hypermodel.word_vectors = data.word_vectors
    from sweep.train.pretrain import Pretrainer  # embedding_init: lm starts from the same LM

    # The run's pretrain.csv is its sweep's record: an export writes nothing of the run.
    hypermodel.encoder_weights = Pretrainer(cfg.pretrain, data, say, record=False).encoder_weights
    hypermodel.freeze_epochs, hypermodel.unfreeze = cfg.pretrain.freeze_epochs, cfg.pretrain.unfreeze
    model = hypermodel.build(hp)
    vocab_size = int(hp.get("vocab_size"))
    train = data.dataset(vocab_size, "train+val", shuffle_seed=seed)
    examples = len(data.encoded(vocab_size).labels("train+val"))
    say(f"Refitting trial {tid} on train + validation ({examples:,} examples) for {epochs} epochs")
    start = time.perf_counter()
    # The trial's callbacks but early stopping: there is no validation data left to watch.
    callbacks = training.callbacks(cfg.tuner.objective, cfg.tuner.early_stopping_patience,
                                   early_stopping=False)
    try:
        history = hypermodel.fit(hp, model, train, epochs=epochs, verbose=0, callbacks=callbacks)
    except training.Diverged as e:
        history = e.history
    losses = history.history.get("loss", [])
    if len(losses) < epochs or training.divergence(losses):
        raise RunFailed(f"the refit of trial {tid} diverged (loss {losses[-1] if losses else None} "
                        f"at epoch {len(losses)}); nothing exported")
    return model, {"epochs": epochs, "seed": seed, "train_examples": examples,
                   "seconds": round(time.perf_counter() - start, 1)}


def raw_text_model(trained, values: dict, vocab, num_classes: int):
    """Strings in, probabilities out, from a trained token-id model (see the module docstring)."""
    import keras

    from sweep.data.pipeline import text_vectorization
    from sweep.model.hypermodel import features

    tokens = keras.Input(shape=(None,), dtype="int64", name="tokens")

    def masked_max(seq):
        is_token = keras.layers.Embedding(values["vocab_size"], 1, trainable=False,
                                          name="padding_is_token")(tokens)
        penalty = keras.layers.Dense(seq.shape[-1], trainable=False, name="padding_penalty")(is_token)
        return keras.layers.GlobalMaxPooling1D()(keras.layers.Add()([seq, penalty]))

    x = features({**values, "embedding_init": "random"}, tokens, masked_max=masked_max)
    probabilities = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    network = keras.Model(tokens, probabilities, name="network")

    source = [layer for layer in trained.layers if layer.weights]
    target = [layer for layer in network.layers
              if layer.weights and not layer.name.startswith("padding_")]
    assert len(source) == len(target), "the network was rebuilt with other layers"
    for src, dst in zip(source[:-1], target[:-1], strict=True):
        dst.set_weights(src.get_weights())
    kernel, bias = source[-1].get_weights()
    if kernel.shape[1] == 1:  # one logit z -> logits [0, z]
        kernel = np.concatenate([np.zeros_like(kernel), kernel], axis=1)
        bias = np.concatenate([np.zeros_like(bias), bias])
    target[-1].set_weights([kernel, bias])
    if "padding_is_token" in [layer.name for layer in network.layers]:
        is_token = np.ones((values["vocab_size"], 1), "float32")
        is_token[0] = 0.0
        network.get_layer("padding_is_token").set_weights([is_token])
        penalty = network.get_layer("padding_penalty")
        units = penalty.weights[0].shape[1]
        penalty.set_weights([np.full((1, units), PADDING_PENALTY, "float32"),
                             np.full((units,), -PADDING_PENALTY, "float32")])

    text = keras.Input(shape=(), dtype="string", name="text")
    vectorizer = text_vectorization(vocab.standardize, vocabulary=vocab.tokens,
                                    output_sequence_length=vocab.max_length, name="vectorizer")
    ids = _empty_as_unknown(vectorizer(text), values["vocab_size"], vocab.max_length)
    return keras.Model(text, network(ids), name="raw_text_classifier")


def _empty_as_unknown(ids, vocab_size: int, length: int):
    """A text with no tokens -> one out-of-vocabulary token, as in training (all padding
    would leave the pooling nothing to pool). Right-padded, so the first id is 0 only then."""
    import keras

    is_padding = keras.layers.Embedding(vocab_size, 1, trainable=False, name="padding_is_padding",
                                        embeddings_initializer="zeros")
    first = keras.layers.Cropping1D((0, length - 1))(is_padding(ids))
    first = keras.layers.Reshape((length,))(keras.layers.ZeroPadding1D((0, length - 1))(first))
    ids = keras.layers.Add(name="empty_as_unknown")([ids, first])
    is_padding.set_weights([np.eye(vocab_size, 1, dtype="float32")])  # 1 for id 0 (padding) only
    return ids


def _card(cfg: SweepConfig, run: RunDir, row: pd.Series, values: dict, vocab, names: list[str],
          checkpoint_test: dict, refit: dict | None) -> dict:
    objective = cfg.tuner.objective
    by_length = []
    lengths = rundir.read_csv(run.length_accuracy_csv, dtype={"trial_id": str})
    if lengths is not None:
        by_length = lengths[lengths.trial_id == str(row.trial_id)].drop(
            columns=["cell", "bidirectional", "trial_id"]).to_dict("records")

    def number(v):
        return None if pd.isna(v) else float(v)

    return {
        "harness": f"rnn-sweep {__version__}",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "run": str(run.path.resolve()),
        "trial_id": str(row.trial_id),
        "data": {"source": cfg.data.source, "classes": names, "standardize": vocab.standardize,
                 "split": vocab.split, "max_length": vocab.max_length,
                 "vocabulary": len(vocab.tokens), "validation_split": cfg.data.validation_split},
        "hyperparameters": {k: (v.item() if hasattr(v, "item") else v) for k, v in values.items()},
        "selected_epoch": None if pd.isna(row.best_epoch) else int(row.best_epoch),
        "objective": objective,
        "validation": {m: number(row[m]) for m in (objective, "val_accuracy", "val_loss") if m in row},
        "checkpoint": {"test": checkpoint_test, "training_seconds": number(row.get("seconds"))},
        "refit": refit,
        "exported": "refit" if refit else "checkpoint",
        "accuracy_by_length": by_length,
    }


def _write(tmp: ExportDir, model, names: list[str], card: dict, notes: list[str]) -> None:
    """Writes the export's files into `tmp` (swapped into place by `owned.Replacement`)."""
    legacy = card["data"]["standardize"] == LEGACY_STANDARDIZATION
    if legacy:
        notes.append("no model.keras: this run cut text with rnn-sweep 0.1's standardization, "
                     "which Keras cannot load without this project; saved_model/ has the exact model")
    else:
        model.save(tmp.model_keras)
    model.export(str(tmp.saved_model), format="tf_saved_model", verbose=False)
    card["files"] = sorted(p.name for p in tmp.path.iterdir() if not p.name.startswith(".")) + [
        "classes.json", "model_card.json", "model_card.md"]
    for path, text in ((tmp.classes_json, json.dumps(names, indent=2)),
                       (tmp.card_json, json.dumps(card, indent=2)), (tmp.card_md, card_markdown(card))):
        writes.save_made(tmp.path, "export", path, writes.text(text))
    rundir.fsync_tree(tmp.path)


def card_markdown(card: dict) -> str:
    """The model card for people: what the model is, how it was chosen, how well it does."""
    d, ck, rf = card["data"], card["checkpoint"], card["refit"]

    def fig(v) -> str:
        return "" if v is None else f"{v:.4f}"

    lines = [
        f"# Model card: trial {card['trial_id']} ({card['hyperparameters'].get('cell')})",
        "",
        f"Exported by {card['harness']} on {card['date']} from `{card['run']}`; "
        f"the weights are the {'refit' if rf else 'sweep checkpoint'}.",
        "",
        "## Data",
        f"- source: `{d['source']}`; classes: {', '.join(map(str, d['classes']))}",
        f"- text: standardized `{d['standardize']}`, split on whitespace, {d['vocabulary']:,} "
        f"vocabulary entries, first {d['max_length']} tokens kept",
        f"- selection: {card['objective']} on a validation split of {d['validation_split']:.0%} "
        "carved from train; test used once",
        "",
        "## Hyperparameters",
        *[f"- {k}: {v}" for k, v in card["hyperparameters"].items()],
        f"- selected epoch: {card['selected_epoch']}",
        "",
        "## Figures",
        "| | validation | test accuracy | test loss | training seconds |",
        "|---|---|---|---|---|",
        f"| checkpoint | {fig(card['validation'].get(card['objective']))} ({card['objective']}) | "
        f"{fig(ck['test'].get('test_accuracy'))} | {fig(ck['test'].get('test_loss'))} | "
        f"{'' if ck['training_seconds'] is None else round(ck['training_seconds'], 1)} |",
    ]
    if rf:
        lines.append(f"| refit on train + validation ({rf['epochs']} epochs, "
                     f"{rf['train_examples']:,} examples) | | {fig(rf.get('test_accuracy'))} | "
                     f"{fig(rf.get('test_loss'))} | {rf['seconds']} |")
    if ck["test"].get("evaluated_at_export"):
        lines += ["", "The checkpoint's test figure was measured at export: this trial is not the "
                      "one the sweep selected, so the test split was looked at again for it."]
    if card["accuracy_by_length"]:
        lines += ["", "## Test accuracy by review length (checkpoint)", "",
                  "| tokens | examples | accuracy |", "|---|---|---|"]
        lines += [f"| {r['min_tokens']}-{r['max_tokens']} | {r['examples']} | {r['accuracy']:.4f} |"
                  for r in card["accuracy_by_length"]]
    lines += ["", "## Use", "", "```python",
              "import keras", 'model = keras.saving.load_model("model.keras")',
              'model.predict(keras.ops.array(["a review"]))  # one probability per class, classes.json order',
              "```", "", "or `sweep predict FOLDER TEXT...`; `saved_model/` serves the same model "
              "(signature `serve`) with TensorFlow Serving or `tf.saved_model.load`.", ""]
    return "\n".join(lines)
