"""KerasTuner: the tuners, the oracle's additions, chief/worker roles and the --workers launcher.

Owns: every use of KerasTuner (its private API only in `ktcompat`), the per-epoch records.
May import: `sweep.space`, `sweep.data`, `sweep.model`, `sweep.train` (a trial's model, seeds,
the test evaluation), `sweep.rundir`, `sweep.progress`, `sweep.errors`, `sweep.metrics`.
"""
