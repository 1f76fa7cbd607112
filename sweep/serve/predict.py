"""An exported model (or a run's best) on new text: probabilities per class, fast.

The export's model.keras pads every text to max_length; here its two halves are used
apart instead: the vectorizer turns all texts into token ids once, texts are sorted by
length and batched with their like (little padding, as in training), the network scores
each batch, and the rows go back into input order. A text with no tokens is one unknown
token, as in training. Exports without a model.keras (runs made by 0.1) are scored
through their SavedModel, in batches sorted by text length.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from sweep.errors import DataError, UsageError
from sweep.rundir import ExportDir, RunDir, read_json

PROGRESS_FROM = 2_000  # texts; fewer are done before a bar would be worth drawing


class Predictor:
    """One export folder, loaded once; `predict` many times.

    Args:
        folder: a `sweep export` folder.
    """

    def __init__(self, folder: ExportDir):
        import keras

        if not folder.is_export():
            raise UsageError(f"{folder}: not an export folder (no {folder.card_json.name}); "
                             "give one made by `sweep export`, or a run folder")
        self.folder = folder
        self.classes = [str(c) for c in read_json(folder.classes_json)]
        self.card = read_json(folder.card_json)
        self.max_length = int(self.card["data"]["max_length"])
        self._serve: Callable | None = None
        if folder.model_keras.exists():
            model = keras.saving.load_model(folder.model_keras)
            vectorizer = model.get_layer("vectorizer")
            self.network = model.get_layer("network")
            config = vectorizer.get_config()
            self.tokenizer = keras.layers.TextVectorization(
                standardize=config["standardize"], split=config["split"],
                vocabulary=vectorizer.get_vocabulary(), ragged=True)
        else:
            import tensorflow as tf

            self._saved_model = tf.saved_model.load(str(folder.saved_model))  # owns the variables
            self._serve = self._saved_model.serve

    def predict(self, texts: list[str], batch_size: int = 256,
                progress: Callable[[int], None] | None = None) -> np.ndarray:
        """(len(texts), classes) probabilities, in the order of `texts`.

        Args:
            texts: raw text.
            batch_size: texts per network call.
            progress: called with the number of texts done after each batch.
        """
        if not texts:
            return np.zeros((0, len(self.classes)), "float32")
        if self._serve is not None:
            return self._predict_saved_model(texts, batch_size, progress)
        ids, lengths = self._vectorize(texts)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        order = np.argsort(lengths, kind="stable")
        out = np.zeros((len(texts), len(self.classes)), "float32")
        for chunk in _chunks(order, batch_size):
            width = int(lengths[chunk].max())
            batch = np.zeros((len(chunk), width), "int64")
            for row, i in enumerate(chunk):
                batch[row, : lengths[i]] = ids[starts[i] : starts[i] + lengths[i]]
            out[chunk] = np.asarray(self.network.predict_on_batch(batch))
            if progress:
                progress(len(chunk))
        return out

    def _vectorize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        from sweep.data.pipeline import encode

        ids, lengths, _ = encode(self.tokenizer, texts, self.max_length)
        return ids, lengths

    def _predict_saved_model(self, texts: list[str], batch_size: int, progress) -> np.ndarray:
        import tensorflow as tf

        assert self._serve is not None
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), len(self.classes)), "float32")
        for chunk in _chunks(order, batch_size):
            out[chunk] = self._serve(tf.constant([texts[i] for i in chunk])).numpy()
            if progress:
                progress(len(chunk))
        return out

    def table(self, probabilities: np.ndarray) -> pd.DataFrame:
        """row, predicted class name, prob_<class> per class."""
        frame = pd.DataFrame({
            "row": np.arange(len(probabilities)),
            "predicted": np.array(self.classes, dtype=object)[probabilities.argmax(1)]
            if len(probabilities) else [],
        })
        for i, name in enumerate(self.classes):
            frame[f"prob_{name}"] = probabilities[:, i]
        return frame


def _chunks(order: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(order), size):
        yield order[start : start + size]


def resolve_model(path: Path, say: Callable[[str], None]) -> ExportDir:
    """An export folder for MODEL: itself, or a run folder's best trial's (exported if missing)."""
    folder = ExportDir(path)
    if folder.is_export():
        return folder
    if not path.exists():
        raise UsageError(f"{path}: no such folder (give an export folder or a run folder)")
    run = RunDir(path)
    if not run.config.is_file():
        raise UsageError(f"{path}: neither an export folder (no {folder.card_json.name}) "
                         f"nor a run folder (no {run.config.name})")
    from sweep.serve.export import choose_trial, export

    trial = choose_trial(run)
    folder = ExportDir(run.export_dir(str(trial.trial_id)))
    if not folder.is_export():
        say(f"Exporting the best trial ({trial.trial_id}) of {run} to {folder}")
        export(run, str(trial.trial_id), say=say)
    return folder


def read_texts(texts: list[str], input_path: str | None, text_column: str | None) -> list[str]:
    """The texts to predict: arguments, a CSV or text file, or standard input ("-").

    A .csv is read by the data sources' rules (UTF-8, quoting, the text column found by
    name or given, several joined); any other file, and standard input, hold one text per
    line.

    Raises:
        DataError: a missing file, a missing column, text that is not UTF-8.
    """
    from sweep.data.sources import csv_text, read_csv_frame

    if input_path is None:
        return list(texts)
    if input_path == "-":
        return _lines(sys.stdin.buffer.read(), "standard input")
    path = Path(input_path)
    if path.suffix.lower() == ".csv":
        frame = read_csv_frame(path, "--input")
        columns = [c.strip() for c in text_column.split(",")] if text_column else None
        return [str(t) for t in csv_text(frame, columns, path, "--text-column")]
    if text_column:
        raise DataError(f"--text-column: only for a .csv input, not {path.name}")
    if not path.is_file():
        raise DataError(f"--input: no such file {str(path)!r}")
    return _lines(path.read_bytes(), str(path))


def _lines(raw: bytes, where: str) -> list[str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"--input: {where} is not UTF-8 text (byte {e.start}: "
                        f"0x{raw[e.start]:02x})") from None
    return [line.removesuffix("\r") for line in text.removesuffix("\n").split("\n")] if text else []


def predict_table(folder: ExportDir, texts: list[str], batch_size: int = 256,
                  show_progress: bool = False) -> pd.DataFrame:
    """The prediction table for `texts`, with a progress bar (on stderr) when asked."""
    predictor = Predictor(folder)
    if not show_progress or len(texts) < PROGRESS_FROM:
        return predictor.table(predictor.predict(texts, batch_size))
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = ("Predicting", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("predict", total=len(texts))
        probabilities = predictor.predict(texts, batch_size, lambda n: bar.advance(task, n))
    return predictor.table(probabilities)

