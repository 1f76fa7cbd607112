"""What a run's test figures say, in the same words everywhere: the selected trial on test,
how far its validation figure overstated it, and the linear baseline beside it.

`sweep run`, `sweep report`, report.html and the Python API all print these lines; they
read test.json (and trials.csv's row of the selected trial) and nothing else.
"""

from __future__ import annotations

import pandas as pd

from sweep.metrics import TrialStatus
from sweep.rundir.testjson import BASELINE  # test.json's key for the linear baseline


def baseline(test: dict | None) -> dict | None:
    """The linear baseline's entry in test.json, or None (skipped, or a run made before 0.4)."""
    entry = test.get(BASELINE) if isinstance(test, dict) else None
    return entry if isinstance(entry, dict) and "test_accuracy" in entry else None


def selected_line(test: dict | None) -> str | None:
    """'Best trial 3 on the test split (...)': None before the test evaluation."""
    if not isinstance(test, dict) or "test_accuracy" not in test:
        return None
    loss = test.get("test_loss", float("nan"))
    return (f"Best trial {test.get('trial_id')} on the test split ({test.get('test_examples')} examples, "
            f"read once): accuracy {test['test_accuracy']:.4f}, loss {loss:.4f}")


def optimism_line(test: dict | None, trials: pd.DataFrame | None) -> str | None:
    """How much the selected trial's validation accuracy overstated its test accuracy.

    The best of many trials on one validation split reads high (it was chosen for being
    high), and a split carved from train shares its films with train while the test split
    does not: the drop is the honest correction, said so that nobody quotes the first number.
    """
    if not isinstance(test, dict) or "test_accuracy" not in test or trials is None or trials.empty \
            or "val_accuracy" not in trials:
        return None
    row = trials[trials.trial_id.astype(str) == str(test.get("trial_id"))]
    if row.empty or pd.isna(row.val_accuracy.iloc[0]):
        return None
    val = float(row.val_accuracy.iloc[0])
    drop = val - float(test["test_accuracy"])
    completed = int(trials.status.eq(TrialStatus.COMPLETED).sum()) if "status" in trials else len(trials)
    among = f" among {completed} completed trials" if completed > 1 else ""
    if drop <= 0:
        return f"Chosen on validation accuracy {val:.4f}{among}; test is {-drop:.4f} higher."
    return (f"Chosen on validation accuracy {val:.4f}{among}; test is {drop:.4f} lower: the best "
            "of several trials on one validation split reads high, so quote the test figure.")


def baseline_line(test: dict | None) -> str | None:
    """'best RNN 0.850 vs linear baseline 0.903 (...)', or a line that says it is missing."""
    entry = baseline(test)
    if entry is None:
        return None
    seconds = float(entry.get("seconds", 0))
    about = (f"{entry.get('description', entry.get('model', 'linear'))}, C={entry.get('C'):g}, "
             f"{f'{seconds:.0f} s' if seconds >= 1 else 'under 1 s'}")
    if not isinstance(test, dict) or "test_accuracy" not in test:
        return f"linear baseline {entry['test_accuracy']:.4f} on test ({about}); no RNN completed"
    rnn, lin = float(test["test_accuracy"]), float(entry["test_accuracy"])
    if rnn > lin:
        says = f"the RNN is ahead by {rnn - lin:.4f}"
    elif rnn < lin:
        says = f"the baseline is ahead by {lin - rnn:.4f}"
    else:
        says = "a tie"
    return f"best RNN {rnn:.4f} vs linear baseline {lin:.4f} on test ({about}): {says}"


def test_lines(test: dict | None, trials: pd.DataFrame | None) -> list[str]:
    """The lines that end `sweep run` and `sweep report`: selected trial, optimism, baseline."""
    return [line for line in (selected_line(test), optimism_line(test, trials), baseline_line(test)) if line]


def confirmed_vs_baseline(confirmed: dict | None, test: dict | None) -> str | None:
    """`sweep confirm`'s sentence: whether the confirmed configuration's test interval clears
    the linear baseline (None without a baseline or a confirmed configuration)."""
    entry = baseline(test)
    if entry is None or not isinstance(confirmed, dict) or "test_accuracy" not in confirmed:
        return None
    lin, mean = float(entry["test_accuracy"]), float(confirmed["test_accuracy"])
    interval = next((v for k, v in confirmed.items() if k.startswith("test_accuracy_ci")), None)
    if not interval or any(v is None for v in interval):
        return (f"Linear baseline {lin:.4f} on test against this configuration's mean {mean:.4f}: "
                "no interval under 2 repeats, so not shown either way")
    low, high = interval
    if low > lin:
        return f"It beats the linear baseline ({lin:.4f}) beyond its 95% interval ({low:.4f} to {high:.4f})."
    if high < lin:
        return (f"The linear baseline ({lin:.4f}) beats it beyond its 95% interval "
                f"({low:.4f} to {high:.4f}).")
    return (f"The linear baseline ({lin:.4f}) lies inside its 95% interval ({low:.4f} to {high:.4f}): "
            "not shown to beat it.")


def length_view(frame: pd.DataFrame | None) -> tuple[pd.DataFrame | None, str]:
    """length_accuracy.csv's rows that compare cells, and the split they were scored on.

    Runs since 0.4 compare cells on the validation split (`split` == "val") and add the
    selected trial's test rows; older runs scored every cell's best on test.
    """
    if frame is None or frame.empty:
        return None, "test"
    if "split" not in frame:
        return frame, "test"
    return frame[frame.split == "val"], "validation"
