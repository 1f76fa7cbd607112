"""One read of a run folder: the read model every command, the API and the pages go through.

    RunRecord.read(RUN) -> the saved space, the sweep's state, test.json and the two tables,
                           each read once -> best trial, completed trials, status counts,
                           leaderboard, confirm summary, test lines

It knows the one rule for where the tables come from (`results.report_tables`: the trial
folders, or trials.csv and history.csv in a folder copied without `tuner/`, read-only) and
answers each question about a run in one way: "completed" (COMPLETED with a finite objective:
the only trials ranked, plotted, analysed), "the best trial" (the first of the best by the
objective: the one `sweep export` exports and `Run.best` returns), "the selected trial" (the
one test.json scored, else the best), the status counts and `sweep confirm`'s summary (over
every repeat in confirm.csv). A record is a snapshot: read another for a later state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sweep import rundir
from sweep.analysis import results, verdict
from sweep.rundir import RunDir, as_run, read_json, testjson
from sweep.space.config import SweepConfig


@dataclass(frozen=True)
class RunRecord:
    """A run folder as read once. Build it with `RunRecord.read`.

    Attributes:
        run: the folder.
        config: its saved space (config.yaml).
        state: 'running', 'finished', 'interrupted' or 'failed'.
        trials: trials.csv's table (from the trial folders, or the CSV in a copy).
        history: history.csv's table, likewise.
        test: test.json ({} before the test evaluation).
        read_only: why the tables came from the saved CSVs and must not be written over
            (a copy without `tuner/`, or fewer trial folders than trials.csv lists); else None.
    """

    run: RunDir
    config: SweepConfig
    state: str
    trials: pd.DataFrame
    history: pd.DataFrame
    test: dict = field(default_factory=dict)
    read_only: str | None = None

    @classmethod
    def read(cls, run_dir: RunDir | str | Path,
             tables: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> RunRecord:
        """Reads the folder (`NotARunError` if it holds no saved space).

        Args:
            run_dir: the run folder.
            tables: (trials, history) as `results.write_tables` just built them from this
                folder, when the caller has them (the end of a sweep): not read again.
        """
        run = as_run(run_dir)
        cfg = rundir.load_config(run)
        if tables is None:
            trials, history, read_only = results.report_tables(run)
        else:
            (trials, history), read_only = tables, None
        test = read_json(run.test_json)
        return cls(run, cfg, rundir.run_state(run), trials, history,
                   test if isinstance(test, dict) else {}, read_only)

    @property
    def objective(self) -> str:
        return self.config.tuner.objective

    @property
    def varying(self) -> list[str]:
        """The hyperparameters the space searches (those with more than one value)."""
        return self.config.varying()

    def completed(self) -> pd.DataFrame:
        """`results.completed`: COMPLETED with a finite objective, the only trials ranked."""
        return results.completed(self.trials, self.objective)

    def best(self) -> pd.Series | None:
        """The best completed trial's row by the objective, or None before one completed."""
        return results.best_trial(self.trials, self.objective)

    def selected_id(self) -> str | None:
        """The trial scored on test (test.json's), else the best completed one, else None."""
        if self.test.get("trial_id") is not None:
            return str(self.test["trial_id"])
        best = self.best()
        return None if best is None else str(best.trial_id)

    def trial(self, trial_id: str) -> pd.Series | None:
        """One trial's row by id, or None."""
        rows = self.trials[self.trials.trial_id.astype(str) == str(trial_id)]
        return None if rows.empty else rows.iloc[0]

    def status_counts(self) -> str:
        """'3 completed, 1 failed' (most first), or 'none yet'."""
        return results.status_counts(self.trials)

    def state_line(self) -> str:
        """'sweep finished; 4 trials (3 completed, 1 failed)': said the same everywhere."""
        return f"sweep {self.state}; {len(self.trials)} trials ({self.status_counts()})"

    def leaderboard(self, top: int = 5, sort: str | None = None) -> pd.DataFrame:
        """The top trials by `sort` (default the objective), completed ones ranked first."""
        return results.leaderboard(self.trials, self.objective, top, sort, self.varying)

    def test_lines(self) -> list[str]:
        """The selected trial on test, its validation-to-test drop, the baseline beside it."""
        return verdict.test_lines(self.test or None, self.trials)

    @property
    def baseline(self) -> dict | None:
        """test.json's linear baseline, or None."""
        return verdict.baseline(self.test)

    def class_names(self) -> list[str] | None:
        return rundir.class_names(self.run)

    def confirm_rows(self) -> pd.DataFrame | None:
        """The repeats of confirm.csv the last `sweep confirm` asked for (`confirm.planned`), or
        None before `sweep confirm` ran (or when they are unusable)."""
        if not self.run.confirm_csv.exists():
            return None
        from sweep.analysis import confirm

        rows = confirm.planned(confirm.read_rows(self.run), self.test.get(testjson.CONFIRM_PLAN),
                               self.config.tuner.seed)
        return rows if not rows.empty and self.objective in rows else None

    def confirm_summary(self, rows: pd.DataFrame | None = None) -> pd.DataFrame | None:
        """`sweep confirm`'s table over `confirm_rows()` (or `rows`), best mean first, with each
        configuration's own sweep figure; None before a confirm."""
        from sweep.analysis import confirm

        rows = self.confirm_rows() if rows is None else rows
        if rows is None:
            return None
        sweep = self.trials.set_index("trial_id")[self.objective] if self.objective in self.trials else None
        return confirm.summarize(rows, self.objective, self.varying, sweep=sweep)
