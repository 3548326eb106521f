"""Inverse problems with an unconditional denoiser: recover an image x from a noiseless linear
measurement y = A x, deterministically, so that reproducibility can be asked of the solutions too.

Two solvers:
- projection (DDNM, Wang et al., ICLR 2023): at every step the denoiser's clean-image estimate keeps
  its null-space part and takes its range-space part from the measurement,
  x0' = x0 - A+ (A x0 - y). DDIM at eta = 0 with this estimate is DDIM's own update given x0', and
  its last estimate is its result, so the result satisfies A x = y to float precision.
- DPS (Chung et al., ICLR 2023), deterministic: DPM-Solver++ steps, each followed by a step down the
  gradient, with respect to x_t, of each image's own measurement error ||y - A x0(x_t)|| (per image,
  where the reference code takes one norm over the whole batch).
"""

import pandas as pd
import torch
import torch.nn.functional as F

from . import metrics
from .denoisers import Denoiser
from .sampling import sample, scheduled_times
from .schedule import T


class Operator:
    """A linear measurement A with a right inverse A+ (A A+ = I), so that A+ A projects onto the
    part of an image the measurement fixes, and x - A+ A x is the part it leaves open."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def pinv(self, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def unseen(self, x: torch.Tensor) -> torch.Tensor:
        """What the measurement does not fix: the part of x that a solver must invent."""
        return x - self.pinv(self(x))

    def check(self, y: torch.Tensor, images: torch.Tensor) -> None:
        """A clear error for a measurement that does not fit this operator and these images."""
        expected = tuple(self(images[:1]).shape[1:])
        if y.dim() != images.dim() or len(y) != len(images) or tuple(y.shape[1:]) != expected:
            raise ValueError(f"y has shape {tuple(y.shape)}; allowed: ({len(images)}, {', '.join(map(str, expected))}), "
                             f"one measurement by {self} of each of the {len(images)} images")
        if not torch.isfinite(y).all():
            raise ValueError("y holds non-finite values; allowed: finite measurements")


class Inpainting(Operator):
    """Keep the pixels where `mask` is True: y = mask * x (zeros in the hole); A+ = A."""

    def __init__(self, mask: torch.Tensor):
        if mask.dtype != torch.bool or mask.dim() != 3:
            raise ValueError(f"mask of dtype {mask.dtype} and shape {tuple(mask.shape)} is not allowed; "
                             f"allowed: a bool tensor (channels, height, width), True where a pixel is known")
        self.mask = mask

    @classmethod
    def lower_half(cls, shape: tuple[int, int, int]) -> "Inpainting":
        """The upper half known, the lower half to fill in."""
        mask = torch.ones(shape, dtype=torch.bool)
        mask[:, shape[1] // 2:] = False
        return cls(mask)

    def __call__(self, x):
        if tuple(x.shape[1:]) != tuple(self.mask.shape):
            raise ValueError(f"images of shape {tuple(x.shape)} do not fit a mask of shape {tuple(self.mask.shape)}; "
                             f"allowed: (batch, {', '.join(map(str, self.mask.shape))})")
        return x * self.mask.to(x.device)

    def pinv(self, y):
        return self(y)

    def __repr__(self):
        return f"Inpainting({int((~self.mask).sum())} unknown pixels)"


class Downsampling(Operator):
    """Super-resolution's measurement: the means of factor x factor blocks (16 -> 4 for factor 4);
    A+ repeats each mean over its block."""

    def __init__(self, factor: int):
        if not isinstance(factor, int) or factor < 2:
            raise ValueError(f"factor={factor!r} is not allowed; allowed: an integer >= 2")
        self.factor = factor

    def __call__(self, x):
        if x.shape[-1] % self.factor or x.shape[-2] % self.factor:
            raise ValueError(f"images of shape {tuple(x.shape)} do not tile into {self.factor}x{self.factor} blocks; "
                             f"allowed: height and width divisible by factor={self.factor}")
        return F.avg_pool2d(x, self.factor)

    def pinv(self, y):
        return y.repeat_interleave(self.factor, -2).repeat_interleave(self.factor, -1)

    def __repr__(self):
        return f"Downsampling(factor={self.factor})"


class ProjectedDenoiser(Denoiser):
    """A denoiser whose clean-image estimate agrees with the measurement: the DDNM step, for a
    batch of len(y) images."""

    def __init__(self, denoiser: Denoiser, operator: Operator, y: torch.Tensor):
        super().__init__(denoiser.alphas_cumprod, denoiser.sample_shape)
        self.denoiser, self.operator, self.dtypes = denoiser, operator, denoiser.dtypes
        self.register_buffer("y", y)

    def x0(self, x, t):
        estimate = self.denoiser.x0(x, t)
        return estimate - self.operator.pinv(self.operator(estimate) - self.y)


def project(denoiser: Denoiser, operator: Operator, y: torch.Tensor, noise: torch.Tensor,
            steps: int = 25) -> torch.Tensor:
    """The projection solver: DDIM (eta = 0) from `noise` with the DDNM-corrected estimate."""
    operator.check(y, noise)
    return sample(ProjectedDenoiser(denoiser, operator, y.to(noise)), noise, "ddim", steps, batch_size=len(noise),
                  cache=False)


def dps(denoiser: Denoiser, operator: Operator, y: torch.Tensor, noise: torch.Tensor, steps: int = 25,
        step_size: float = 1.0) -> torch.Tensor:
    """Deterministic DPS: DPM-Solver++ (2M) from `noise`, each step followed by
    x <- x - step_size * grad_x ||y_i - A x0(x_t)||, image by image."""
    if not step_size >= 0:
        raise ValueError(f"step_size={step_size!r} is not allowed; allowed: a number >= 0")
    operator.check(y, noise)
    denoiser.check_input(noise, "noise")
    scheduler, times = scheduled_times("dpm++", steps, T - 1, len(noise), noise.device)
    x, y = noise, y.to(noise)
    for index, t in times:
        with torch.enable_grad():
            x_in = x.detach().requires_grad_(True)
            eps = denoiser.eps(x_in, t)
            a, s = denoiser.coefficients(t, x_in)
            error = (operator((x_in - s * eps) / a) - y).flatten(1).norm(dim=1)
            (gradient,) = torch.autograd.grad(error.sum(), x_in)
        x = scheduler.step(eps.detach(), index, x).prev_sample - step_size * gradient
    return x.detach()


def residual(operator: Operator, images: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each image's measurement error ||A x - y|| relative to ||y||."""
    return (operator(images) - y).flatten(1).norm(dim=1) / y.flatten(1).norm(dim=1)


SOLVERS = ("projection", "dps")


def solve(denoiser: Denoiser, operator: Operator, y: torch.Tensor, noise: torch.Tensor, solver: str = "projection",
          steps: int = 25, step_size: float = 1.0) -> torch.Tensor:
    """The named solver's images (step_size is DPS's)."""
    if solver not in SOLVERS:
        raise ValueError(f"solver={solver!r} is unknown; allowed: {', '.join(map(repr, SOLVERS))}")
    if solver == "projection":
        return project(denoiser, operator, y, noise, steps)
    return dps(denoiser, operator, y, noise, steps, step_size)


def agreement(first: torch.Tensor, second: torch.Tensor, second_other_noise: torch.Tensor, truth: torch.Tensor,
              operator: Operator, false_positive_rate: float = 0.01) -> dict[str, float]:
    """Do two models solve the same measurements alike, beyond what the measurement forces?
    Scored on what it leaves open (centred pixel cosine of operator.unseen): `first` and `second`
    from the same noises, `second_other_noise` from other noises for the same measurements, the
    null whose top `false_positive_rate` sets the threshold. Returns the threshold, RP, the median
    similarity of the pairs, and the median similarity of `first` to the true images."""
    similarity = lambda a, b: metrics.pair_similarity(operator.unseen(a), operator.unseen(b))
    null = similarity(first, second_other_noise)
    threshold = torch.quantile(null, 1 - false_positive_rate).item()
    same = similarity(first, second)
    return {"threshold": threshold, "rp": (same > threshold).double().mean().item(),
            "median similarity": same.median().item(), "median similarity to the truth": similarity(first, truth).median().item()}


def solve_and_compare(models: dict[str, Denoiser], operator: Operator, truth: torch.Tensor, noise: torch.Tensor,
                      other_noise: torch.Tensor, solver: str = "projection", steps: int = 25,
                      step_size: float = 1.0) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """Solve y = A(truth) with every model from `noise`, and score the first model against each
    other one (`agreement`, the other one's solutions from `other_noise` as the null). Returns the
    solutions by model and one row per partner, with the first model's median and largest residual."""
    y = operator(truth)
    run = lambda model, z: solve(model, operator, y, z, solver, steps, step_size)
    (reference, first), *partners = models.items()
    images = {reference: run(first, noise)}
    errors = residual(operator, images[reference], y)
    rows = []
    for name, model in partners:
        images[name] = run(model, noise)
        rows.append({"partner": name, **agreement(images[reference], images[name], run(model, other_noise), truth, operator),
                     "median residual": errors.median().item(), "largest residual": errors.max().item()})
    return images, rows


def claim_margins(table: pd.DataFrame, seed_partner: str, family_partner: str, baseline: str) -> dict[str, float]:
    """The numbers the inverse-problem claims rest on, each the worst over tasks and seeds (table:
    solve_and_compare's rows with task, solver and seed columns): for the projection solver the
    residual, the RP of the second training run and of another family, their margin over the
    baseline prior's RP and over their similarity to the true image; for DPS the residuals, the
    second run's null threshold and its RP in each task."""
    projection, dps = (table[table["solver"] == solver] for solver in SOLVERS)
    rp = lambda rows: rows.set_index(["task", "seed", "partner"])["rp"].unstack("partner")
    networks = projection[projection["partner"] != baseline]
    dps_rp = rp(dps)[seed_partner]
    return {"projection_residual_max": projection["largest residual"].max(),
            "projection_seed_rp_min": rp(projection)[seed_partner].min(),
            "projection_family_rp_min": rp(projection)[family_partner].min(),
            "projection_baseline_margin_min": (rp(projection)[[seed_partner, family_partner]].min(axis=1)
                                               - rp(projection)[baseline]).min(),
            "projection_truth_margin_min": (networks["median similarity"] - networks["median similarity to the truth"]).min(),
            "dps_residual_median_min": dps["median residual"].min(), "dps_residual_median_max": dps["median residual"].max(),
            "dps_null_min": dps[dps["partner"] == seed_partner]["threshold"].min(),
            "dps_inpainting_seed_rp_max": dps_rp.loc["inpainting"].max(),
            "dps_downsampling_seed_rp_min": dps_rp.loc["down-sampling"].min()}
