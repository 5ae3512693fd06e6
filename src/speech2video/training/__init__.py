"""Training building blocks shared by the scripts in `examples/`: batching corpora, losses, augmentation."""
