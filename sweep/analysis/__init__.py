"""A run folder -> one read (`record.RunRecord`) -> DataFrames, plots, report.html, confirm's numbers.

    results       trials.csv and history.csv built from the run's records; "completed", "best"
    record        RunRecord: the one read model every command, the API and the pages use
    presentation  labels, number formats, direction words, value order, log axes from the space
    plots         the PNGs;  report_html / report_figures / report_axes: report.html
    importance    each hyperparameter's share of the objective's variance (fANOVA)
    confirm       confirm.csv's repeats summarised (mean, sd, t-interval)
    verdict       the test, optimism and baseline lines

Owns: trials.csv and history.csv, the PNGs, report.html. Works on any run folder, finished,
running, interrupted or copied; never trains or loads a model (that is `sweep.train`).
May import: `sweep.space`, `sweep.rundir`, `sweep.progress` (`Say`), `sweep.errors`,
`sweep.metrics`.
"""
