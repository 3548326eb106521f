"""Deterministic sampling with diffusers' schedulers, from pure noise or late from a given x_t.

Each scheduler is handed a schedule made of the sampler's own times only: `steps` times from
t_start down (`time_grid`: evenly spaced, or the second paper's grid that ends at t = 0), index j
of the schedule carrying the true alpha_bar of the j-th smallest time. The scheduler then steps
index by index, starts exactly at t_start and ends on a clean image, whatever t_start and steps
are; the denoiser is called at the true times. F-PNDM (`pndm.FPNDM`) steps on the times directly.
"""

from dataclasses import dataclass, field

import torch
from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    HeunDiscreteScheduler,
    PNDMScheduler,
)
from tqdm import tqdm

from difflab.core.denoisers import Denoiser
from difflab.core.pndm import FPNDM
from difflab.core.schedule import T, forward_process


@dataclass(frozen=True)
class SamplerSpec:
    scheduler: type  # a diffusers scheduler, or FPNDM
    spacing: str | None = None  # diffusers' spacing that steps a schedule of n indices n-1, ..., 0
    sigma_space: bool = False  # the scheduler's x is x_t / sqrt(alpha_bar_t) (variance exploding)
    options: dict = field(default_factory=dict)
    takes_eta: bool = False  # DDIM: eta > 0 adds fresh noise at each step
    grids: tuple[str, ...] = ("even", "paper")  # the time grids it runs on
    native: bool = False  # the scheduler speaks the sampler protocol itself (FPNDM)


SAMPLERS = {
    "ddim": SamplerSpec(
        DDIMScheduler,
        "leading",
        options={"clip_sample": False, "set_alpha_to_one": True},
        takes_eta=True,
    ),
    # PLMS with diffusers' pseudo-improved-Euler warm-up (skip_prk_steps), not PNDM's Runge-Kutta one
    "plms": SamplerSpec(
        PNDMScheduler, "leading", options={"skip_prk_steps": True, "set_alpha_to_one": True}
    ),
    # PNDM with its Runge-Kutta warm-up, as the second paper ran it: 4 evaluations in each of the first 3 steps;
    # its last step starts at t = 0 (the last Runge-Kutta call is at the clean image's time)
    "f-pndm": SamplerSpec(FPNDM, grids=("paper",), native=True),
    "dpm++": SamplerSpec(
        DPMSolverMultistepScheduler, "trailing", options={"algorithm_type": "dpmsolver++"}
    ),
    "euler": SamplerSpec(EulerDiscreteScheduler, "trailing", sigma_space=True),
    "heun": SamplerSpec(HeunDiscreteScheduler, "trailing", sigma_space=True),
}
RENAMED = {
    "pndm": "'plms' (diffusers' PNDMScheduler with skip_prk_steps) or 'f-pndm' (PNDM's Runge-Kutta warm-up)"
}


@dataclass
class Trajectory:
    """The sampler's path: times t, the VP-scaled states x_t, and the denoiser's x_0 predictions."""

    t: list[int]
    x: torch.Tensor  # (evaluations, batch, ...)
    x0: torch.Tensor  # (evaluations, batch, ...)

    def apply(self, fn) -> torch.Tensor:
        """fn(x_t, t) at each state of the path, stacked (evaluations, batch, ...): what another
        denoiser (its x0, say) makes of the states this sampler went through."""
        return torch.stack(
            [fn(x, torch.full((len(x),), t, device=x.device)) for x, t in zip(self.x, self.t)]
        )


GRIDS = ("even", "paper")


def check_settings(
    sampler: str, steps: int, t_start: int, eta: float = 0.0, grid: str = "even"
) -> None:
    """A clear error for settings no sampler run accepts."""
    if grid not in GRIDS:
        raise ValueError(f"grid={grid!r} is unknown; allowed: {', '.join(map(repr, GRIDS))}")
    if grid == "paper" and steps == 1:
        raise ValueError(
            "steps=1 is not allowed with grid='paper' (its one time would be 0, not t_start); "
            "allowed: steps >= 2"
        )
    if sampler in RENAMED:
        raise ValueError(
            f"sampler={sampler!r} is ambiguous and no longer a key; allowed: {RENAMED[sampler]}"
        )
    if sampler not in SAMPLERS:
        raise ValueError(
            f"sampler={sampler!r} is unknown; allowed: {', '.join(map(repr, SAMPLERS))}"
        )
    spec = SAMPLERS[sampler]
    if grid not in spec.grids:
        raise ValueError(
            f"grid={grid!r} is not allowed with sampler={sampler!r}; allowed: "
            f"{', '.join(map(repr, spec.grids))}"
        )
    if not isinstance(t_start, int) or not 0 <= t_start < T:
        raise ValueError(f"t_start={t_start!r} is out of range; allowed: integers 0..{T - 1}")
    if not isinstance(steps, int) or not 1 <= steps <= t_start + 1:
        raise ValueError(
            f"steps={steps!r} is not allowed; allowed: integers 1..t_start+1 = {t_start + 1}"
        )
    if eta != 0 and not spec.takes_eta:
        raise ValueError(f"eta={eta} is only for sampler='ddim'; use eta=0 with {sampler!r}")
    if not 0 <= eta <= 1:
        raise ValueError(f"eta={eta} is out of range; allowed: 0 <= eta <= 1")


def time_grid(steps: int, t_start: int, grid: str = "even") -> list[int]:
    """The times of the sampler's steps, from t_start down.

    "even": `steps` evenly spaced times, the last one step above 0; from t_start = T - 1 this is
    diffusers' "trailing" spacing (999, 899, ..., 99 for 10 steps). "paper": the second paper's
    grid (its `get_time_sequence` with late_t), linspace(0, t_start, steps) truncated to integers,
    whose last step is at t = 0 (999, 888, ..., 111, 0)."""
    # check_settings's grid, steps and t_start checks ('ddim' runs on every grid, eta 0 passes)
    check_settings("ddim", steps, t_start, grid=grid)
    if grid == "paper":
        return [int(t) for t in torch.linspace(0, t_start, steps, dtype=torch.float64).flip(0)]
    return [round(t_start - k * (t_start + 1) / steps) for k in range(steps)]


class GridScheduler:
    """A diffusers scheduler over the `steps` indices of a time grid, index 0 being the smallest
    time, so that it starts exactly at t_start and after its last index steps to a clean image.
    It has the sampler protocol that FPNDM has too: `timesteps`, `ddpm_time(index)`, `start(x_t)`,
    `scale_model_input(x, index)` and `step(eps, index, x, generator)`."""

    def __init__(self, spec: SamplerSpec, grid: list[int], eta: float = 0.0, device="cpu"):
        alpha_bar = forward_process().alphas_cumprod[grid[::-1]]
        betas = 1 - alpha_bar.double() / torch.cat([alpha_bar.new_ones(1), alpha_bar[:-1]]).double()
        self.scheduler = spec.scheduler(
            **spec.options,
            num_train_timesteps=len(grid),
            timestep_spacing=spec.spacing,
            trained_betas=betas.numpy(),
        )
        # the forward process's own float32 values, not a cumulative product of the betas that
        # rounds differently: DDIM then matches diffusers' DDIMPipeline to the last digits
        self.scheduler.alphas_cumprod = alpha_bar.clone()
        self.scheduler.set_timesteps(len(grid), device=device)
        self.timesteps, self.times = (
            self.scheduler.timesteps,
            grid[::-1],
        )  # schedule index -> DDPM time
        self.sigma_space, self.eta = spec.sigma_space, {"eta": eta} if spec.takes_eta else None

    def ddpm_time(self, index) -> int:
        return self.times[int(index)]

    def start(self, x_t: torch.Tensor) -> torch.Tensor:
        """sigma-space schedulers carry x_t / sqrt(alpha_bar_t) = x_t * sqrt(sigma^2 + 1)."""
        return x_t * (self.scheduler.sigmas[0] ** 2 + 1).sqrt().to(x_t) if self.sigma_space else x_t

    def scale_model_input(self, x: torch.Tensor, index) -> torch.Tensor:
        return self.scheduler.scale_model_input(x, index)

    def step(
        self, eps: torch.Tensor, index, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        options = {} if self.eta is None else {**self.eta, "generator": generator}
        return self.scheduler.step(eps, index, x, **options).prev_sample


def make_sampler(
    sampler: str = "ddim",
    steps: int = 50,
    t_start: int = T - 1,
    grid: str = "even",
    eta: float = 0.0,
    device="cpu",
):
    """The named sampler over `time_grid(steps, t_start, grid)`, through the sampler protocol
    (GridScheduler for diffusers' schedulers; pndm.FPNDM)."""
    check_settings(sampler, steps, t_start, eta, grid)
    spec, times = SAMPLERS[sampler], time_grid(steps, t_start, grid)
    return spec.scheduler(times) if spec.native else GridScheduler(spec, times, eta, device)


def evaluations(sampler: str, steps: int, t_start: int = T - 1, grid: str = "even") -> int:
    """How many times the sampler calls the denoiser per image (its NFE)."""
    return len(make_sampler(sampler, steps, t_start, grid).timesteps)


def seeded_noise(seed: int, n: int, shape: tuple[int, ...]) -> torch.Tensor:
    """n starting noises of one image shape, N(0, I) from a generator seeded by `seed`: the book's
    noise sets (the same seed gives the same noises in every chapter)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not -(2**63) <= seed < 2**64:
        raise ValueError(
            f"seed={seed!r} is not allowed; allowed: an integer in -2**63..2**64-1 (torch's seeds)"
        )
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n={n!r} is not allowed; allowed: an integer >= 1 (the noises drawn)")
    if not isinstance(shape, tuple | list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape
    ):
        raise ValueError(
            f"shape={shape!r} is not allowed; allowed: a tuple of integers >= 1, one image's "
            f"shape such as (1, 28, 28)"
        )
    return torch.randn(n, *shape, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def run_sampler(
    denoiser: Denoiser,
    noise: torch.Tensor,
    sampler: str = "ddim",
    steps: int = 50,
    t_start: int = T - 1,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    grid: str = "even",
    return_trajectory: bool = False,
    batch_size: int = 500,
    progress: bool = False,
    labels: torch.Tensor | None = None,
    guidance: float = 0.0,
):
    """Images from `noise`, read as x_{t_start} (pure noise N(0, I) when t_start = T - 1); a
    class-conditional denoiser takes one label per noise, and classifier-free guidance of weight
    `guidance` (denoisers.LabelledDenoiser).

    Deterministic given the noise for every sampler at eta = 0 (bit for bit on a CPU for the same
    batch_size; another batching changes the last float digits); eta > 0 (DDIM only) draws
    fresh noise from `generator`. `grid` picks the times (`time_grid`). Returns the images, and a
    Trajectory when asked. (In a book build, difflab.sample looks in the build's sample cache first:
    difflab.book.sample_cache.)"""
    check_settings(sampler, steps, t_start, eta, grid)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"batch_size={batch_size!r} is not allowed; allowed: an integer >= 1 (noises per batch)"
        )
    denoiser.check_input(noise, "noise")
    per_batch = _labelled(denoiser, noise, labels, guidance, batch_size)
    chunks = noise.split(batch_size)
    results = [
        _sample_batch(
            d,
            x,
            make_sampler(sampler, steps, t_start, grid, eta, x.device),
            generator,
            return_trajectory,
        )
        for d, x in tqdm(
            list(zip(per_batch, chunks)),
            desc=f"{sampler} x{steps}",
            disable=not progress or len(chunks) == 1,
        )
    ]
    images = torch.cat([r[0] for r in results])
    if not return_trajectory:
        return images
    paths = [r[1] for r in results]
    return images, Trajectory(
        paths[0].t, torch.cat([p.x for p in paths], 1), torch.cat([p.x0 for p in paths], 1)
    )


def _labelled(
    denoiser: Denoiser, noise: torch.Tensor, labels, guidance: float, batch_size: int
) -> list[Denoiser]:
    """The denoiser for each batch of `noise`: itself, or a conditional one given that batch's labels."""
    batches = -(-len(noise) // batch_size)
    if labels is None and guidance == 0 and not denoiser.conditional:
        return [denoiser] * batches
    if not denoiser.conditional:
        raise ValueError(
            f"labels or guidance={guidance} were given to an unconditional denoiser; "
            f"allowed: labels=None and guidance=0"
        )
    if labels is None or labels.shape != (len(noise),):
        raise ValueError(
            f"labels of shape {None if labels is None else tuple(labels.shape)} are not allowed for a "
            f"class-conditional denoiser; allowed: one label per noise, shape ({len(noise)},)"
        )
    return [denoiser.given(part.to(noise.device), guidance) for part in labels.split(batch_size)]


def _sample_batch(denoiser: Denoiser, x_t: torch.Tensor, scheduler, generator, keep: bool):
    """The one loop every sampler runs, through the sampler protocol (GridScheduler, FPNDM)."""
    x = scheduler.start(x_t)
    times, states, predictions = [], [], []
    for index in scheduler.timesteps:
        t = torch.full((len(x_t),), scheduler.ddpm_time(index), dtype=torch.long, device=x_t.device)
        x_in = scheduler.scale_model_input(x, index)
        eps = denoiser.eps(x_in, t)
        if keep:
            a, s = denoiser.coefficients(t, x_in)
            times.append(int(t[0]))
            states.append(x_in)
            predictions.append((x_in - s * eps) / a)
        x = scheduler.step(eps, index, x, generator)
    trajectory = Trajectory(times, torch.stack(states), torch.stack(predictions)) if keep else None
    return x, trajectory
