"""What a sweep is: a space file (YAML or dict) -> validated, frozen dataclasses.

Owns: the config dataclasses and loading (`config`), the values a space may name
(`allowed`), the checks a typed space passes (`validation`) and their shared helpers
(`checks`), the hyperparameter table, the table of flags that override space keys
(`overrides`), the registries of cells, tuners and data sources with the public extension
point (`registry`).
May import: `sweep.errors`, `sweep.metrics`. No TensorFlow, no KerasTuner, no files but the space.
"""
