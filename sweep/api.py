"""The Python API: the command line's work as functions, for notebooks and scripts.

    sweep.run(space, **overrides) -> Run     as `sweep run SPACE --flags`
    sweep.load(path) -> Run                  an existing run folder
    Run.report / .plot / .confirm / .export  as `sweep report / plot / confirm / export`
    sweep.predict(model, texts)              as `sweep predict`

Each call goes through the same functions as its command (`sweep.lifecycle`, `sweep.analysis`,
`sweep.serve`), so the run folder is the same. Errors are exceptions, never `SystemExit`:
`UsageError` (the command's exit 2: nothing ran), `RunFailed` (exit 1), and a
`KeyboardInterrupt` (Jupyter's "interrupt the kernel", Ctrl-C) that leaves the run resumable
by the same call, as Ctrl-C leaves `sweep run`. Messages name keywords where the command's name
flags (`overwrite=True` for `--overwrite`: `errors.in_python_words`). TensorFlow is imported
only by the calls that train or load a model, and kept as quiet as under the CLI
(`progress.quiet`; `verbose=True` shows its log).
"""

from __future__ import annotations

import contextlib
import functools
import html
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sweep import notebook, rundir
from sweep.analysis.record import RunRecord
from sweep.errors import Interrupted, SweepError, UsageError, in_python_words
from sweep.progress.quiet import native_stderr_hidden
from sweep.rundir import RunDir
from sweep.space import config
from sweep.space.config import SweepConfig
from sweep.space.overrides import FLAGS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PLOTS", "Run", "load", "predict", "run"]

# `sweep run`'s flags as keywords ("--max-trials" -> max_trials) for the flags that override the
# space, from the one flag table; the space validates their values as it does the flags'.
SPACE_OVERRIDES = {f.flag.removeprefix("--").replace("-", "_"): f for f in FLAGS if f.name != "name"}
# `sweep run`'s flags that say how to run rather than what to search (`RunOptions`' fields).
RUN_OVERRIDES = ("mixed_precision", "tensorboard", "verbose")
# `Run.plot`'s kinds: the PNGs `sweep plot` writes, and `sweep confirm`'s.
PLOTS = ("best_curves", "hparams", "cells", "length_accuracy", "confirm")


def _in_python_words(func: Callable) -> Callable:
    """The API's errors as Python says them: keywords where the commands say flags."""

    @functools.wraps(func)
    def call(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except SweepError as e:
            e.args = (in_python_words(str(e)), *e.args[1:])
            raise

    return call


@_in_python_words
def run(space: str | os.PathLike | Mapping[str, Any] | SweepConfig, *,
        results_dir: str | os.PathLike = "results", name: str | None = None, overwrite: bool = False,
        **overrides: Any) -> Run:
    """Runs a sweep, or resumes the one of the same name, as `sweep run` does; blocks until done.

    The live progress line shows in Jupyter as on a terminal; elsewhere (a log, CI) plain
    lines, one per epoch and trial. Ctrl-C or Jupyter's interrupt raise `KeyboardInterrupt`
    and leave the run resumable: the same call goes on from the completed trials.

    Args:
        space: a space file (YAML), a dict with the YAML's structure, or a loaded space.
        results_dir: the folder holding run folders; the run is `results_dir/NAME`.
        name: the run folder's name (default: the space's name).
        overwrite: replace an existing run of that name instead of resuming it.
        **overrides: `sweep run`'s flags as keywords: data, tuner, max_trials, max_time, epochs,
            seed, limit_train, limit_eval (they override the space), and mixed_precision,
            tensorboard, verbose.

    Returns:
        The finished run.

    Raises:
        UsageError: a bad space, override or data; a folder in use or holding another
            space. Nothing has run.
        RunFailed: too many trials failed in a row, or the disk filled up.
        KeyboardInterrupt: interrupted; completed trials are kept.

    Example:
        >>> r = sweep.run("search_spaces/cells_grid.yaml", limit_train=300, epochs=1)  # doctest: +SKIP
    """
    from sweep import lifecycle

    flags, run_flags = _split_overrides(overrides)
    cfg = config.load(space, name=name, **flags)
    options = lifecycle.RunOptions(results_dir=Path(results_dir), overwrite=bool(overwrite),
                                   **{k: bool(v) for k, v in run_flags.items()})
    try:
        with _quiet(options.verbose):
            outcome = lifecycle.run_sweep(cfg, options, say=_say)
    except Interrupted as e:
        raise KeyboardInterrupt(str(e)) from None
    return Run(outcome.run.path)


@_in_python_words
def load(path: str | os.PathLike) -> Run:
    """An existing run folder: finished, running, interrupted, or copied from elsewhere.

    Reading never writes to the folder, so a read-only one works.

    Raises:
        UsageError: the folder is not a sweep's run folder.
    """
    return Run(path)


@_in_python_words
def predict(model: str | os.PathLike | Run, texts: Iterable[str] | pd.Series,
            batch_size: int = 256) -> pd.DataFrame:
    """Class probabilities for new texts, as `sweep predict` prints them.

    Args:
        model: an export folder (`Run.export`), or a run (a `Run` or its folder), whose best
            trial is exported first if it has not been.
        texts: the texts, a list or a pandas Series of strings.
        batch_size: texts per network call.

    Returns:
        One row per text, in input order: row, predicted (the class name) and prob_<class>
        for each class.

    Raises:
        UsageError: not an export or run folder; texts that are not strings.
    """
    from sweep.serve import predict as serving

    if isinstance(texts, str):
        raise UsageError("texts: expected a list or Series of strings, got one string (wrap it in [...])")
    items = list(texts)
    bad = next((t for t in items if not isinstance(t, str)), None)
    if bad is not None:
        raise UsageError(f"texts: expected strings, got {type(bad).__name__} {bad!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(f"batch_size: expected a positive integer, got {batch_size!r}")
    path = model.path if isinstance(model, Run) else Path(model)
    with _quiet(), serving.resolve_model(path, _say) as folder:  # a temporary export lives until the end
        return serving.predict_table(folder, items, batch_size)


class Run:
    """A run folder, read the way `sweep report` reads it: fresh on every access.

    Attributes:
        path: the run folder.
    """

    def __init__(self, path: str | os.PathLike):
        self._run = RunDir(Path(path))
        rundir.check_is_run(self._run)
        self.path = self._run.path

    def __repr__(self) -> str:
        record = self._read()
        return f"Run({str(self.path)!r}, status={record.state!r}, trials={len(record.trials)})"

    def _read(self) -> RunRecord:
        """The folder as it is now, read once (every public call reads its own)."""
        return RunRecord.read(self._run)

    @property
    def status(self) -> str:
        """'running', 'finished', 'interrupted' or 'failed' (a dead sweep's 'running' is 'interrupted')."""
        return rundir.run_state(self._run)

    @property
    def config(self) -> SweepConfig:
        """The space the run was made with (its config.yaml)."""
        return rundir.load_config(self._run)

    @property
    def trials(self) -> pd.DataFrame:
        """trials.csv's table, one row per trial, as `sweep report` builds it: from the trial
        folders, or from trials.csv itself in a folder copied without them."""
        return self._read().trials

    @property
    def history(self) -> pd.DataFrame:
        """history.csv's table, one row per trial x epoch (as `trials`, from the CSV in a copy)."""
        return self._read().history

    @property
    def best(self) -> pd.Series | None:
        """The best completed trial's trials.csv row by the objective (None: none yet): the one
        `export` exports by default."""
        return self._read().best()

    @property
    def test(self) -> dict | None:
        """test.json: the best trial's test score (and `confirmed`, after a confirm), or None."""
        return self._read().test or None

    @property
    def baseline(self) -> dict | None:
        """test.json's linear baseline (C, val_accuracy, test_accuracy, seconds), or None."""
        return self._read().baseline

    @_in_python_words
    def report(self, top: int = 10, sort: str | None = None) -> pd.DataFrame:
        """The leaderboard `sweep report` prints: completed trials ranked, best first.

        Args:
            top: rows.
            sort: a trials column to rank by (default: the objective).

        Raises:
            UsageError: an unknown sort column.
        """
        _check_positive(top, "top")
        return self._read().leaderboard(top, sort)

    def importance(self) -> pd.DataFrame:
        """Each varying hyperparameter's share of the objective's variance (Optuna's fANOVA), as
        the line `sweep report` prints: hyperparameter, share, low, high (10th and 90th
        percentiles over bootstrap resamples). Empty under 10 completed trials, with the
        reason in `.attrs["note"]`.
        """
        from sweep.analysis import importance

        record = self._read()
        result = importance.importance(record.trials, record.config)
        table = result.table.copy()
        table.attrs["note"] = result.note
        return table

    @_in_python_words
    def html(self, path: str | os.PathLike | None = None) -> Path:
        """Writes report.html (default RUN/report.html), as `sweep report --html`; returns its path.

        Raises UsageError where `path` exists and sweep did not write it, or is a run's own file
        (the write rule, docs/results-folder.md).
        """
        from sweep.analysis import report_html
        from sweep.rundir import writes

        if path is not None:
            writes.check_file(Path(path), writes.REPORT, "path")
        return report_html.write_report(self._read(), None if path is None else Path(path))

    @_in_python_words
    def plot(self, kind: str | None = None, top: int = 3) -> Figure | notebook.Plots:
        """The run's plots as matplotlib Figures (shown inline in Jupyter); nothing is written.

        Args:
            kind: one of `PLOTS` (best_curves, hparams, cells, length_accuracy, confirm);
                None: all the run's data allows, as a `Plots` dict by kind.
            top: trials in best_curves.

        Raises:
            UsageError: an unknown kind, or one the run has no data for yet.
        """
        from sweep.analysis import plots

        if kind is not None and kind not in PLOTS:
            raise UsageError(f"kind: unknown plot {kind!r}; expected one of {', '.join(PLOTS)}")
        _check_positive(top, "top")
        record = self._read()
        with plots.collecting() as made:
            plots.plot_run(record, top)
            rows = record.confirm_rows() if kind in (None, "confirm") else None
            summary = None if rows is None else record.confirm_summary(rows)
            if rows is not None and summary is not None:
                plots.confirm_seeds(rows, summary, self._run.confirm_png, record.objective, record.varying)
        notebook.figures_inline()
        if kind is None:
            return notebook.Plots(made)
        if kind not in made:
            raise UsageError(f"{self.path}: no data for the {kind} plot yet "
                             f"(it has {', '.join(made) or 'none'})")
        return made[kind]

    @_in_python_words
    def confirm(self, top: int = 3, seeds: int = 5, resplit: bool = False,
                verbose: bool = False) -> pd.DataFrame:
        """Retrains the top configurations with new seeds, as `sweep confirm` (resumable, extendable).

        Args:
            top: configurations, from the leaderboard's first.
            seeds: new seeds per configuration (2 or more).
            resplit: also draw a new validation split per seed.
            verbose: Keras' own per-epoch lines.

        Returns:
            One row per configuration, best mean first: rank, trial_id, the varying
            hyperparameters, sweep, seeds, mean, sd, ci_low, ci_high, failed. Its
            `attrs["verdict"]` says whether the leader's interval overlaps the runner-up's.

        Raises:
            UsageError: not a finished run with a completed trial; the folder is in use.
            KeyboardInterrupt: interrupted; finished repeats are kept and the same call resumes.
        """
        from sweep import confirmation

        _check_positive(top, "top")
        if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 2:
            raise UsageError(f"seeds: expected an integer of 2 or more, got {seeds!r}")
        try:
            with _quiet(verbose):
                outcome = confirmation.confirm(self.path, top, seeds, bool(resplit), verbose=verbose,
                                               say=_say)
        except Interrupted as e:
            raise KeyboardInterrupt(str(e)) from None
        summary = outcome.summary.copy()
        summary.attrs["verdict"] = in_python_words(outcome.verdict)
        return summary

    @_in_python_words
    def export(self, trial: str | None = None, refit: bool = False,
               out: str | os.PathLike | None = None) -> Path:
        """Writes a completed trial as a model that reads raw text, as `sweep export`.

        Args:
            trial: a completed trial's id (default: the best).
            refit: first retrain its hyperparameters on train + validation.
            out: the export folder (default RUN/export/trial_ID[_refit]).

        Returns:
            The export folder (model.keras, saved_model/, classes.json, model card); give it
            to `sweep.predict` or `keras.saving.load_model(folder / "model.keras")`.

        Raises:
            UsageError: no such completed trial; data a refit needs is gone.
            RunFailed: the refit diverged.
        """
        from sweep.serve import export

        with _quiet():
            done = export.export(self._run, None if trial is None else str(trial), bool(refit),
                                 None if out is None else Path(out), say=_say)
        for note in done.notes:
            _say(f"Note: {note}")
        return done.folder.path

    def _repr_html_(self) -> str:
        """Jupyter's view: status, report.html's link, top 5, importance, the test lines."""
        from sweep.analysis import importance

        record = self._read()
        head = f"<p><b>{html.escape(str(self.path))}</b>: {html.escape(record.state_line())}</p>"
        if not len(record.trials):
            return head
        return head + notebook.run_view(
            self._run.report_html if self._run.report_html.exists() else None,
            record.leaderboard(5), importance.importance(record.trials, record.config)
            if record.varying else None, record.test_lines())


# --- Helpers ------------------------------------------------------------------------------


def _split_overrides(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config.load's keywords, RunOptions' fields) from `sweep.run`'s keywords."""
    unknown = sorted(set(overrides) - set(SPACE_OVERRIDES) - set(RUN_OVERRIDES))
    if unknown:
        allowed = ", ".join([*SPACE_OVERRIDES, *RUN_OVERRIDES])
        raise UsageError(f"sweep.run: unknown override {unknown[0]!r}; expected one of {allowed}")
    flags = {SPACE_OVERRIDES[k].name: v for k, v in overrides.items() if k in SPACE_OVERRIDES}
    return flags, {k: v for k, v in overrides.items() if k in RUN_OVERRIDES}


@contextlib.contextmanager
def _quiet(verbose: bool = False) -> Iterator[None]:
    """TensorFlow as quiet as under the CLI (its native log and "retracing" warnings held back
    unless `verbose`); tqdm's ipywidgets warning goes (its text bars still show)."""
    warnings.filterwarnings("ignore", message="IProgress not found")
    with native_stderr_hidden(not verbose):
        yield


def _check_positive(value: Any, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UsageError(f"{what}: expected a positive integer, got {value!r}")


def _say(line: str) -> None:
    print(in_python_words(line), flush=True)

