"""A completed trial -> a model that reads raw text; predictions on new text.

Owns: export folders (model.keras, SavedModel, classes.json, model card) and `sweep predict`.
May import: `space`, `data`, `model`, `train` (a refit trains as a trial did), `rundir`,
`analysis`; not the search.
"""
