"""A run folder -> DataFrames, plots, the test evaluation, confirm's statistics.

Owns: trials.csv and history.csv (built from the run's records), the PNGs, test.json.
Works on any run folder, finished, running, interrupted or copied; never runs a search.
May import: `sweep.space`, `sweep.rundir`, `sweep.progress` (`Say`), `sweep.errors`,
`sweep.metrics` (and, lazily, for the test evaluation and confirm's retraining, `sweep.data`,
`sweep.model` and `sweep.search`).
"""
