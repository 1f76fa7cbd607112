"""The selected trial on the test split, once; and accuracy by input length.

Only COMPLETED trials are ever loaded here: a FAILED or RUNNING trial is not a model. The
test split is read for the selected trial alone (and, apart, by the linear baseline):
comparisons between cells are made on the validation split the trials were chosen on.
Writes `test.json` and `length_accuracy.csv` in the run folder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sweep.metrics import TrialStatus
from sweep.rundir import RunDir, read_json, writes
from sweep.rundir.testjson import KEPT

if TYPE_CHECKING:
    from sweep.data.pipeline import SweepData

def completed_trials(oracle) -> list:
    """The oracle's COMPLETED trials, best first: the only ones ranked, scored or analysed.

    KerasTuner's `get_best_trials(n)` fills up with FAILED and RUNNING trials when fewer
    than n completed; those are not models.
    """
    return [t for t in oracle.get_best_trials(len(oracle.trials)) if t.status == TrialStatus.COMPLETED]


def evaluate_best(tuner, data: SweepData, run: RunDir) -> dict | None:
    """Evaluates the best completed trial once on the test split, and the best of each
    cell by length on the validation split; None when no trial completed.

    A run resumed after its evaluation was cut short (Ctrl-C) evaluates again; one whose
    test.json already names the best trial keeps it (and its length analysis).
    """
    best = completed_trials(tuner.oracle)
    if not best:
        return None
    trial = best[0]
    done = read_json(run.test_json)
    if isinstance(done, dict) and done.get("trial_id") == trial.trial_id \
            and run.length_accuracy_csv.exists():
        return done
    model = tuner.load_model(trial)
    # One pass over test serves both the score and the length analysis below.
    logits, labels, lengths = _predict_test(model, data, trial.hyperparameters.get("vocab_size"))
    result = {"trial_id": trial.trial_id, **_scores(model, logits, labels)}
    if isinstance(done, dict):
        result.update({k: done[k] for k in KEPT if k in done})  # confirm's and the baseline's records
    writes.write_run_json(run, run.test_json, result)
    _length_accuracy(tuner, data, run, trial.trial_id, (logits, labels, lengths))
    return result


def score_on_test(model, data: SweepData, vocab_size: int) -> dict:
    """test_loss, test_accuracy and test_examples of a trained model on the whole test split."""
    logits, labels, _ = _predict_test(model, data, vocab_size)
    return _scores(model, logits, labels)


def _scores(model, logits: np.ndarray, labels: np.ndarray) -> dict:
    import keras

    binary = logits.shape[-1] == 1
    loss = model.loss(labels[:, None] if binary else labels, logits)
    return {
        "test_loss": float(keras.ops.convert_to_numpy(loss)),
        "test_accuracy": float((_predicted_class(logits) == labels).mean()),
        "test_examples": int(len(labels)),
    }


def _predict_test(model, data: SweepData, vocab_size: int, split: str = "test"):
    """The model's logits on the whole test split (or `split`), with its labels and untruncated lengths."""
    logits, labels, lengths = [], [], []
    for x, y, raw in data.dataset(vocab_size, split, with_raw_lengths=True):
        logits.append(np.asarray(model.predict_on_batch(x)))  # compiled; an eager call is slow
        labels.append(y.numpy())
        lengths.append(raw.numpy())
    return np.concatenate(logits), np.concatenate(labels), np.concatenate(lengths)


def _predicted_class(logits: np.ndarray) -> np.ndarray:
    return (logits[:, 0] > 0).astype(int) if logits.shape[-1] == 1 else logits.argmax(-1)


def _length_accuracy(tuner, data: SweepData, run: RunDir, selected: str, on_test: tuple,
                     buckets: int = 5) -> None:
    """Accuracy by input-length bucket: the best model of each cell x direction on the
    validation split, and the selected trial on the test split too.

    This is analysis after selection (nothing is chosen by it): it answers the notebook's
    question of where SimpleRNN falls behind LSTM and GRU. The comparison between cells is
    made on validation, so that test is read once, for the selected trial (`on_test`: its
    test predictions, already made). Direction is kept apart because a bidirectional
    SimpleRNN also reads each review from its end, which hides the one-way cell's trouble
    with long inputs. The buckets are quintiles of the validation split's lengths.
    """
    best_per_cell: dict[tuple[str, bool], Any] = {}
    for t in completed_trials(tuner.oracle):
        hp = t.hyperparameters
        key = (hp.get("cell"), bool(hp.get("bidirectional")))
        best_per_cell.setdefault(key, t)
    lengths_all = data.encoded(next(iter(best_per_cell.values())).hyperparameters.get("vocab_size"))
    edges = np.unique(np.quantile(lengths_all.raw_lengths("val"), np.linspace(0, 1, buckets + 1)))
    rows = []
    scored = [(key, t, "val") for key, t in best_per_cell.items()]
    scored += [(key, t, "test") for key, t in best_per_cell.items() if t.trial_id == selected]
    for (cell, bidirectional), t, split in scored:
        if split == "test":
            logits, labels, lengths = on_test
        else:
            vocab = t.hyperparameters.get("vocab_size")
            logits, labels, lengths = _predict_test(tuner.load_model(t), data, vocab, split="val")
        correct = _predicted_class(logits) == labels
        which = np.clip(np.searchsorted(edges, lengths, side="right") - 1, 0, len(edges) - 2)
        for b in range(len(edges) - 1):
            sel = which == b
            if sel.any():
                rows.append({
                    "split": split,
                    "cell": cell,
                    "bidirectional": bidirectional,
                    "trial_id": t.trial_id,
                    "bucket": b,
                    "min_tokens": int(lengths[sel].min()),
                    "max_tokens": int(lengths[sel].max()),
                    "examples": int(sel.sum()),
                    "accuracy": float(correct[sel].mean()),
                })
    writes.write_run_text(run, run.length_accuracy_csv, pd.DataFrame(rows).to_csv(index=False))
