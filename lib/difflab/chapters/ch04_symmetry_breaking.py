"""Spontaneous symmetry breaking (Raya and Ambrogioni, NeurIPS 2023) in closed form.

Under the VP process x_t = theta y + sqrt(1 - theta^2) z, theta = sqrt(alpha_bar_t), the generative
dynamics is a gradient flow dx = -u'(x) dt in the potential u = beta (-x^2/4 - log p_t(x)). For data
at +1 and -1 the potential has one well at 0 while theta < theta_c and splits into two after:
a pitchfork bifurcation. For centred data whose covariance has top eigenvalue lambda, the centre
loses stability along the top direction when theta^4 + 2 lambda theta^2 - 1 = 0.

The closed forms are in numpy; the measurements through any denoiser in torch: the potential's
curvature (a Hessian by automatic differentiation, or a fit along a line), cloned trajectories,
and the quality of samples started late from pure noise.
"""

import math

import numpy as np
import pandas as pd
import torch
from scipy.integrate import cumulative_trapezoid
from tqdm import tqdm

from difflab.book.sample_cache import sample
from difflab.core.data import gaussian_mixture
from difflab.core.denoisers import GaussianMixtureDenoiser
from difflab.core.gaussian import check_theta
from difflab.core.sampling import seeded_noise
from difflab.core.schedule import T, alphas_cumprod, forward_process, noise_to


def potential(x, theta: float, beta: float = 1.0):
    """u(x) = beta (-x^2/4 - log[exp(-(x - theta)^2 / 2v) + exp(-(x + theta)^2 / 2v)]), v = 1 - theta^2:
    the two-point data's potential, up to a constant in x."""
    check_theta(theta)
    v = 1 - theta**2
    return beta * (
        -np.square(x) / 4
        - np.logaddexp(-np.square(x - theta) / (2 * v), -np.square(x + theta) / (2 * v))
    )


def score(x, theta: float):
    """d/dx log p_t(x) of the noised two-point data: (theta tanh(theta x / v) - x) / v."""
    check_theta(theta)
    v = 1 - theta**2
    return (theta * np.tanh(theta * np.asarray(x) / v) - x) / v


def fixed_points(theta: float, tol: float = 1e-13) -> np.ndarray:
    """The zeros of u'(x), i.e. of x = a tanh(b x) with a = 2 theta / (1 + theta^2), b = theta / v:
    0 alone while a b <= 1 (theta <= theta_c), then also +-x*, found by bisection on (0, a]."""
    check_theta(theta)
    a, b = 2 * theta / (1 + theta**2), theta / (1 - theta**2)
    if a * b <= 1:
        return np.array([0.0])
    lo, hi = tol, a  # x - a tanh(b x) is < 0 just above 0 and >= 0 at x = a
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mid - a * math.tanh(b * mid) < 0 else (lo, mid)
    return np.array([-hi, 0.0, hi])


def curvature_at_centre(theta, beta: float = 1.0):
    """u''(0) = -beta [1/2 + (2 theta^2 - 1) / (theta^2 - 1)^2]: positive (a stable well) before theta_c."""
    check_theta(theta)
    theta = np.asarray(theta)
    return -beta * (0.5 + (2 * theta**2 - 1) / (theta**2 - 1) ** 2)


def potential_from_score(x: np.ndarray, theta: float) -> np.ndarray:
    """u(x) - u(0) per unit beta on a grid x with 0 at its centre, by integrating -(x/2 + score)
    of the exact score: an independent check of `potential`, which uses no closed form."""
    u = cumulative_trapezoid(-(x / 2 + score(x, theta)), x, initial=0)
    return u - u[len(x) // 2]


def curvature_from_score(x: np.ndarray, theta: float) -> float:
    """u''(0) by a second difference of potential_from_score: the check of curvature_at_centre."""
    u, centre = potential_from_score(x, theta), len(x) // 2
    return (u[centre + 1] - 2 * u[centre] + u[centre - 1]) / (x[1] - x[0]) ** 2


def potential_mismatch(x: np.ndarray, theta: float) -> float:
    """The largest gap between potential_from_score and the closed form, relative to the latter's largest value."""
    closed = potential(x, theta) - potential(0.0, theta)
    return np.abs(potential_from_score(x, theta) - closed).max() / np.abs(closed).max()


def ou_time(step) -> np.ndarray:
    """The OU time t = -1/2 log(alpha_bar) of a DDPM step (Biroli et al.'s clock); a measured step
    is rounded to the nearest one, and NaN (nothing measured: a crossing never reached) stays NaN."""
    clock = -0.5 * np.log(alphas_cumprod().double().numpy())
    step = np.asarray(step, dtype=float)
    return np.where(np.isnan(step), np.nan, clock[np.round(np.nan_to_num(step)).astype(int)])[()]


def hessian_min(denoiser, x: torch.Tensor, t: int) -> float:
    """The smallest eigenvalue of the potential's Hessian (per unit beta) at one point x (one image,
    batch of one), by automatic differentiation of the denoiser: with score = (a D(x) - x) / s^2
    it is -1/2 - (a mu - 1) / s^2, mu the top eigenvalue of the symmetrised Jacobian of D.
    Positive: x sits in a well; negative: the flow pulls apart along some direction."""
    time = torch.full((1,), t, dtype=torch.long, device=x.device)
    jacobian = torch.autograd.functional.jacobian(
        lambda y: denoiser.x0(y, time).flatten(), x, vectorize=True
    )
    jacobian = jacobian.reshape(x.numel(), x.numel()).double()
    top = torch.linalg.eigvalsh((jacobian + jacobian.T) / 2)[-1].item()
    a, s = (c.item() for c in denoiser.coefficients(time, x))
    return -0.5 - (a * top - 1) / s**2


@torch.no_grad()
def drift_along(
    denoiser, centre: torch.Tensor, direction: torch.Tensor, t: int, offsets
) -> np.ndarray:
    """The generative drift x/2 + score (per unit beta) at centre + r * direction for each offset r,
    projected on the unit vector `direction`: minus the slope of the potential along that line."""
    offsets = torch.as_tensor(np.asarray(offsets), dtype=torch.float64, device=centre.device)
    e = direction.flatten().double()
    x = (
        (centre.flatten().double()[None] + offsets[:, None] * e[None])
        .float()
        .view(-1, *centre.shape[1:])
    )
    time = torch.full((len(x),), t, dtype=torch.long, device=x.device)
    a, s = denoiser.coefficients(time, x)
    score = (a * denoiser.x0(x, time) - x) / s**2
    return ((x / 2 + score).flatten(1).double() @ e).cpu().numpy()


def curvature_along(
    denoiser, centre: torch.Tensor, direction: torch.Tensor, t: int, radius: float, points: int = 21
) -> float:
    """u'' at the centre along `direction`: minus the slope of the projected drift, fitted by least
    squares over |r| <= radius. A finite radius averages out a network's roughness, which an exact
    Jacobian at one point does not. Positive: a well (linear phase); negative: a barrier."""
    offsets = np.linspace(-radius, radius, points)
    return -np.polyfit(offsets, drift_along(denoiser, centre, direction, t, offsets), 1)[0]


def centre_curvatures(
    denoiser,
    mean: torch.Tensor,
    direction: torch.Tensor,
    steps,
    top_eigenvalue: float,
    shape: tuple[int, ...],
    device: str = "cpu",
    radius_scale: float = 1.0,
) -> np.ndarray:
    """curvature_along `direction` at the centre theta_t mean of the noised data, at each step,
    fitted over radius_scale theta_t sqrt(top_eigenvalue) (by default one standard deviation of the
    noised data along the top principal direction). Its sign change is the critical time measured
    through `denoiser`; radius_scale shows how much that depends on the fit's window."""
    if not radius_scale > 0:
        raise ValueError(f"radius_scale={radius_scale} is not allowed; allowed: a positive number")
    theta = alphas_cumprod().double().sqrt().numpy()
    e = direction.float().view(shape).to(device)
    return np.array(
        [
            curvature_along(
                denoiser,
                (theta[t] * mean).float().view(1, *shape).to(device),
                e,
                int(t),
                radius_scale * theta[t] * np.sqrt(top_eigenvalue),
            )
            for t in tqdm(steps, desc="potential along e")
        ]
    )


def first_crossing(steps, values, level: float = 0.0) -> float:
    """The step, linearly interpolated, at which `values` first crosses `level` in generation order
    (from high steps to low); nan if it never does."""
    steps, values = np.asarray(steps, dtype=float), np.asarray(values, dtype=float) - level
    order = np.argsort(-steps)
    steps, values = steps[order], values[order]
    for k in range(len(steps) - 1):
        if values[k] == 0 or values[k] * values[k + 1] < 0:
            return steps[k] + (steps[k + 1] - steps[k]) * values[k] / (values[k] - values[k + 1])
    return float("nan")


def stochastic_steps(t: int) -> int:
    """The stochastic sampler's steps from step t: one per 25 training steps, as from T - 1 with 40."""
    return -(-(t + 1) // 25)


def continue_twice(
    denoiser, x_t: torch.Tensor, t: int, steps: int, seeds, batch_size: int = 500
) -> list[torch.Tensor]:
    """Two continuations of the same x_t by the stochastic sampler (DDIM at eta = 1, `steps` steps
    from step t), under independent noise drawn from the two `seeds`: a cloned trajectory."""
    return [
        sample(
            denoiser,
            x_t,
            "ddim",
            steps,
            t_start=t,
            eta=1.0,
            batch_size=batch_size,
            generator=torch.Generator().manual_seed(seed),
        ).cpu()
        for seed in seeds
    ]


@torch.no_grad()
def clone_agreement(
    denoiser, images: torch.Tensor, t: int, n: int, seed: int, judges: dict, device: str = "cpu"
) -> dict[str, float]:
    """Cloning: noise n of `images` (drawn by the seed) to step t, continue each twice with the
    stochastic sampler under independent noise, and return for each judge (a function from images
    to labels) the share of pairs whose two copies it labels alike. Before the critical time the
    copies forget their common start (chance agreement); after it, the start decides."""
    if not 0 <= t < T or not 1 <= n <= len(images):
        raise ValueError(
            f"t={t}, n={n} are not allowed; allowed: 0 <= t < {T}, 1 <= n <= {len(images)} (the images given)"
        )
    g = torch.Generator().manual_seed(1000 * seed + t)
    y = images[torch.randperm(len(images), generator=g)[:n]]
    x_t = forward_process().add_noise(y, torch.randn(y.shape, generator=g), torch.tensor([t]))
    copies = continue_twice(
        denoiser, x_t.to(device), t, stochastic_steps(t), (2 * seed + 1, 2 * seed + 2)
    )
    return {
        name: (judge(copies[0]) == judge(copies[1])).double().mean().item()
        for name, judge in judges.items()
    }


@torch.no_grad()
def mixture_cloning(centres: torch.Tensor, std: float, steps, n: int) -> dict[str, np.ndarray]:
    """Cloning where the exact answer is known: for two Gaussian clusters at `centres` (+-m e_1),
    at each step t, n points of the mixture (seed t) noised to x_t and continued twice with a
    sampler step of 4; the share of pairs that end on the same side of the first coordinate
    ("same"), and the exact rate E sum_k P(k | x_t)^2 of the exact dynamics ("exact")."""
    mixture = GaussianMixtureDenoiser(centres, std)
    same, exact = [], []
    for t in tqdm(steps, desc="cloning (mixture)"):
        y, _ = gaussian_mixture(n, centres.shape[1], centres, std, seed=int(t))
        x_t = noise_to(y, int(t), torch.Generator().manual_seed(int(t)))
        copies = continue_twice(mixture, x_t, int(t), (int(t) + 1) // 4, (1, 2), batch_size=n)
        same.append(((copies[0][:, 0] > 0) == (copies[1][:, 0] > 0)).double().mean().item())
        exact.append(
            mixture.posterior(x_t.double(), torch.full((n,), int(t))).pow(2).sum(1).mean().item()
        )
    return {"step": np.asarray(steps), "same": np.array(same), "exact": np.array(exact)}


@torch.no_grad()
def two_point_kicks(denoiser, steps, n: int, kick: float = 0.1) -> np.ndarray:
    """For each step t_k: n points of the two-point data (+-1) drawn exactly from p_{t_k}, continued
    by the stochastic sampler with and without a kick of `kick` and the same noise afterwards; the
    share whose end changes side. Small where a well undoes the kick, large where a ridge decides."""
    flips = []
    for t_k in tqdm(steps, desc="kicks"):
        g = torch.Generator().manual_seed(int(t_k))
        y = torch.where(torch.rand(n, 1, generator=g) < 0.5, -1.0, 1.0)
        x_k = noise_to(y, int(t_k), g)
        ends = [
            sample(
                denoiser,
                x_k + push,
                "ddim",
                int(t_k) + 1,
                t_start=int(t_k),
                eta=1.0,
                batch_size=n,
                generator=torch.Generator().manual_seed(7),
            )
            for push in (0.0, kick)
        ]
        flips.append((ends[0].sign() != ends[1].sign()).double().mean().item())
    return np.array(flips)


def clone_curve(
    denoiser, images: torch.Tensor, steps, n: int, seed: int, judges: dict, device: str = "cpu"
) -> list[dict]:
    """clone_agreement at each step, one row per step (the step, then each judge's agreement)."""
    return [
        {"step": int(t), **clone_agreement(denoiser, images, int(t), n, seed, judges, device)}
        for t in tqdm(steps, desc=f"cloning, seed {seed}")
    ]


def clone_table(
    denoisers: dict,
    seeds: dict,
    images: torch.Tensor,
    steps,
    n: int,
    judges: dict,
    device: str = "cpu",
) -> pd.DataFrame:
    """clone_curve of each denoiser (by name) at each of its seeds (seeds[name]), one row per
    denoiser, seed and step."""
    return pd.DataFrame(
        [
            {"denoiser": name, "seed": seed, **row}
            for name, name_seeds in seeds.items()
            for seed in name_seeds
            for row in clone_curve(denoisers[name], images, steps, n, seed, judges, device)
        ]
    )


def crossing_steps(clones: pd.DataFrame, judge: str, level: float) -> pd.Series:
    """Per (denoiser, seed) of clone_table's rows, the step at which `judge`'s agreement first
    crosses `level` (first_crossing)."""
    return pd.Series(
        {
            key: first_crossing(rows["step"], rows[judge], level)
            for key, rows in clones.groupby(["denoiser", "seed"])
        }
    )


@torch.no_grad()
def noise_start_fid(
    denoiser, distance, starts, n: int, seed: int, device: str = "cpu"
) -> dict[int, float]:
    """FID (by `distance`, a quality.FeatureDistance) of n samples of the stochastic sampler started
    at each step t_s from pure noise N(0, I) instead of from the noised data p_{t_s}; one seed's
    noise serves every start, so the starts differ only in where the sampler begins."""
    shape = distance.reference_shape
    noise = seeded_noise(seed, n, shape)
    return {
        t_s: distance.fid(
            sample(
                denoiser,
                noise.to(device),
                "ddim",
                stochastic_steps(t_s),
                t_start=t_s,
                eta=1.0,
                generator=torch.Generator().manual_seed(seed),
            ).cpu()
        )
        for t_s in tqdm(starts, desc=f"start times, seed {seed}")
    }
