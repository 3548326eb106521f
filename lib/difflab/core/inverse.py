"""Inverse problems with an unconditional denoiser: recover an image x from a noiseless linear
measurement y = A x, deterministically, so that reproducibility can be asked of the solutions too.

An `Operator` is the measurement A with a right inverse A+ (A A+ = I): `Inpainting` keeps the known
pixels, `Downsampling` takes block means (super-resolution's measurement). Two solvers:
- projection (`project`; DDNM, Wang et al., ICLR 2023): at every step the denoiser's clean-image
  estimate keeps its null-space part and takes its range-space part from the measurement,
  x0' = x0 - A+ (A x0 - y) (`ProjectedDenoiser`). DDIM at eta = 0 with this estimate is DDIM's own
  update given x0', and its last estimate is its result, so the result satisfies A x = y to float
  precision.
- DPS (`dps`; Chung et al., ICLR 2023), deterministic: DPM-Solver++ steps (or another sampler of
  `DPS_SAMPLERS`), each followed by a step down the gradient, with respect to the sampler's state
  x_t, of each image's own measurement error ||y - A x0(x_t)|| (per image, where the reference code
  takes one norm over the whole batch).

`residual` is the measurement error of a solution, relative to the measurement.
"""

import torch
import torch.nn.functional as F

from difflab.core.denoisers import Denoiser
from difflab.core.sampling import make_sampler, run_sampler
from difflab.core.schedule import T


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
            raise ValueError(
                f"y has shape {tuple(y.shape)}; allowed: ({len(images)}, {', '.join(map(str, expected))}), "
                f"one measurement by {self} of each of the {len(images)} images"
            )
        if not torch.isfinite(y).all():
            raise ValueError("y holds non-finite values; allowed: finite measurements")


class Inpainting(Operator):
    """Keep the pixels where `mask` is True: y = mask * x (zeros in the hole); A+ = A."""

    def __init__(self, mask: torch.Tensor):
        if mask.dtype != torch.bool or mask.dim() != 3:
            raise ValueError(
                f"mask of dtype {mask.dtype} and shape {tuple(mask.shape)} is not allowed; "
                f"allowed: a bool tensor (channels, height, width), True where a pixel is known"
            )
        self.mask = mask

    @classmethod
    def lower_half(cls, shape: tuple[int, int, int]) -> "Inpainting":
        """The upper half known, the lower half to fill in."""
        mask = torch.ones(shape, dtype=torch.bool)
        mask[:, shape[1] // 2 :] = False
        return cls(mask)

    def __call__(self, x):
        if tuple(x.shape[1:]) != tuple(self.mask.shape):
            raise ValueError(
                f"images of shape {tuple(x.shape)} do not fit a mask of shape {tuple(self.mask.shape)}; "
                f"allowed: (batch, {', '.join(map(str, self.mask.shape))})"
            )
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
            raise ValueError(
                f"images of shape {tuple(x.shape)} do not tile into {self.factor}x{self.factor} blocks; "
                f"allowed: height and width divisible by factor={self.factor}"
            )
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


def project(
    denoiser: Denoiser, operator: Operator, y: torch.Tensor, noise: torch.Tensor, steps: int = 25
) -> torch.Tensor:
    """The projection solver: DDIM (eta = 0) from `noise` with the DDNM-corrected estimate, all of
    `noise` in one batch (its ProjectedDenoiser holds one measurement per noise)."""
    operator.check(y, noise)
    return run_sampler(
        ProjectedDenoiser(denoiser, operator, y.to(noise)),
        noise,
        "ddim",
        steps,
        batch_size=len(noise),
    )


# The samplers DPS steps with: those that call the denoiser once per step, so that every step
# ends on the state at the next time, where DPS's gradient step belongs. PLMS's first step, Heun's
# and F-PNDM's Runge-Kutta stages evaluate between steps (a gradient step there would be thrown
# away or land between stages).
DPS_SAMPLERS = ("dpm++", "ddim", "euler")


def dps(
    denoiser: Denoiser,
    operator: Operator,
    y: torch.Tensor,
    noise: torch.Tensor,
    steps: int = 25,
    step_size: float = 1.0,
    sampler: str = "dpm++",
) -> torch.Tensor:
    """Deterministic DPS: the sampler (eta = 0) from `noise` read as x_{T-1}, each step followed by
    x <- x - step_size * grad_x ||y_i - A x0(x)||, image by image, x being the sampler's own state
    (x_t for "dpm++" and "ddim"; x_t / sqrt(alpha_bar_t) for the sigma-space "euler", DPS's
    variance-exploding form). It steps through the sampler protocol as difflab.core.sampling's
    loop does (start, scale_model_input, step), so step_size = 0 is that sampler's plain run."""
    if sampler not in DPS_SAMPLERS:
        raise ValueError(
            f"sampler={sampler!r} is not allowed; allowed: {', '.join(map(repr, DPS_SAMPLERS))} "
            "(the samplers that call the denoiser once per step)"
        )
    if not step_size >= 0:
        raise ValueError(f"step_size={step_size!r} is not allowed; allowed: a number >= 0")
    operator.check(y, noise)
    denoiser.check_input(noise, "noise")
    scheduler = make_sampler(sampler, steps, T - 1, device=noise.device)
    x, y = scheduler.start(noise), y.to(noise)
    for index in scheduler.timesteps:
        t = torch.full(
            (len(noise),), scheduler.ddpm_time(index), dtype=torch.long, device=noise.device
        )
        with torch.enable_grad():
            state = x.detach().requires_grad_(True)
            x_in = scheduler.scale_model_input(state, index)
            eps = denoiser.eps(x_in, t)
            a, s = denoiser.coefficients(t, x_in)
            error = (operator((x_in - s * eps) / a) - y).flatten(1).norm(dim=1)
            (gradient,) = torch.autograd.grad(error.sum(), state)
        x = scheduler.step(eps.detach(), index, x) - step_size * gradient
    return x.detach()


def residual(operator: Operator, images: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each image's measurement error ||A x - y|| relative to ||y||."""
    return (operator(images) - y).flatten(1).norm(dim=1) / y.flatten(1).norm(dim=1)
