"""A training run small enough for a unit test, shared by the tests of the loop and of the store."""

import torch

from difflab.training.loop import TrainConfig

TINY = TrainConfig(resolution=8, subset=64, arch="mlp", steps=6, batch_size=16)


def weights(denoiser) -> torch.Tensor:
    """Every parameter of a trained denoiser's network, flattened into one vector."""
    return torch.cat([p.detach().flatten() for p in denoiser.net.parameters()])
