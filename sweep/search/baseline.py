"""The linear baseline every run is measured against: TF-IDF + logistic regression.

A sweep over recurrent networks is only worth its hours if its winner beats what a
one-minute linear model does on the same split. This fits scikit-learn's TF-IDF over
unigrams and bigrams with a logistic regression on the run's training split, chooses the
regularisation strength on the same validation split the trials are selected on, and
scores that one model once on the test split, beside the selected trial (test.json's
`baseline`). It reads the text as the sweep split it (`TextSplits`), so the three numbers
compare like with like.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sweep.data.corpus import TextSplits

NAME = "tfidf_logreg"
DESCRIPTION = "TF-IDF (unigrams + bigrams) + logistic regression"
# Inverse regularisation strengths tried on the validation split: wide enough that the
# choice is the split's, not ours (IMDB picks 8-32; small data picks the low end).
C_GRID = (0.5, 2.0, 8.0, 32.0, 128.0)
KEY = "baseline"  # test.json's key


def _vectorizer():
    from sklearn.feature_extraction.text import TfidfVectorizer

    # min_df=2 drops the hapax bigrams (most of them): a third of the features, none of the
    # accuracy, and the fit fits in seconds; sublinear tf is the usual choice for reviews.
    return TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_df=0.9, sublinear_tf=True,
                           preprocessor=_preprocess, dtype=np.float32)


def _preprocess(text: str) -> str:
    # IMDB's reviews keep their HTML line breaks; they are not words.
    return text.lower().replace("<br />", " ")


def fit_and_score(splits: TextSplits, seed: int) -> dict:
    """Fits the baseline on `splits.train`, picks C on `splits.val`, scores it on `splits.test`.

    Returns:
        test.json's `baseline` entry: the model, the chosen C, validation and test accuracy
        (and log loss on test), the examples and the seconds it took.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    start = time.perf_counter()
    vectorizer = _vectorizer()
    x_train = vectorizer.fit_transform(_texts(splits.train.text))
    x_val = vectorizer.transform(_texts(splits.val.text))
    best: tuple[float, float, object] | None = None
    for c in C_GRID:
        model = LogisticRegression(C=c, max_iter=1000, solver="liblinear" if splits.num_classes == 2
                                   else "lbfgs", random_state=seed)
        model.fit(x_train, splits.train.labels)
        acc = float((model.predict(x_val) == splits.val.labels).mean())
        if best is None or acc > best[0]:  # ties keep the stronger regularisation
            best = (acc, c, model)
    assert best is not None
    val_accuracy, c, model = best
    x_test = vectorizer.transform(_texts(splits.test.text))
    proba = model.predict_proba(x_test)  # type: ignore[attr-defined]
    labels = np.asarray(splits.test.labels)
    predicted = np.asarray(model.classes_)[proba.argmax(1)]  # type: ignore[attr-defined]
    return {
        "model": NAME,
        "description": DESCRIPTION,
        "C": c,
        "features": int(x_train.shape[1]),
        "val_accuracy": round(val_accuracy, 6),
        "test_accuracy": round(float((predicted == labels).mean()), 6),
        "test_loss": round(float(log_loss(labels, proba, labels=model.classes_)), 6),  # type: ignore[attr-defined]
        "test_examples": int(len(labels)),
        "train_examples": int(len(splits.train)),
        "seconds": round(time.perf_counter() - start, 1),
        "fingerprint": splits.fingerprint,
    }


def _texts(text: np.ndarray) -> list[str]:
    return [str(t) for t in text]
