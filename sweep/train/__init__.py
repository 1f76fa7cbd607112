"""Training and loading one model outside the tuner's loop: what the search, `sweep confirm`
and `sweep export` share, below all three.

    runtime       seeds, threads and mixed precision for one process; a trial's seed
    trial_model   the hypermodel class a trial trains (word2vec or LM start, KerasTuner's HyperModel)
    pretrain      the language-model pretraining and its shared cache (`embedding_init: lm`)
    evaluation    the selected trial scored once on test; accuracy by input length
    retrain       one configuration trained again with a new seed (`sweep confirm`'s repeats)

The fit itself is `sweep.model.training` (one routine for trials, repeats and refits).
May import: `sweep.space`, `sweep.data`, `sweep.model`, `sweep.rundir`, `sweep.progress`,
`sweep.errors`, `sweep.metrics`. Not KerasTuner's tuners (`sweep.search`).
"""
