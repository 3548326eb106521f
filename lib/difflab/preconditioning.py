"""EDM's preconditioning (Karras et al. 2022, Table 1), for a variance-exploding model
x = x_0 + sigma n trained in sigma rather than in DDPM time:

    D(x; sigma) = c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x, c_noise(sigma)).
"""

import torch

SIGMA_DATA = 0.5               # the data's standard deviation (images in [-1, 1])
P_MEAN, P_STD = -1.2, 1.2      # training noise levels: ln(sigma) ~ N(P_MEAN, P_STD^2)


def edm_coefficients(sigma: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(c_skip, c_out, c_in, c_noise) at noise level sigma."""
    total = sigma**2 + SIGMA_DATA**2
    c_skip = SIGMA_DATA**2 / total
    c_out = sigma * SIGMA_DATA / total.sqrt()
    c_in = 1 / total.sqrt()
    c_noise = sigma.log() / 4
    return c_skip, c_out, c_in, c_noise


def edm_denoise(net, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """D(x; sigma), the preconditioned network's clean-image estimate; sigma has shape (batch,)."""
    shape = (-1, *[1] * (x.dim() - 1))
    c_skip, c_out, c_in, c_noise = edm_coefficients(sigma)
    return c_skip.view(shape) * x + c_out.view(shape) * net(c_in.view(shape) * x, c_noise)
