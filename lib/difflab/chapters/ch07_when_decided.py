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

import warnings

import numpy as np
import pandas as pd
import torch
from scipy.stats import rankdata

from difflab.book.sample_cache import sample
from difflab.book.tables import decided, predictions_table, row_bands
from difflab.core import intervals, metrics
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


def own_similarity(switched_images: torch.Tensor) -> torch.Tensor:
    """For each switch time t_j and noise, the centred pixel cosine of S_j with S_0 (B's own image),
    shape (steps, batch)."""
    return torch.stack(
        [metrics.pair_similarity(s, switched_images[0]) for s in switched_images[1:]]
    )


def switching_curve(
    times: list[int], switched_images: torch.Tensor, threshold: float
) -> pd.DataFrame:
    """For each switch time t_j: the share of noises whose S_j is still the same image as S_0
    (centred pixel cosine above `threshold`) and the median of that cosine."""
    same = own_similarity(switched_images)
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


def noise_gains(
    denoiser: Denoiser,
    states: torch.Tensor,
    kicked_steps,
    steps: int,
    direction: torch.Tensor,
    eta: float = 0.0,
) -> list[torch.Tensor]:
    """Per noise, the final move along `direction` per unit kick (kicked_change), at each of
    `kicked_steps`, on the CPU; `states` are the trajectory's x_t at every step."""
    return [
        along(kicked_change(denoiser, states[j], j, steps, direction, eta=eta), direction).cpu()
        for j in kicked_steps
    ]


def kicks_by_noise(
    denoiser: Denoiser, states: dict, kicked_steps, steps: int, direction: torch.Tensor
) -> dict[tuple[int, float, int], torch.Tensor]:
    """Prediction 2's measurement: for each seed's trajectory (states[seed]: x_t at every step),
    each kicked step j and each eta (0: the ODE; 1: stochastic), the per-noise gain of a kick along
    `direction` (noise_gains): {(seed, eta, j): gains}."""
    return {
        (seed, eta, j): gains
        for seed, x in states.items()
        for eta in (0.0, 1.0)
        for j, gains in zip(kicked_steps, noise_gains(denoiser, x, kicked_steps, steps, direction, eta))
    }  # fmt: skip


def kick_table(gains: dict, eigenvalue: torch.Tensor, steps: int, times: list[int]) -> pd.DataFrame:
    """For each seed and kicked step of kicks_by_noise's gains, their mean run deterministically and
    stochastically, beside the Gaussian's closed-form gains for `eigenvalue`."""
    closed = {eta: kick_gains(eigenvalue, steps, eta)[:, 0] for eta in (0.0, 1.0)}
    rows = [
        {
            "seed": seed,
            "t": times[j],
            "ODE": values.mean().item(),
            "stochastic": gains[seed, 1.0, j].mean().item(),
            "ODE, Gaussian": closed[0.0][j].item(),
            "stochastic, Gaussian": closed[1.0][j].item(),
        }
        for (seed, eta, j), values in gains.items()
        if eta == 0.0
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


def decision_arrays(
    times: list[int],
    switched_images: torch.Tensor,
    empirical,
    noise: torch.Tensor,
    threshold: float,
) -> dict[str, np.ndarray]:
    """For two widths trained on one set, switched from one to the other (`switched`), per noise:
    whether they make the same image (above `threshold`), when half of their difference is born,
    and when the set's empirical denoiser commits to one training image."""
    same = metrics.pair_similarity(switched_images[0], switched_images[-1]) > threshold
    return {
        "same": same.cpu().numpy(),
        "half born": born_by(times, birth_budget(switched_images)).cpu().numpy(),
        "optimal commits": commitment_times(empirical, noise, len(times)).cpu().numpy(),
    }


def decision_summary(arrays: dict[str, np.ndarray]) -> dict:
    """decision_arrays' RP and the median times (torch's median, one of the grid's times, glued
    as integers)."""
    lower = lambda values: int(intervals.lower_median(values))
    return {
        "rp": float(arrays["same"].mean()),
        "half born": lower(arrays["half born"]),
        "optimal commits": lower(arrays["optimal commits"]),
    }


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
    return decision_summary(decision_arrays(times, switched_images, empirical, noise, threshold))


def joined(by_seed: dict) -> np.ndarray:
    """Per-seed arrays whose last axis runs over each seed's noises, joined along it in seed order."""
    return np.concatenate(
        [v.cpu().numpy() if torch.is_tensor(v) else np.asarray(v) for v in by_seed.values()], -1
    )


def per_noise_table(
    times: list[int],
    threshold: float,
    kicks: dict,
    gains: dict,
    commitments: dict,
    disagree: dict,
    switched: dict,
    budgets: dict,
    bands: dict,
    ancestry: dict,
    shared: dict,
    sensitivity: dict,
    distance: dict,
    decisions: dict,
    near_gaussian: dict,
) -> dict:
    """Every per-noise array the predictions read, the seeds' noises joined in order: kicks[seed,
    eta, j] (kicks_by_noise); gains[model, seed] (prediction_gain); commitments and disagree[pair,
    seed]; switched[pair, seed] (switched images) and budgets (birth_budget); bands[pair, seed]
    (band_births); ancestry[model, seed] (the Gaussian switched to the model); shared[run, seed]
    (whether the U-Net and the DiT make the same image from the noise, "own", and from the
    Gaussian's state, "shared"); sensitivity and distance[seed]; decisions[n, seed]
    (decision_arrays); near_gaussian[seed] (the v / EDM pair's birth_budget)."""
    by = lambda source, *head: {s: v for k, v in source.items() if k[:-1] == head for s in [k[-1]]}
    pairs = {pair for pair, _ in switched}
    same, ancestral = same_as_own(switched, threshold), same_as_own(ancestry, threshold)
    return {
        **{("kick", eta, times[j]): joined({s: v for (s, e, jj), v in kicks.items() if (e, jj) == (eta, j)})
           for (_, eta, j) in kicks},
        **{("knows", m): joined(by(gains, m)) for m, _ in gains},
        **{("commitment", p): joined(by(commitments, p)) for p in pairs},
        **{("disagree", p): joined(by(disagree, p)) for p in pairs},
        **{("same", p): joined(by(same, p)) for p in pairs},
        **{("early share", p): joined({s: early_share(times, b, 599) for s, b in by(budgets, p).items()})
           for p in pairs},
        **{("bands", p): joined(by(bands, p)) for p in pairs},
        **{("ancestor", m): joined(by(ancestral, m)) for m, _ in ancestry},
        **{("shared", run): joined(by(shared, run)) for run, _ in shared},
        "sensitivity": joined(sensitivity),
        "distance": joined(distance),
        **{(key, n): joined({s: d[key] for s, d in by(decisions, n).items()})
           for n, _ in decisions for key in ("half born", "optimal commits")},
        ("early share", "near Gaussian"): joined(
            {s: early_share(times, b, 599) for s, b in near_gaussian.items()}
        ),
    }  # fmt: skip


PREDICTIONS = {
    "kick_ode": "2. the U-Net's ODE gain within 30% of the closed form",
    "kick_sde_999": "2. its stochastic gain below a quarter of it at t = 999",
    "kick_sde_719": "2. ... and at every t >= 719",
    "knows_early": "3. its prediction knows no more than the Gaussian's",
    "knows_peak": "3. the gain peaks after the critical steps",
    "commit_runs": "4. committed to the partner at t >= 599: two runs",
    "commit_dit": "4. ... U-Net vs DiT",
    "switch_runs": "5. switching at t >= 639 keeps 95%: two runs",
    "switch_dit": "5. ... U-Net vs DiT",
    "early_runs": "6. at most 20% born at t >= 599: two runs",
    "early_dit": "6. ... U-Net vs DiT",
    "cascade": "7. the top bands are born first",
    "opening": "7. no band before its opening time",
    "ancestor": "8. the Gaussian replaces each model to t = 759",
    "shared": "8. the Gaussian's state lowers RP by <= 0.02",
    "sensitivity": "9. sensitivity goes with disagreement",
    "memo_half": "10. born earlier at the smallest set",
    "memo_commit": "10. D* of the smallest set commits by t = 400",
    "near_gaussian": "11. v / EDM: under 20% born early, below two runs",
}


def _lower_median_where(values, mask):
    """The lower median over the last axis of the values where `mask` holds; NaN where it holds
    nowhere (a resample that drew none of those noises: the bootstrap leaves it out)."""
    chosen = np.where(mask, values, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": that NaN is the answer
        return np.nanquantile(chosen, 0.5, axis=-1, method="lower")


def _spearman(x, y):
    """Spearman's correlation over the last axis (rows of resamples at once)."""
    rx, ry = (rankdata(v, axis=-1) for v in (x, y))
    rx, ry = (r - r.mean(-1, keepdims=True) for r in (rx, ry))
    return (rx * ry).sum(-1) / np.sqrt((rx**2).sum(-1) * (ry**2).sum(-1))


KNOWS_BOUND = 0.05  # prediction 3: the most a prediction may know beyond the Gaussian at t >= 639
EARLY_BOUND = 0.2  # predictions 6 and 11: the largest share of the difference born at t >= 599


def margins(times: list[int], closed_ode: dict, openings: dict, pairs, models, ends) -> dict:
    """Each prediction's deciding difference (positive: as predicted), a function of a table of
    per-noise arrays (per_noise_table, or its resample at some noises). closed_ode[t]: the
    Gaussian's closed-form ODE gain at a kicked t; openings[band]: its opening time; pairs: (the two
    runs, the U-Net and the DiT); models: those the Gaussian replaces; ends: chapter 3's sweep's
    (smallest, largest) training set."""
    t = np.asarray(times)
    median = lambda x: intervals.lower_median(x, axis=-1)
    worst = lambda values: np.min(np.stack(list(values)), axis=0)
    ode = lambda tab, s: tab["kick", 0.0, s].mean(-1)
    ratio = lambda tab, s: tab["kick", 1.0, s].mean(-1) / ode(tab, s)
    knows = lambda tab, m, rows: median(tab["knows", m][rows]).max(0)
    commit = lambda tab, p: (
        0.5 - _lower_median_where(tab["commitment", p][t >= 599], tab["disagree", p]).max(0)
    )
    switch = lambda tab, p: tab["same", p][t >= 639].mean(-1).min(0) - 0.95
    early = lambda tab, p: (
        EARLY_BOUND
        - np.maximum(
            *(
                _lower_median_where(tab["early share", p], m)
                for m in (tab["disagree", p], ~tab["disagree", p])
            )
        )
    )
    band_medians = lambda tab, p: median(tab["bands", p])
    runs, dit = pairs
    kicked = [s for s in closed_ode if s >= 719]
    return {
        "kick_ode": lambda tab: worst(0.3 - np.abs(ode(tab, s) / closed_ode[s] - 1) for s in kicked),
        "kick_sde_999": lambda tab: 0.25 - ratio(tab, 999),
        "kick_sde_719": lambda tab: worst(0.25 - ratio(tab, s) for s in kicked),
        "knows_early": lambda tab: worst(KNOWS_BOUND - knows(tab, m, t >= 639) for m in models),
        "knows_peak": lambda tab: worst(knows(tab, m, t <= 599) - knows(tab, m, t >= 639) for m in models),
        "commit_runs": lambda tab: commit(tab, runs),
        "commit_dit": lambda tab: commit(tab, dit),
        "switch_runs": lambda tab: switch(tab, runs),
        "switch_dit": lambda tab: switch(tab, dit),
        "early_runs": lambda tab: early(tab, runs),
        "early_dit": lambda tab: early(tab, dit),
        "cascade": lambda tab: worst(worst(-np.diff(band_medians(tab, p), axis=0)) for p in pairs),
        "opening": lambda tab: worst(
            worst(o - b for o, b in zip(openings.values(), band_medians(tab, p))) for p in pairs
        ),
        "ancestor": lambda tab: worst(tab["ancestor", m][t >= 759].mean(-1).min(0) - 0.9 for m in models),
        "shared": lambda tab: tab["shared", "shared"].mean(-1) - tab["shared", "own"].mean(-1) + 0.02,
        "sensitivity": lambda tab: _spearman(tab["sensitivity"], tab["distance"]) - 0.2,
        "memo_half": lambda tab: median(tab["half born", ends[0]]) - median(tab["half born", ends[1]]),
        "memo_commit": lambda tab: median(tab["optimal commits", ends[0]]) - 400,
        "near_gaussian": lambda tab: np.minimum(EARLY_BOUND, median(tab["early share", runs]))
        - median(tab["early share", "near Gaussian"]),
    }  # fmt: skip


def margin_intervals(table: dict, margin_functions: dict, n_seeds: int) -> dict:
    """Each prediction's deciding difference over all the noises, with its bootstrap interval, and
    at each of the `n_seeds` seeds alone (tables.decided): {key: (interval, per-seed values)}."""
    return {key: decided(margin, table, n_seeds) for key, margin in margin_functions.items()}


def checks(found: dict, exact: dict[str, tuple[str, bool]]) -> pd.DataFrame:
    """The predictions' table: the exact checks first (label: (the value, whether it held)), which
    have no random unit, then tables.predictions_table of margin_intervals."""
    rows = pd.DataFrame(
        {
            label: {"difference [95% interval]": value}
            | dict.fromkeys(("point verdict", "verdict"), "held" if held else "failed")
            for label, (value, held) in exact.items()
        }
    ).T
    measured = predictions_table({PREDICTIONS[key]: result for key, result in found.items()})
    return pd.concat([rows, measured]).fillna("")[measured.columns].rename_axis("prediction")


def measured(found: dict) -> dict[str, intervals.Interval]:
    """The values behind three of margin_intervals' margins, each written as a bound minus the
    value, with their intervals over all the noises: the largest gain at t >= 639 (prediction 3)
    and the shares born early of the two runs and of the U-Net and the DiT (prediction 6)."""
    return {
        "knows_early": found["knows_early"][0].subtracted_from(KNOWS_BOUND),
        "early_share_runs": found["early_runs"][0].subtracted_from(EARLY_BOUND),
        "early_share_dit": found["early_dit"][0].subtracted_from(EARLY_BOUND),
    }


def pooled_curves(times: list[int], by_key: dict, interval) -> tuple[list, dict]:
    """Curves over the steps with the seeds pooled: by_key[label, seed] a (steps, noises) array;
    each label's estimate per step and its 95% band (tables.row_bands with `interval`, a function
    of difflab.core.intervals), as plotting.per_step takes them: (lines, bands)."""
    labels = dict.fromkeys(label for label, _ in by_key)
    lines, bands = [], {}
    for label in labels:
        centre, low, high = row_bands(
            joined({s: v for (k, s), v in by_key.items() if k == label}), interval
        )
        lines.append((label, times, centre))
        bands[label] = (low, high)
    return lines, bands


def same_as_own(switched: dict, threshold: float) -> dict:
    """For each run of `switched` images, whether S_j is still B's own image, (steps, noises)."""
    return {key: own_similarity(images) > threshold for key, images in switched.items()}
