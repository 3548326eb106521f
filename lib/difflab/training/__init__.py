"""Making models: the training loop, checkpoints, the model store and its keys, the classifier,
the pretrained pipelines. Imports only difflab.core."""
