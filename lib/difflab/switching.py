"""Where two models' deterministic trajectories part: one model for the first steps, another to
the end, and the exact split of their final difference into the parts born at each step.

With S_j the image made by `first` for the first j DDIM steps and `second` for the rest,
S_0 is second's own sample and S_K first's, so first - second = sum_j (S_{j+1} - S_j): the term j
is what using `first` instead of `second` at step j alone changed in the end (telescoping).
"""

import numpy as np
import pandas as pd
import torch

from .denoisers import Denoiser
from .metrics import pair_similarity
from .sampling import sample, time_grid
from .schedule import T


def switched(first: Denoiser, second: Denoiser, noise: torch.Tensor, steps: int) -> tuple[list[int], torch.Tensor]:
    """The times t_j of the DDIM grid and S_j for j = 0..steps, shape (steps + 1, batch, ...):
    `first` from the noise to t_j, then `second` to the end on the rest of the same grid."""
    grid = time_grid(steps, T - 1)
    mismatched = [j for j in range(steps) if time_grid(steps - j, grid[j]) != grid[j:]]
    if mismatched:
        raise ValueError(f"steps={steps} is not allowed: the grid from step {mismatched[0]} on is not the tail of "
                         f"the full one; allowed: steps that divide {T}")
    images, path = sample(first, noise, "ddim", steps, return_trajectory=True)
    rest = [sample(second, path.x[j], "ddim", steps - j, t_start=grid[j]) for j in range(steps)]
    return grid, torch.stack([*rest, images])


def birth_budget(switched_images: torch.Tensor, basis: torch.Tensor | None = None) -> torch.Tensor:
    """The share of the final difference d = S_K - S_0 born at each step: <S_{j+1} - S_j, d> / |d|^2,
    shape (steps, batch), summing to 1 for every noise. With `basis` (pixels, r), orthonormal
    columns, the same for the part of everything in their span (one band of principal directions)."""
    flat = switched_images.flatten(2).double()
    if basis is not None:
        flat = flat @ basis.double()
    difference = flat[-1] - flat[0]
    size = difference.pow(2).sum(-1)
    if (size == 0).any():
        raise ValueError(f"switched_images: the two models give the same image (within the basis) for noise "
                         f"{int((size == 0).nonzero()[0])}; allowed: noises on which they differ")
    return ((flat[1:] - flat[:-1]) * difference).sum(-1) / size


def first_time(times: list[int], reached: torch.Tensor) -> torch.Tensor:
    """Per noise (column), the first of the grid's times (one per row of `reached`) at which the
    condition holds; the first time where it never does."""
    return torch.tensor(times, device=reached.device)[reached.double().argmax(0)]


def born_by(times: list[int], budget: torch.Tensor, share: float = 0.5) -> torch.Tensor:
    """Per noise, the time t_j of the step by whose end `share` of the difference is born."""
    if not 0 < share < 1:
        raise ValueError(f"share={share} is out of range; allowed: 0 < share < 1")
    return first_time(times, budget.cumsum(0) >= share)


def commitment(predictions: torch.Tensor, own: torch.Tensor, partner: torch.Tensor) -> torch.Tensor:
    """How far each x_0 prediction has moved from the partner's final image to its own, per step and
    noise: 1 at its own final image, -1 at the partner's, 0 half-way (measured along own - partner)."""
    flat = predictions.flatten(2).double()
    mid, half = ((own + partner) / 2).flatten(1).double(), ((own - partner) / 2).flatten(1).double()
    return ((flat - mid) * half).sum(-1) / half.pow(2).sum(-1)


def median_where(values: torch.Tensor, chosen: torch.Tensor) -> np.ndarray:
    """Per row, torch's median (the lower middle value) of the chosen columns; NaN where none is
    chosen (every pair agreed, say, at a toy scale)."""
    if not chosen.any():
        return np.full(len(values), np.nan)
    return values[:, chosen].median(1).values.cpu().numpy()


def switching_curve(times: list[int], switched_images: torch.Tensor, threshold: float) -> pd.DataFrame:
    """For each switch time t_j: the share of noises whose S_j is still the same image as S_0
    (centred pixel cosine above `threshold`) and the median of that cosine."""
    same = torch.stack([pair_similarity(s, switched_images[0]) for s in switched_images[1:]])
    return pd.DataFrame({"t": times, "same as B's own": (same > threshold).double().mean(1).cpu().numpy(),
                         "median similarity": same.median(1).values.cpu().numpy()})


def band_births(times: list[int], switched_images: torch.Tensor, directions: torch.Tensor, bands: list[slice],
                share: float = 0.5) -> torch.Tensor:
    """Per band of principal directions (columns of `directions`, largest eigenvalue first) and
    noise: the time by which `share` of that band's difference is born, shape (bands, batch)."""
    return torch.stack([born_by(times, birth_budget(switched_images, directions[:, band]), share) for band in bands])


def prediction_gain(predictions: torch.Tensor, baseline: torch.Tensor, final: torch.Tensor) -> torch.Tensor:
    """Per step and noise: how much more similar a model's x_0 predictions are to its final image
    than `baseline`'s predictions from the same states (centred pixel cosine)."""
    return torch.stack([pair_similarity(p, final) - pair_similarity(b, final) for p, b in zip(predictions, baseline)])


def early_share(times: list[int], budget: torch.Tensor, t_from: int) -> torch.Tensor:
    """Per noise, the share of the difference born at steps with t >= t_from."""
    return budget[torch.tensor(times, device=budget.device) >= t_from].sum(0)


def replaceable_until(curve: pd.DataFrame, share: float = 0.9) -> int:
    """The smallest switch time t such that switching at t or earlier leaves at least `share` of
    B's images the same (the curve read from t = 999 down)."""
    held = (curve["same as B's own"] >= share).cummin()
    return int(curve["t"][held].min())
