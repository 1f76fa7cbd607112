"""`embedding_init: lm`: the language model is trained once and reused, never for another
vocabulary, and a trial starts from its weights (tiny CSV data, a few seconds each)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import make_examples, tiny_sweep, tree, write_csv

LM_SPACE = {
    "hyperparameters": {"cell": "gru", "vocab_size": 100, "embedding_dim": 8, "hidden_units": 8,
                        "learning_rate": 0.01, "embedding_init": "lm", "pooling": "max"},
    "pretrain": {"epochs": 2, "sequence_length": 8, "batch_size": 32, "sampled": 20},
    "tuner": {"epochs": 1},
}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    """The shared LM cache, in the test's folder."""
    folder = tmp_path / "lm_cache"
    monkeypatch.setenv("RNN_SWEEP_CACHE", str(folder))
    return folder / "lm"


def _sweep(tmp_path: Path, capsys, data: Path, where: str, unlabeled: Path | None = None):
    folder = tmp_path / where
    folder.mkdir()
    extra = {"unlabeled_source": f"csv:{unlabeled}"} if unlabeled else {}
    return tiny_sweep(folder, capsys, f"csv:{data}", data={"max_length": 16, **extra}, **LM_SPACE)


def _manifest(path: Path) -> dict:
    with np.load(path) as f:
        return json.loads(str(f["manifest"]))


def test_the_lm_is_trained_once_and_reused(tmp_path, capsys, cache):
    data = write_csv(tmp_path / "data.csv", make_examples(300))
    unlabeled = write_csv(tmp_path / "unlabeled.csv", [(t, "") for t, _ in make_examples(200, seed=7)])
    code, out, run = _sweep(tmp_path, capsys, data, "first", unlabeled)
    assert code == 0, out
    assert "Pretraining the language model" in out
    [weights] = cache.glob("*.npz")
    manifest = _manifest(weights)
    assert [h["epoch"] for h in manifest["history"]] == [1, 2]
    assert "epochs" not in manifest["identity"]["pretrain"]  # how long it trained, not which LM
    assert sorted(p.name for p in (cache / weights.stem).iterdir()) == ["epoch-1.npz", "epoch-2.npz"]
    figures = (run / "pretrain.csv").read_text().splitlines()
    assert figures[0] == "lm,epoch,loss,perplexity,seconds,tokens" and len(figures) == 3
    mtime = weights.stat().st_mtime_ns

    import pandas as pd

    scores = ["val_accuracy", "val_loss", "accuracy", "loss"]
    first_scores = pd.read_csv(run / "trials.csv")[scores]
    code, out, run = _sweep(tmp_path, capsys, data, "second", unlabeled)
    assert code == 0, out
    assert "from the cache" in out and "Pretraining" not in out
    # The trial starts the same whether its LM was trained then or read: the same metrics.
    pd.testing.assert_frame_equal(pd.read_csv(run / "trials.csv")[scores], first_scores)
    assert weights.stat().st_mtime_ns == mtime  # not trained, not written again
    assert list(cache.glob("*.npz")) == [weights]
    assert len((run / "pretrain.csv").read_text().splitlines()) == 3  # its figures, in this run too

    # The export is the usual classifier: raw text in, probabilities out, no LM head.
    import keras

    from sweep import cli

    def files() -> dict:
        return {name: when for name, when in tree(run).items() if not name.startswith(("cache/", "export/"))}

    before = files()
    assert cli.main(["export", str(run)]) == 0
    model = keras.saving.load_model(run / "export" / "trial_0" / "model.keras")
    texts = keras.ops.convert_to_tensor([["great w1 w2"], ["awful w3"]])
    assert model.predict(texts, verbose=0).shape == (2, 2)
    assert not any("lm_output" in w.path for w in model.weights)
    # A refit starts from the cached LM and leaves the run's files as they are: pretrain.csv is
    # the sweep's record, which a refit export used to write again with no hold on the run
    # (beside a live sweep, over the rows it was writing).
    assert cli.main(["export", str(run), "--refit"]) == 0
    assert "from the cache" in capsys.readouterr().out
    assert files() == before


VALUES = {"cell": "gru", "vocab_size": 100, "embedding_dim": 8, "hidden_units": 8, "num_layers": 1}


def _pretrain(run: Path, data: Path, epochs: int = 2, **pretrain) -> tuple[list, str]:
    """What a trial of a new process does (nothing held in memory): the LM's encoder weights
    for VALUES over the CSV `data` (LM_SPACE's `pretrain:`, `pretrain` changed), and what it
    said; its figures go to RUN/pretrain.csv."""
    from sweep.data.pipeline import SweepData
    from sweep.rundir import RunDir
    from sweep.rundir.lock import RunLock
    from sweep.space.config import DataConfig, PretrainConfig
    from sweep.train.pretrain import Pretrainer

    lines: list[str] = []
    sweep_data = SweepData(DataConfig(source=f"csv:{data}", max_length=16), 1, RunDir(run))
    cfg = PretrainConfig(**{**LM_SPACE["pretrain"], "epochs": epochs, **pretrain})
    with RunLock(RunDir(run)):  # as a sweep holds its run
        weights = Pretrainer(cfg, sweep_data, say=lines.append).encoder_weights(VALUES)
    return weights, "\n".join(lines)


def test_an_lm_grows_from_its_cached_epochs_and_shorter_ones_are_kept(tmp_path, cache):
    from sweep.rundir import RunDir

    data = write_csv(tmp_path / "d.csv", make_examples(300))
    run = RunDir(tmp_path / "run")

    def pretrain(epochs: int) -> tuple[list, str]:
        return _pretrain(run.path, data, epochs)

    _, said = pretrain(1)
    assert "Pretraining the language model" in said, said
    [state] = cache.glob("*.npz")
    first_epoch = _manifest(state)["history"][0]
    # How trials fine-tune is not what the LM is: the same one, from the cache.
    _, said = _pretrain(run.path, data, 1, freeze_epochs=2, unfreeze="layerwise")
    assert f"{state.stem}: from the cache" in said and "Pretraining" not in said, said

    _, said = pretrain(3)  # two epochs more: trained on from the cached one
    assert "resuming at epoch 2 of 3" in said and "Pretraining the language model" not in said, said
    grown = _manifest(state)
    assert [h["epoch"] for h in grown["history"]] == [1, 2, 3] and grown["history"][0] == first_epoch
    assert len(run.pretrain_csv.read_text().splitlines()) == 4

    # One epoch again: epoch 1's own weights, while the newest state stays at 3 epochs.
    one, said = pretrain(1)
    assert "epoch-1.npz (held-out perplexity" in said and "after 1 epochs" in said, said
    assert "resuming" not in said and len(_manifest(state)["history"]) == 3
    assert len(run.pretrain_csv.read_text().splitlines()) == 2
    snapshots = cache / state.stem
    with np.load(snapshots / "epoch-1.npz") as f1, np.load(snapshots / "epoch-3.npz") as f3:
        np.testing.assert_array_equal(one[0][0], f1["arr_0"])  # what a trial starts from
        assert not np.array_equal(f1["arr_0"], f3["arr_0"])  # the embedding went on learning

    # Epoch 1's snapshot lost: epoch 1 is trained again (as the first time), the newer state kept.
    (snapshots / "epoch-1.npz").unlink()
    again, said = pretrain(1)
    assert "epoch-1.npz is missing; trained again from epoch 1" in said, said
    assert len(_manifest(state)["history"]) == 3 and (snapshots / "epoch-1.npz").exists()
    np.testing.assert_array_equal(again[0][0], one[0][0])


def test_a_decaying_rate_follows_the_epoch_across_a_resume(tmp_path, cache):
    from sweep.model.lm import LanguageModel

    data = write_csv(tmp_path / "d.csv", make_examples(300))
    _pretrain(tmp_path / "run", data, 2)
    [constant] = cache.glob("*.npz")
    assert "lr_decay" not in _manifest(constant)["identity"]["pretrain"]  # older LMs keep their key

    def rate_saved(epochs: int) -> tuple[float, str]:
        """The rate Adam held when the decaying LM's newest state was saved (epoch `epochs`)."""
        _, said = _pretrain(tmp_path / "run", data, epochs, learning_rate=0.01, lr_decay=0.5)
        [state] = [p for p in cache.glob("*.npz") if p != constant]
        with np.load(state) as f:
            arrays = [f[f"arr_{i}"] for i in range(_manifest(state)["arrays"])]
        lm = LanguageModel(VALUES, LM_SPACE["pretrain"]["sampled"], learning_rate=1.0)
        assert lm.load_state(arrays)
        return lm.learning_rate, said

    rate, said = rate_saved(1)  # another LM than the constant one: trained from epoch 1
    assert "Pretraining the language model" in said and "learning rate 0.01 x 0.5 an epoch" in said, said
    assert rate == pytest.approx(0.01)
    rate, said = rate_saved(3)  # a new process resumes at epoch 2: epoch 3 trained at 0.01 * 0.5**2
    assert "resuming at epoch 2 of 3" in said, said
    assert rate == pytest.approx(0.0025)


def test_pretraining_says_where_it_is_and_the_time_left(monkeypatch):
    from sweep.train import pretrain

    monkeypatch.setattr(pretrain, "SAY_EVERY", 0.0)
    lines: list[str] = []
    trainer = pretrain.Pretrainer(pretrain.PretrainConfig(epochs=3), data=None, say=lines.append)
    trainer._progress("gru-lm", 2, start=0.0)(5, 10, 3.25)
    assert lines and "epoch 2/3, batch 5/10, loss 3.250, about" in lines[0] and lines[0].endswith("left")


def test_another_vocabulary_never_reuses_the_lm(tmp_path, cache):
    data = write_csv(tmp_path / "data.csv", make_examples(300))
    _, said = _pretrain(tmp_path / "first", data)
    assert "Pretraining the language model" in said, said
    [first] = cache.glob("*.npz")
    # Other words, so another vocabulary (and other token ids): another LM.
    write_csv(data, [(text.replace("w", "z"), label) for text, label in make_examples(300)])
    _, said = _pretrain(tmp_path / "second", data)
    assert "Pretraining the language model" in said, said
    second = next(p for p in cache.glob("*.npz") if p != first)
    assert _manifest(second)["identity"]["vocabulary"] != _manifest(first)["identity"]["vocabulary"]

    # A file under the second LM's name that holds the first (copied, or an old format): the
    # manifest inside it is checked, and it is trained again rather than used.
    shutil.copy(first, second)
    shutil.copy(cache / first.stem / "epoch-2.npz", cache / second.stem / "epoch-2.npz")
    _, said = _pretrain(tmp_path / "third", data)
    assert "was made from other text, vocabulary or settings; trained again" in said, said
    assert _manifest(second)["identity"] != _manifest(first)["identity"]
    assert _manifest(cache / second.stem / "epoch-2.npz")["identity"] == _manifest(second)["identity"]


@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_trial_starts_from_the_lms_weights(tmp_path, cache, bidirectional):
    import keras_tuner as kt

    from sweep.data.pipeline import SweepData
    from sweep.model.hypermodel import RNNHyperModel
    from sweep.rundir import RunDir
    from sweep.space.config import DataConfig, PretrainConfig, from_dict
    from sweep.train.pretrain import Pretrainer

    data_cfg = DataConfig(source=f"csv:{write_csv(tmp_path / 'd.csv', make_examples(200))}", max_length=16)
    data = SweepData(data_cfg, 1, RunDir(tmp_path / "run"))
    space = from_dict({"name": "t", "data": {"source": data_cfg.source}, "hyperparameters": {
        **LM_SPACE["hyperparameters"], "bidirectional": bidirectional}}).hyperparameters
    pretrainer = Pretrainer(PretrainConfig(epochs=1, sequence_length=8, sampled=0), data)
    model = RNNHyperModel(space, encoder_weights=pretrainer.encoder_weights).build(kt.HyperParameters())

    [weights] = cache.glob("*.npz")
    with np.load(weights) as f:
        manifest = json.loads(str(f["manifest"]))
        lm = [f[f"arr_{i}"] for i in range(manifest["arrays"])]
    embedding = next(layer for layer in model.layers if layer.name.startswith("embedding"))
    np.testing.assert_array_equal(embedding.get_weights()[0], lm[0])
    recurrent = next(layer for layer in model.layers if layer.name.startswith(("gru", "bidirectional")))
    forward = recurrent.forward_layer if bidirectional else recurrent
    for got, want in zip(forward.get_weights(), lm[1:4], strict=True):
        np.testing.assert_array_equal(got, want)
    if bidirectional:  # the LM reads one way: the backward layer keeps its random start
        assert not np.array_equal(recurrent.backward_layer.get_weights()[0], lm[1])


def _tiny_classifier(freeze_epochs: int = 0, **hyperparameters):
    """A GRU classifier over 50 words (its space's `hyperparameters` changed), built, and 64
    random examples: (hypermodel, hp, model, x, y)."""
    import keras
    import keras_tuner as kt

    from sweep.model.hypermodel import RNNHyperModel
    from sweep.space.config import from_dict

    space = from_dict({"name": "t", "data": {"source": "csv:d.csv"}, "hyperparameters": {
        "cell": "gru", "vocab_size": 50, "embedding_dim": 4, "hidden_units": 4, "learning_rate": 0.05,
        "embedding_init": "lm", **hyperparameters}}).hyperparameters
    hypermodel = RNNHyperModel(space, freeze_epochs=freeze_epochs)  # no LM: a random start
    hp = kt.HyperParameters()
    keras.utils.set_random_seed(0)
    model = hypermodel.build(hp)
    rng = np.random.default_rng(0)
    x, y = rng.integers(1, 50, (64, 10)), rng.integers(0, 2, (64, 1)).astype("float32")
    return hypermodel, hp, model, x, y


# mixed_float16 (`--mixed-precision`): Keras wraps the optimizer in a LossScaleOptimizer, and
# the schedule must still reach the EncoderAdam inside it.
@pytest.mark.parametrize("policy", ["float32", "mixed_float16"])
def test_freeze_epochs_trains_the_head_alone_first(policy):
    import keras

    keras.mixed_precision.set_global_policy(policy)
    try:
        hypermodel, hp, model, x, y = _tiny_classifier(freeze_epochs=1)  # pretrain.freeze_epochs
        start = [w.copy() for w in model.get_weights()]
        hypermodel.fit(hp, model, x, y, epochs=1, verbose=0)
        after = model.get_weights()
        for before, now in zip(start[:-2], after[:-2], strict=True):  # embedding and GRU: frozen
            np.testing.assert_array_equal(before, now)
        assert not np.array_equal(start[-2], after[-2])  # the head learnt
        hypermodel.fit(hp, model, x, y, epochs=2, initial_epoch=1, verbose=0)
        assert not np.array_equal(after[0], model.get_weights()[0])  # then everything trains
        assert not np.array_equal(after[1], model.get_weights()[1])
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_layerwise_unfreezing_trains_a_layer_more_each_epoch():
    """`pretrain.unfreeze: layerwise` (ULMFiT's gradual unfreezing): the head alone, then the
    top recurrent layer, then the one below it, the embedding last."""
    hypermodel, hp, model, x, y = _tiny_classifier(freeze_epochs=1, num_layers=2)
    hypermodel.unfreeze = "layerwise"
    model = hypermodel.build(hp)
    layers = [[w.path for w in layer.trainable_weights] for layer in model.layers if layer.trainable_weights]
    assert [len(group) for group in layers] == [1, 3, 3, 2]  # embedding, 2 GRUs, head

    def moved(epoch: int) -> list[bool]:
        before = {w.path: w.numpy().copy() for w in model.trainable_weights}
        hypermodel.fit(hp, model, x, y, epochs=epoch + 1, initial_epoch=epoch, batch_size=16, verbose=0)
        now = {w.path: w.numpy() for w in model.trainable_weights}
        return [all(not np.array_equal(before[p], now[p]) for p in group) for group in layers]

    assert moved(0) == [False, False, False, True]
    assert moved(1) == [False, False, True, True]
    assert moved(2) == [False, True, True, True]
    assert moved(3) == [True, True, True, True]


def test_the_encoder_starts_adam_afresh_when_it_unfreezes():
    """Its first whole-network step is Adam's first step, about the rate, as from a fresh Adam.

    Keras' Adam corrects its moments' bias by the optimizer's global step count; an encoder whose
    moments start at zero when it unfreezes, hundreds of steps in, had its steps mis-scaled
    (1.8 times the rate on average, up to 3.6, through the epoch after a 352-step epoch, the
    recipe's) just when the pretrained weights are most easily spoilt."""
    hypermodel, hp, model, x, y = _tiny_classifier(freeze_epochs=1, learning_rate=0.01)
    hypermodel.fit(hp, model, x, y, epochs=1, batch_size=8, verbose=0)  # 8 steps, the head alone
    after = [w.copy() for w in model.get_weights()]
    hypermodel.fit(hp, model, x, y, epochs=2, initial_epoch=1, batch_size=64, verbose=0)  # one step
    moved = [float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), after, strict=True)]
    # The GRU's kernel and recurrent kernel (the embedding's sparse update adds a word's
    # repeats in the batch one by one, so its step is not the rate); a little under the rate
    # where the largest gradient is small beside Adam's epsilon, about half of it before the fix.
    assert moved[1] == pytest.approx(0.01, rel=0.1) and moved[2] == pytest.approx(0.01, rel=0.1)

    # Layer-wise, each layer counts from its own unfreezing: the lower GRU, an epoch after the top one.
    hypermodel, hp, model, x, y = _tiny_classifier(freeze_epochs=1, learning_rate=0.01, num_layers=2)
    hypermodel.unfreeze = "layerwise"
    model = hypermodel.build(hp)
    hypermodel.fit(hp, model, x, y, epochs=2, batch_size=8, verbose=0)  # the head, then the top GRU
    after = [w.copy() for w in model.get_weights()]
    hypermodel.fit(hp, model, x, y, epochs=3, initial_epoch=2, batch_size=64, verbose=0)  # one step
    moved = [float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), after, strict=True)]
    assert moved[1] == pytest.approx(0.01, rel=0.1) and moved[2] == pytest.approx(0.01, rel=0.1)


@pytest.mark.parametrize("embedding_init", ["lm", "random"])
def test_encoder_lr_scale_moves_the_encoder_at_its_fraction_of_the_rate(embedding_init):
    def first_steps(scale: float) -> tuple[float, float]:
        """The largest move of the GRU's kernel and of the head's kernel in one Adam step."""
        hypermodel, hp, model, x, y = _tiny_classifier(learning_rate=0.01, embedding_init=embedding_init,
                                                       encoder_lr_scale=scale)
        start = [w.copy() for w in model.get_weights()]
        hypermodel.fit(hp, model, x, y, epochs=1, batch_size=64, verbose=0)  # one step
        moved = [np.abs(a - b).max() for a, b in zip(model.get_weights(), start, strict=True)]
        return float(moved[1]), float(moved[-2])  # [embedding, GRU kernel, ..., head kernel, bias]

    encoder, head = first_steps(1.0)
    # Adam's first step moves each weight by about the rate, whatever its gradient's size.
    assert encoder == pytest.approx(0.01, rel=0.05) and head == pytest.approx(0.01, rel=0.05)
    encoder, head = first_steps(0.25)
    assert encoder == pytest.approx(0.0025, rel=0.05) and head == pytest.approx(0.01, rel=0.05)


def test_report_html_shows_the_pretraining(small_run_copy):
    from sweep.analysis import report_html
    from sweep.rundir import RunDir

    run = RunDir(small_run_copy)
    assert "pretrain-table" not in report_html.render(run)  # no LM, no section
    run.pretrain_csv.write_text("lm,epoch,loss,perplexity,seconds,tokens\n"
                                "gru-lm,1,5.9,514.5,116.0,2083520\ngru-lm,2,5.1,300.2,110.0,2083520\n")
    page = report_html.render(run)
    assert 'id="pretrain-table"' in page and "514.5" in page and "gru-lm: 226 s" in page
