"""What a sweep is: a space file (YAML or dict) -> validated, frozen dataclasses.

Owns: the config dataclasses, the hyperparameter table, the validators' shared checks, the
table of flags that override space keys (`overrides`).
May import: `sweep.errors`, `sweep.metrics`. No TensorFlow, no KerasTuner, no files but the space.
"""
