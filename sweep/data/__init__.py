"""Text in: tfds, CSV and folder sources -> texts and labels -> token ids -> tf.data.

Owns: reading sources (`sources`: csv and dir, and the splits; `tfds_source`; `corpus`: the
text as read and as split), the train/validation split, vectorizing once per vocabulary size, the
caches of token ids and word vectors, bucketing by length.
May import: `sweep.space`, `sweep.rundir`, `sweep.errors`, `sweep.metrics`.
"""
