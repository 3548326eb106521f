"""The forward process: DDPM's linear betas 1e-4..0.02 over T = 1000 steps, from diffusers."""

import numpy as np
import torch
from diffusers import DDPMScheduler

T = 1000
BETA_START, BETA_END = 1e-4, 0.02


def forward_process(num_train_timesteps: int = T) -> DDPMScheduler:
    """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, for t = 0..T-1 (add_noise, get_velocity)."""
    return DDPMScheduler(
        num_train_timesteps=num_train_timesteps,
        beta_start=BETA_START,
        beta_end=BETA_END,
        beta_schedule="linear",
    )


def alphas_cumprod(num_train_timesteps: int = T) -> torch.Tensor:
    return forward_process(num_train_timesteps).alphas_cumprod.clone()


def noise_to(y: torch.Tensor, t: int, generator: torch.Generator) -> torch.Tensor:
    """x_t = theta_t y + sqrt(1 - theta_t^2) z, theta_t = sqrt(alpha_bar_t), z ~ N(0, I) drawn from
    `generator` (a CPU one, wherever y is) in y's dtype: a sample of p_t when y is a sample of the data."""
    theta = alphas_cumprod().double().sqrt().numpy()[t]
    z = torch.randn(y.shape, generator=generator, dtype=y.dtype).to(y.device)
    return theta * y + np.sqrt(1 - theta**2) * z
