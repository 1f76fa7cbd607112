"""A completed trial -> a model that reads raw text; predictions on new text.

Owns: export folders (model.keras, SavedModel, classes.json, model card) and `sweep predict`.
May import: every package below it (`space`, `data`, `model`, `search`, `rundir`, `analysis`).
"""
