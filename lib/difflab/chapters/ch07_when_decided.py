"""Chapter 7: when along the trajectory two models part, and why.

Switching: where two models' deterministic trajectories part: one model for the first steps, another to
the end, and the exact split of their final difference into the parts born at each step.

With S_j the image made by `first` for the first j DDIM steps and `second` for the rest,
S_0 is second's own sample and S_K first's, so first - second = sum_j (S_{j+1} - S_j): the term j
is what using `first` instead of `second` at step j alone changed in the end (telescoping).

Response: how much a change made at one step of DDIM reaches the final image: in closed form for the
Gaussian denoiser, and measured for any denoiser.

DDIM's step from (a, s) to (a', s'), with s'' = sqrt(s'^2 - v) and v the variance of the fresh
noise (eta^2 (s'^2 / s^2)(1 - a^2 / a'^2); 0 for eta = 0), is
    x' = (s'' / s) x + (a' - s'' a / s) x_0(x) + sqrt(v) z.
For the Gaussian denoiser x_0 = mu + U diag(g) U^T (x - a mu), g_k = a l_k / (a^2 l_k + s^2),
so along principal direction k each step multiplies the centred state by
    m_k = s'' / s + (a' - s'' a / s) g_k,
and a change delta of the x_0 prediction at step j reaches the end as W_jk delta with
    W_jk = (a_{j+1} - s''_{j+1} a_j / s_j) prod_{i > j} m_ik.
"""

import numpy as np
import pandas as pd
import torch

from difflab.book.sample_cache import sample
from difflab.core import metrics
from difflab.core.denoisers import Denoiser
from difflab.core.sampling import check_settings, time_grid
from difflab.core.schedule import T, alphas_cumprod


def switched(
    first: Denoiser, second: Denoiser, noise: torch.Tensor, steps: int
) -> tuple[list[int], torch.Tensor]:
    """The times t_j of the DDIM grid and S_j for j = 0..steps, shape (steps + 1, batch, ...):
    `first` from the noise to t_j, then `second` to the end on the rest of the same grid."""
    grid = time_grid(steps, T - 1)
    mismatched = [j for j in range(steps) if time_grid(steps - j, grid[j]) != grid[j:]]
    if mismatched:
        raise ValueError(
            f"steps={steps} is not allowed: the grid from step {mismatched[0]} on is not the tail of "
            f"the full one; allowed: steps that divide {T}"
        )
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
        raise ValueError(
            f"switched_images: the two models give the same image (within the basis) for noise "
            f"{int((size == 0).nonzero()[0])}; allowed: noises on which they differ"
        )
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


def switching_curve(
    times: list[int], switched_images: torch.Tensor, threshold: float
) -> pd.DataFrame:
    """For each switch time t_j: the share of noises whose S_j is still the same image as S_0
    (centred pixel cosine above `threshold`) and the median of that cosine."""
    same = torch.stack(
        [metrics.pair_similarity(s, switched_images[0]) for s in switched_images[1:]]
    )
    return pd.DataFrame(
        {
            "t": times,
            "same as B's own": (same > threshold).double().mean(1).cpu().numpy(),
            "median_similarity": same.median(1).values.cpu().numpy(),
        }
    )


def band_births(
    times: list[int],
    switched_images: torch.Tensor,
    directions: torch.Tensor,
    bands: list[slice],
    share: float = 0.5,
) -> torch.Tensor:
    """Per band of principal directions (columns of `directions`, largest eigenvalue first) and
    noise: the time by which `share` of that band's difference is born, shape (bands, batch)."""
    return torch.stack(
        [
            born_by(times, birth_budget(switched_images, directions[:, band]), share)
            for band in bands
        ]
    )


def prediction_gain(
    predictions: torch.Tensor, baseline: torch.Tensor, final: torch.Tensor
) -> torch.Tensor:
    """Per step and noise: how much more similar a model's x_0 predictions are to its final image
    than `baseline`'s predictions from the same states (centred pixel cosine)."""
    return torch.stack(
        [
            metrics.pair_similarity(p, final) - metrics.pair_similarity(b, final)
            for p, b in zip(predictions, baseline)
        ]
    )


def early_share(times: list[int], budget: torch.Tensor, t_from: int) -> torch.Tensor:
    """Per noise, the share of the difference born at steps with t >= t_from."""
    return budget[torch.tensor(times, device=budget.device) >= t_from].sum(0)


def early_born(times: list[int], budgets: dict, disagree: dict, t_from: int) -> pd.DataFrame:
    """Per pair and seed (budgets[pair, seed]: birth_budget; disagree[pair, seed]: the noises on
    which the pair disagree), the median share of the difference born at t >= t_from, among the
    agreeing and among the disagreeing noises: one row each."""
    rows = []
    for (pair, seed), budget in budgets.items():
        share = early_share(times, budget, t_from)
        mask = disagree[pair, seed].cpu()
        for group, chosen in (("agree", ~mask), ("disagree", mask)):
            rows.append(
                {
                    "pair": pair,
                    "seed": seed,
                    "noises": group,
                    "median share": share[chosen].median().item(),
                }
            )
    return pd.DataFrame(rows)


def replaceable_until(curve: pd.DataFrame, share: float = 0.9) -> int:
    """The smallest switch time t such that switching at t or earlier leaves at least `share` of
    B's images the same (the curve read from t = 999 down)."""
    held = (curve["same as B's own"] >= share).cummin()
    return int(curve["t"][held].min())


def opening_step(eigenvalue: float) -> int:
    """The first DDPM step at which the noise variance sigma_t^2 = s_t^2 / a_t^2 reaches `eigenvalue`:
    where the weight of that direction opens (equation weight-limit)."""
    if not eigenvalue > 0:
        raise ValueError(f"eigenvalue={eigenvalue} is not allowed; allowed: a number > 0")
    ab = alphas_cumprod().double()
    reached = ((1 - ab) / ab >= eigenvalue).nonzero()
    return int(reached[0]) if len(reached) else T - 1


def _grid_coefficients(steps: int, t_start: int = T - 1) -> tuple[torch.Tensor, torch.Tensor]:
    """(a_j, s_j) at the grid's times and at its end (a = 1, s = 0: DDIM's last step), float64."""
    ab = alphas_cumprod().double()[time_grid(steps, t_start)]
    ab = torch.cat([ab, ab.new_ones(1)])
    return ab.sqrt(), (1 - ab).sqrt()


def _step_maps(
    eigenvalues: torch.Tensor, steps: int, eta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per step j: the weight c_j of the x_0 prediction in x_{j+1}, and m_jk (steps, directions)."""
    check_settings("ddim", steps, T - 1, eta)
    if eigenvalues.dim() != 1 or not (eigenvalues >= 0).all():
        raise ValueError(
            f"eigenvalues of shape {tuple(eigenvalues.shape)} are not allowed; allowed: a 1-d tensor "
            f"of values >= 0 (a covariance's eigenvalues)"
        )
    a, s = _grid_coefficients(steps)
    variance = eta**2 * (s[1:] ** 2 / s[:-1] ** 2) * (1 - a[:-1] ** 2 / a[1:] ** 2)
    kept = (s[1:] ** 2 - variance).clamp_min(0).sqrt()
    c = a[1:] - kept * a[:-1] / s[:-1]
    lam = eigenvalues.double().cpu()[None]  # the closed form is a small table: float64, on the CPU
    gain = a[:-1, None] * lam / (a[:-1, None] ** 2 * lam + s[:-1, None] ** 2)
    return c, (kept / s[:-1])[:, None] + c[:, None] * gain


def _after(m: torch.Tensor) -> torch.Tensor:
    """prod_{i > j} m_i for each j (the identity after the last step)."""
    return torch.cat([m[1:], m.new_ones(1, m.shape[1])]).flip(0).cumprod(0).flip(0)


def x0_weights(eigenvalues: torch.Tensor, steps: int, eta: float = 0.0) -> torch.Tensor:
    """W (steps, directions): a change of the x_0 prediction at step j along principal direction k
    moves the Gaussian denoiser's final image (its mean, for eta > 0) by W_jk times as much."""
    c, m = _step_maps(eigenvalues, steps, eta)
    return c[:, None] * _after(m)


def kick_gains(eigenvalues: torch.Tensor, steps: int, eta: float = 0.0) -> torch.Tensor:
    """G (steps, directions): a kick of the state at step j along direction k, of size s_j (the
    noise's scale there), moves the Gaussian denoiser's final image (its mean) by G_jk."""
    _, m = _step_maps(eigenvalues, steps, eta)
    _, s = _grid_coefficients(steps)
    return s[:-1, None] * m * _after(m)


class Nudged(Denoiser):
    """`base` with `delta` added to its x_0 prediction at time t only: the change whose effect
    x0_weights predicts."""

    def __init__(self, base: Denoiser, t: int, delta: torch.Tensor):
        super().__init__(base.alphas_cumprod.float(), base.sample_shape)
        self.base, self.t, self.dtypes = base, t, base.dtypes
        self.register_buffer("delta", delta, persistent=False)

    def x0(self, x, t):
        at = (t == self.t).to(x.dtype).view(-1, *[1] * (x.dim() - 1))
        return self.base.x0(x, t) + at * self.delta


def kicked_change(
    denoiser: Denoiser,
    x_t: torch.Tensor,
    step: int,
    steps: int,
    direction: torch.Tensor,
    kick: float = 0.1,
    eta: float = 0.0,
    seed: int = 0,
) -> torch.Tensor:
    """How far each final image moves, per unit of kick, when the states x_t at DDIM step `step` of
    `steps` are kicked by kick * s_t along `direction` (a unit image). With eta > 0 both runs draw
    the same fresh noise (generator seeded by `seed`), so only the kick differs."""
    if not isinstance(step, int) or not 0 <= step < steps:
        raise ValueError(
            f"step={step!r} is not allowed; allowed: integers 0..steps-1 = {steps - 1}"
        )
    t = time_grid(steps, T - 1)[step]
    s = (1 - alphas_cumprod().double()[t]).sqrt().item()

    def end(x):
        generator = torch.Generator().manual_seed(seed) if eta > 0 else None
        return sample(denoiser, x, "ddim", steps - step, t_start=t, eta=eta, generator=generator)

    return (end(x_t + kick * s * direction) - end(x_t)) / kick


def along(images: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """Each image's component along a unit image."""
    return images.flatten(1).double() @ direction.flatten().double()


def weight_check(
    gaussian, noise: torch.Tensor, steps: int, directions: torch.Tensor, cases, eta: float = 0.0
):
    """For each (step j, direction k) of `cases`: the closed-form W_jk beside the move of the Gaussian
    denoiser's own images along u_k when its x_0 prediction is nudged by u_k at step j, and the
    largest relative error over the images and pixels; the noise's dtype (float32 or float64) sets
    the precision of the check."""
    weights = x0_weights(gaussian.eigenvalues.flip(0), steps, eta)
    run = lambda d: sample(
        d, noise, "ddim", steps, eta=eta, generator=torch.Generator().manual_seed(0), cache=False
    )
    plain, rows = run(gaussian), []
    for j, k in cases:
        u = directions[:, k].view(noise.shape[1:]).to(noise)
        moved = run(Nudged(gaussian, time_grid(steps, T - 1)[j], u)) - plain
        error = (moved - weights[j, k] * u).abs().max().item() / weights[j, k].abs().item()
        rows.append(
            {
                "step": j,
                "t": time_grid(steps, T - 1)[j],
                "direction": k,
                "W": weights[j, k].item(),
                "measured": along(moved, u).mean().item(),
                "relative error": error,
            }
        )
    return pd.DataFrame(rows)


def mean_gains(
    denoiser: Denoiser,
    states: torch.Tensor,
    kicked_steps,
    steps: int,
    direction: torch.Tensor,
    eta: float = 0.0,
) -> list[float]:
    """The mean over noises of the final move along `direction` per unit kick (kicked_change), at each
    of `kicked_steps`; `states` are the trajectory's x_t at every step."""
    return [
        along(kicked_change(denoiser, states[j], j, steps, direction, eta=eta), direction)
        .mean()
        .item()
        for j in kicked_steps
    ]


def kick_table(
    denoiser: Denoiser,
    states: dict,
    kicked_steps,
    steps: int,
    direction: torch.Tensor,
    eigenvalue: torch.Tensor,
    times: list[int],
) -> pd.DataFrame:
    """Prediction 2's measurement: for each seed's trajectory (states[seed]: x_t at every step)
    and each kicked step, the mean gain of a kick along `direction` run deterministically and
    stochastically (mean_gains), beside the Gaussian's closed-form gains for `eigenvalue`."""
    closed = {eta: kick_gains(eigenvalue, steps, eta)[:, 0] for eta in (0.0, 1.0)}
    rows = []
    for seed, x in states.items():
        ode, sde = (
            mean_gains(denoiser, x, kicked_steps, steps, direction, eta) for eta in (0.0, 1.0)
        )
        rows += [
            {
                "seed": seed,
                "t": times[j],
                "ODE": o,
                "stochastic": s,
                "ODE, Gaussian": closed[0.0][j].item(),
                "stochastic, Gaussian": closed[1.0][j].item(),
            }
            for j, o, s in zip(kicked_steps, ode, sde)
        ]
    return pd.DataFrame(rows)


def commitment_times(
    empirical, noise: torch.Tensor, steps: int, share: float = 0.5
) -> torch.Tensor:
    """Per noise, the first DDIM time at which the empirical denoiser's own trajectory puts more than
    `share` of its posterior weight on one training image (0 if it never does)."""
    _, path = sample(empirical, noise, "ddim", steps, return_trajectory=True)
    reached = (path.apply(empirical.top_weight) > share).cpu()
    return torch.where(reached.any(0), first_time(path.t, reached), 0)


def decision_times(
    times: list[int],
    switched_images: torch.Tensor,
    empirical,
    noise: torch.Tensor,
    threshold: float,
) -> dict:
    """For two widths trained on one set, switched from one to the other (`switched`): their
    RP, when half of their difference is born (median over noises), and when the set's empirical
    denoiser commits to one training image (median over noises)."""
    return {
        "rp": metrics.rp_score(switched_images[0], switched_images[-1], threshold),
        # medians of grid times (torch's median is one of the values): times, glued as integers
        "half born": int(born_by(times, birth_budget(switched_images)).median()),
        "optimal commits": int(commitment_times(empirical, noise, len(times)).median()),
    }
