"""An exported model (or a run's best) on new text: probabilities per class, fast.

The export's model.keras pads every text to max_length; here its two halves are used
apart instead: the vectorizer turns all texts into token ids once, texts are sorted by
length and batched with their like (little padding, as in training), the network scores
each batch, and the rows go back into input order. A text with no tokens is one unknown
token, as in training. Exports without a model.keras (runs made by 0.1) are scored
through their SavedModel, in batches sorted by text length.
"""

from __future__ import annotations

import contextlib
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from sweep.errors import DamagedRun, DataError, RunInUse, UsageError
from sweep.rundir import ExportDir, RunDir, owned, read_json
from sweep.rundir.owned import NotWritable

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
        self.classes, self.card = _read_export(folder)
        self.max_length = int(self.card["data"]["max_length"])
        self._serve: Callable | None = None
        if folder.model_keras.exists():
            if not zipfile.is_zipfile(folder.model_keras):
                raise DamagedRun(f"{folder.model_keras}: cut short or damaged (not a whole .keras zip "
                                 "file); export the trial again")
            try:
                model = keras.saving.load_model(folder.model_keras)
                vectorizer = model.get_layer("vectorizer")
                self.network = model.get_layer("network")
            except Exception as e:  # cut short, or not an export's model
                raise _damaged(folder.model_keras, e) from None
            config = vectorizer.get_config()
            self.tokenizer = keras.layers.TextVectorization(
                standardize=config["standardize"], split=config["split"],
                vocabulary=vectorizer.get_vocabulary(), ragged=True)
        else:
            import tensorflow as tf

            try:
                self._saved_model = tf.saved_model.load(str(folder.saved_model))  # owns the variables
                self._serve = self._saved_model.serve
            except Exception as e:  # missing, empty, or without the `serve` signature
                raise _damaged(folder.saved_model, e) from None

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


def _read_export(folder: ExportDir) -> tuple[list[str], dict]:
    """(class names, model card) of an export folder, checked before a model is loaded.

    Raises:
        DamagedRun: a file missing or damaged, named.
    """
    classes = read_json(folder.classes_json)
    if not isinstance(classes, list) or not classes:
        why = "missing" if not folder.classes_json.exists() else "not a JSON list of class names"
        raise DamagedRun(f"{folder.classes_json}: {why}; export the trial again")
    card = read_json(folder.card_json)
    data = card.get("data") if isinstance(card, dict) else None
    length = data.get("max_length") if isinstance(data, dict) else None
    if not isinstance(length, int) or length < 1:
        raise DamagedRun(f"{folder.card_json}: damaged (no data.max_length); export the trial again")
    if not folder.model_keras.exists() and not (folder.saved_model / "saved_model.pb").is_file():
        raise DamagedRun(f"{folder.saved_model}: no saved_model.pb in it, and no "
                         f"{folder.model_keras.name} beside it; export the trial again")
    return [str(c) for c in classes], card


def _damaged(path: Path, error: Exception) -> DamagedRun:
    detail = str(error).strip().splitlines()
    return DamagedRun(f"{path}: cannot be loaded ({detail[0][:200] if detail else type(error).__name__}); "
                      "export the trial again")


def _chunks(order: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(order), size):
        yield order[start : start + size]


@contextlib.contextmanager
def resolve_model(path: Path, say: Callable[[str], None]) -> Iterator[ExportDir]:
    """An export folder for MODEL: itself, or a run folder's best trial's (exported if missing).

    A run folder that cannot be written (read-only, a colleague's share) is exported to a
    temporary folder, removed at the end.

    Raises:
        UsageError: neither kind of folder; the sweep in the run folder is still running
            (its best trial may change).
    """
    folder = ExportDir(path)
    if folder.is_export():
        yield folder
        return
    if not path.exists():
        raise UsageError(f"{path}: no such folder (give an export folder or a run folder)")
    run = RunDir(path)
    if not run.config.is_file():
        raise UsageError(f"{path}: neither an export folder (no {folder.card_json.name}) "
                         f"nor a run folder (no {run.config.name})")
    from sweep.analysis.record import RunRecord
    from sweep.serve.export import _live_sweep, choose_trial, export

    record = RunRecord.read(run)  # one read: the trial chosen here is the one exported
    running = _live_sweep(record)
    if running:
        raise RunInUse(f"{run}: the sweep is still running ({running}), so its best trial may change; "
                       "predict when it ends, or with a folder from `sweep export RUN --trial ID`")
    trial = choose_trial(record)
    folder = ExportDir(run.export_dir(str(trial.trial_id)))
    if folder.is_export():
        yield folder
        return
    try:
        say(f"Exporting the best trial ({trial.trial_id}) of {run} to {folder}")
        made = export(record, str(trial.trial_id), say=say).folder
    except NotWritable:
        with owned.temporary("export") as tmp:
            say(f"{run} cannot be written: exporting trial {trial.trial_id} to a temporary folder "
                "instead (removed at the end; `sweep export RUN --out DIR` keeps one)")
            yield export(record, str(trial.trial_id), out=tmp / "model", say=say).folder
        return
    yield made


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



FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run (OWASP's CSV injection)


def spreadsheet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with each text cell that a spreadsheet would read as a formula led by `'`.

    Class names come from the training data; `=HYPERLINK(...)` as a class name must open as
    text, not run, when the CSV is opened in Excel or LibreOffice (as OWASP advises). Numbers
    are left as they are.
    """
    def safe(cell):
        return f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell

    out = table.copy()
    for column in out.select_dtypes(include="object").columns:
        out[column] = out[column].map(safe)
    out.columns = [safe(c) for c in out.columns]
    return out
