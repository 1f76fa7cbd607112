"""Keras only: hyperparameters -> a compiled recurrent classifier, and its metrics.

Owns: the KerasTuner HyperModel, the Keras metrics behind the metric table.
May import: `sweep.space`, `sweep.metrics`, `sweep.errors`. Knows no dataset and no file.
"""
