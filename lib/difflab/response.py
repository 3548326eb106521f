"""How much a change made at one step of DDIM reaches the final image: in closed form for the
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

import pandas as pd
import torch

from .denoisers import Denoiser
from .sampling import _check, sample, time_grid
from .schedule import T, alphas_cumprod


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


def _step_maps(eigenvalues: torch.Tensor, steps: int, eta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per step j: the weight c_j of the x_0 prediction in x_{j+1}, and m_jk (steps, directions)."""
    _check("ddim", steps, T - 1, eta)
    if eigenvalues.dim() != 1 or not (eigenvalues >= 0).all():
        raise ValueError(f"eigenvalues of shape {tuple(eigenvalues.shape)} are not allowed; allowed: a 1-d tensor "
                         f"of values >= 0 (a covariance's eigenvalues)")
    a, s = _grid_coefficients(steps)
    variance = eta ** 2 * (s[1:] ** 2 / s[:-1] ** 2) * (1 - a[:-1] ** 2 / a[1:] ** 2)
    kept = (s[1:] ** 2 - variance).clamp_min(0).sqrt()
    c = a[1:] - kept * a[:-1] / s[:-1]
    lam = eigenvalues.double().cpu()[None]             # the closed form is a small table: float64, on the CPU
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


def kicked_change(denoiser: Denoiser, x_t: torch.Tensor, step: int, steps: int, direction: torch.Tensor,
                  kick: float = 0.1, eta: float = 0.0, seed: int = 0) -> torch.Tensor:
    """How far each final image moves, per unit of kick, when the states x_t at DDIM step `step` of
    `steps` are kicked by kick * s_t along `direction` (a unit image). With eta > 0 both runs draw
    the same fresh noise (generator seeded by `seed`), so only the kick differs."""
    if not isinstance(step, int) or not 0 <= step < steps:
        raise ValueError(f"step={step!r} is not allowed; allowed: integers 0..steps-1 = {steps - 1}")
    t = time_grid(steps, T - 1)[step]
    s = (1 - alphas_cumprod().double()[t]).sqrt().item()

    def end(x):
        generator = torch.Generator().manual_seed(seed) if eta > 0 else None
        return sample(denoiser, x, "ddim", steps - step, t_start=t, eta=eta, generator=generator)

    return (end(x_t + kick * s * direction) - end(x_t)) / kick


def along(images: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """Each image's component along a unit image."""
    return images.flatten(1).double() @ direction.flatten().double()


def weight_check(gaussian, noise: torch.Tensor, steps: int, directions: torch.Tensor, cases, eta: float = 0.0):
    """For each (step j, direction k) of `cases`: the closed-form W_jk beside the move of the Gaussian
    denoiser's own images along u_k when its x_0 prediction is nudged by u_k at step j, and the
    largest relative error over the images and pixels; the noise's dtype (float32 or float64) sets
    the precision of the check."""
    weights = x0_weights(gaussian.eigenvalues.flip(0), steps, eta)
    run = lambda d: sample(d, noise, "ddim", steps, eta=eta, generator=torch.Generator().manual_seed(0), cache=False)
    plain, rows = run(gaussian), []
    for j, k in cases:
        u = directions[:, k].view(noise.shape[1:]).to(noise)
        moved = run(Nudged(gaussian, time_grid(steps, T - 1)[j], u)) - plain
        error = (moved - weights[j, k] * u).abs().max().item() / weights[j, k].abs().item()
        rows.append({"step": j, "t": time_grid(steps, T - 1)[j], "direction": k, "W": weights[j, k].item(),
                     "measured": along(moved, u).mean().item(), "relative error": error})
    return pd.DataFrame(rows)


def mean_gains(denoiser: Denoiser, states: torch.Tensor, kicked_steps, steps: int, direction: torch.Tensor,
               eta: float = 0.0) -> list[float]:
    """The mean over noises of the final move along `direction` per unit kick (kicked_change), at each
    of `kicked_steps`; `states` are the trajectory's x_t at every step."""
    return [along(kicked_change(denoiser, states[j], j, steps, direction, eta=eta), direction).mean().item()
            for j in kicked_steps]
