"""Hyperparameter importance: how much of the objective's spread each hyperparameter accounts for.

Optuna's fANOVA evaluator (Hutter et al., 2014) fits a random forest that predicts the
objective from the hyperparameters, then splits the forest's variance into each
hyperparameter's share. It runs here over Optuna trials built in memory from trials.csv's
completed rows (`optuna.trial.create_trial`, with distributions from the saved space), so
no Optuna study or database is involved and any run folder, KerasTuner's, works.

The uncertainty is a bootstrap: the completed trials are resampled with replacement
`resamples` times and each resample gets its own small forest; a share is the resamples'
mean, shown with their 10th to 90th percentiles. fANOVA rather than PED-ANOVA: PED-ANOVA
compares the top few percent of trials with the rest, which on tens of trials is one or
two trials (on synthetic runs where the cell decided the objective it named the learning
rate); fANOVA uses every completed trial. It is what the trials that were run show: a
correlation over them, not a causal effect, and only of what varied.

No TensorFlow; Optuna is imported on first use.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sweep.analysis import results
from sweep.space.config import SweepConfig
from sweep.space.hyperparameters import Choice, Range

MIN_TRIALS = 10  # fewer completed trials than this and the shares mean nothing
# Bootstrap resamples (each a forest of TREES trees). The interval's ends are the 10th and
# 90th percentiles of the resamples: with 8 they were the 1st and 8th of 8 values and moved
# by up to 0.05 (a share's whole size) between seeds; with 100 they moved by under 0.004 on
# the same 40 trials (seeds 0-3), for about 2-4 s of `sweep report` on a 2-core CPU.
RESAMPLES = 100
TREES = 4
MAX_DEPTH = 8  # the forests' depth: enough for a few hundred trials, and fast
METHOD = "Optuna's fANOVA"
COLUMNS = ["hyperparameter", "share", "low", "high"]


@dataclass
class Importance:
    """The shares, or why there are none.

    `table` has one row per hyperparameter that varied, largest share first: `share` (the
    resamples' mean, a fraction of the objective's variance; the shares add up to 1), `low`
    and `high` (their 10th and 90th percentiles). It is empty when `note` says why.
    """

    table: pd.DataFrame
    trials: int  # completed trials with a value of the objective
    resamples: int
    note: str | None = None

    def top(self, k: int = 3) -> pd.DataFrame:
        return self.table.head(k)

    def tied_with_leader(self) -> list[str]:
        """The leader and every hyperparameter whose interval overlaps the leader's: their
        order is not settled by these trials (one name when the leader stands alone)."""
        if self.table.empty:
            return []
        lead = self.table.iloc[0]
        return [str(r.hyperparameter) for r in self.table.itertuples()
                if r.Index == 0 or r.high >= lead.low]

    def ranking_sentence(self) -> str:
        """Whether the trials settle which hyperparameter matters most."""
        tied = self.tied_with_leader()
        if len(tied) <= 1:
            return f"{tied[0]} leads beyond the others' intervals." if tied else ""
        return (f"{', '.join(tied)}: their intervals overlap the leader's, so these trials do not "
                "settle their order; more trials would.")


def distributions(cfg: SweepConfig) -> dict:
    """Optuna distributions of the space's hyperparameters that vary (fixed ones explain nothing)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict = {}
    for name, spec in cfg.hyperparameters.items():
        if isinstance(spec, Choice) and len(spec.values) > 1:
            out[name] = CategoricalDistribution(list(spec.values))
        elif isinstance(spec, Range) and spec.max > spec.min:
            log = spec.sampling == "log"
            # The step is left out: fANOVA needs the bounds, and any value inside them fits.
            if spec.is_int:
                out[name] = IntDistribution(int(spec.min), int(spec.max), log=log)
            else:
                out[name] = FloatDistribution(float(spec.min), float(spec.max), log=log)
    return out


def _python(value):
    """numpy scalars -> Python's, as Optuna's distributions compare them."""
    return value.item() if isinstance(value, np.generic) else value


def optuna_trials(trials: pd.DataFrame, cfg: SweepConfig, objective: str) -> list:
    """Optuna FrozenTrials of the completed trials with a value of `objective`.

    A trial whose values do not fit the space (edited by hand, say) is left out.
    """
    import optuna

    dists = distributions(cfg)
    done = results.completed(trials, objective)
    out = []
    for _, row in done.iterrows():
        params = {name: _python(row[name]) for name in dists if name in row}
        if len(params) < len(dists):
            continue
        try:
            out.append(optuna.trial.create_trial(params=params, distributions=dists,
                                                 value=float(row[objective])))
        except ValueError:
            continue
    return out


def importance(trials: pd.DataFrame, cfg: SweepConfig, objective: str | None = None,
               resamples: int = RESAMPLES, seed: int = 0, min_trials: int = MIN_TRIALS) -> Importance:
    """Each varying hyperparameter's share of the objective's variance, over bootstrap resamples.

    Args:
        trials: `results.trials_dataframe` (any trials; only completed ones count).
        cfg: the run's space (its distributions and, by default, its objective).
        objective: the column explained (default: the space's objective).
        resamples: bootstrap resamples.
        seed: seeds the resampling and the forests (the same tables give the same shares).
        min_trials: fewer completed trials and `note` says so instead.
    """
    objective = objective or cfg.tuner.objective
    empty = pd.DataFrame(columns=COLUMNS)
    if not cfg.varying():
        return Importance(empty, 0, 0, "No hyperparameter varied, so none can matter more than another.")
    done = len(results.completed(trials, objective))
    # Too few: said before Optuna is imported (most small runs, and every test run, stop here).
    built = optuna_trials(trials, cfg, objective) if done >= min_trials else []
    if len(built) < min_trials:
        n = len(built) if done >= min_trials else done
        return Importance(empty, n, 0, (
            f"Only {n} completed trial{'s' * (n != 1)}: too few to say which "
            f"hyperparameters matter (importance needs about {min_trials} or more)."))
    dists = distributions(cfg)
    if not dists:  # a choice of one value, a range of one point
        return Importance(empty, 0, 0, "No hyperparameter varied, so none can matter more than another.")
    import optuna
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.default_rng(seed)
    shares = []
    for b in range(resamples):
        picked = [built[i] for i in rng.integers(len(built), size=len(built))]
        study = optuna.create_study(direction="maximize")  # fANOVA ignores the direction
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ExperimentalWarning and the like
            study.add_trials(picked)
            evaluator = FanovaImportanceEvaluator(n_trees=TREES, max_depth=MAX_DEPTH, seed=seed + b)
            shares.append(get_param_importances(study, evaluator=evaluator, normalize=True))
    frame = pd.DataFrame(shares, columns=list(dists)).fillna(0.0).astype(float)
    table = pd.DataFrame({
        "hyperparameter": frame.columns,
        "share": frame.mean().to_numpy(),
        "low": frame.quantile(0.1).to_numpy(),
        "high": frame.quantile(0.9).to_numpy(),
    }).sort_values(["share", "hyperparameter"], ascending=[False, True], kind="stable")
    return Importance(table.reset_index(drop=True), len(built), resamples)


def summary_line(result: Importance, objective: str, k: int = 3) -> str:
    """One line for `sweep report`: the `k` most important hyperparameters and their shares."""
    if result.note:
        return f"Importance: {result.note}"
    top = ", ".join(f"{r.hyperparameter} {r.share:.0%} ({r.low:.0%}-{r.high:.0%})"
                    for r in result.top(k).itertuples())
    return (f"Importance ({METHOD} over {result.trials} completed trials; share of {objective}'s "
            f"variance, 10th-90th percentile of {result.resamples} bootstrap resamples): {top}. "
            + result.ranking_sentence())
