"""Deterministic sampling with diffusers' schedulers, from pure noise or late from a given x_t.

Each scheduler is handed a schedule made of the sampler's own times only: `steps` times from
t_start down (`time_grid`: evenly spaced, or the second paper's grid that ends at t = 0), index j
of the schedule carrying the true alpha_bar of the j-th smallest time. The scheduler then steps
index by index, starts exactly at t_start and ends on a clean image, whatever t_start and steps
are; the denoiser is called at the true times. F-PNDM (`pndm.FPNDM`) steps on the times directly.
"""

from dataclasses import dataclass, field

import torch
from diffusers import (DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler,
                       HeunDiscreteScheduler, PNDMScheduler)
from tqdm import tqdm

from . import sample_cache
from .denoisers import Denoiser
from .pndm import FPNDM
from .schedule import T, forward_process


@dataclass(frozen=True)
class SamplerSpec:
    scheduler: type
    spacing: str        # the spacing that makes a schedule of n indices step n-1, ..., 0
    sigma_space: bool   # the scheduler's x is x_t / sqrt(alpha_bar_t) (variance exploding)
    options: dict = field(default_factory=dict)


SAMPLERS = {
    "ddim": SamplerSpec(DDIMScheduler, "leading", False, {"clip_sample": False, "set_alpha_to_one": True}),
    # PLMS with diffusers' pseudo-improved-Euler warm-up (skip_prk_steps), not PNDM's Runge-Kutta one
    "pndm": SamplerSpec(PNDMScheduler, "leading", False, {"skip_prk_steps": True, "set_alpha_to_one": True}),
    # PNDM with its Runge-Kutta warm-up, as the second paper ran it: 4 evaluations in each of the first 3 steps
    "f-pndm": SamplerSpec(FPNDM, "", False),
    "dpm++": SamplerSpec(DPMSolverMultistepScheduler, "trailing", False, {"algorithm_type": "dpmsolver++"}),
    "euler": SamplerSpec(EulerDiscreteScheduler, "trailing", True),
    "heun": SamplerSpec(HeunDiscreteScheduler, "trailing", True),
}


@dataclass
class Trajectory:
    """The sampler's path: times t, the VP-scaled states x_t, and the denoiser's x_0 predictions."""
    t: list[int]
    x: torch.Tensor    # (evaluations, batch, ...)
    x0: torch.Tensor   # (evaluations, batch, ...)

    def apply(self, fn) -> torch.Tensor:
        """fn(x_t, t) at each state of the path, stacked (evaluations, batch, ...): what another
        denoiser (its x0, say) makes of the states this sampler went through."""
        return torch.stack([fn(x, torch.full((len(x),), t, device=x.device)) for x, t in zip(self.x, self.t)])


GRIDS = ("even", "paper")


def _check(sampler: str, steps: int, t_start: int, eta: float, grid: str = "even") -> None:
    if grid not in GRIDS:
        raise ValueError(f"grid={grid!r} is unknown; allowed: {', '.join(map(repr, GRIDS))}")
    if grid == "paper" and steps == 1:
        raise ValueError("steps=1 is not allowed with grid='paper' (its one time would be 0, not t_start); "
                         "allowed: steps >= 2")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler={sampler!r} is unknown; allowed: {', '.join(map(repr, SAMPLERS))}")
    if sampler == "f-pndm" and grid != "paper":
        raise ValueError(f"grid={grid!r} is not allowed with sampler='f-pndm'; allowed: grid='paper', whose last "
                         f"step starts at t = 0 (F-PNDM's last Runge-Kutta call is at the clean image's time)")
    if not isinstance(t_start, int) or not 0 <= t_start < T:
        raise ValueError(f"t_start={t_start!r} is out of range; allowed: integers 0..{T - 1}")
    if not isinstance(steps, int) or not 1 <= steps <= t_start + 1:
        raise ValueError(f"steps={steps!r} is not allowed; allowed: integers 1..t_start+1 = {t_start + 1}")
    if eta != 0 and sampler != "ddim":
        raise ValueError(f"eta={eta} is only for sampler='ddim'; use eta=0 with {sampler!r}")
    if not 0 <= eta <= 1:
        raise ValueError(f"eta={eta} is out of range; allowed: 0 <= eta <= 1")


def time_grid(steps: int, t_start: int, grid: str = "even") -> list[int]:
    """The times of the sampler's steps, from t_start down.

    "even": `steps` evenly spaced times, the last one step above 0; from t_start = T - 1 this is
    diffusers' "trailing" spacing (999, 899, ..., 99 for 10 steps). "paper": the second paper's
    grid (its `get_time_sequence` with late_t), linspace(0, t_start, steps) truncated to integers,
    whose last step is at t = 0 (999, 888, ..., 111, 0)."""
    if grid == "paper":
        return [int(t) for t in torch.linspace(0, t_start, steps, dtype=torch.float64).flip(0)]
    return [round(t_start - k * (t_start + 1) / steps) for k in range(steps)]


def make_scheduler(sampler: str = "ddim", steps: int = 50, t_start: int = T - 1, grid: str = "even"):
    """A scheduler over the `steps` indices of `time_grid(steps, t_start, grid)`, index 0 being
    the smallest time; after the last index it steps to a clean image."""
    _check(sampler, steps, t_start, 0.0, grid)
    spec = SAMPLERS[sampler]
    if spec.scheduler is FPNDM:
        return FPNDM(time_grid(steps, t_start, grid), forward_process().alphas_cumprod)
    alpha_bar = forward_process().alphas_cumprod[time_grid(steps, t_start, grid)[::-1]]
    betas = 1 - alpha_bar.double() / torch.cat([alpha_bar.new_ones(1), alpha_bar[:-1]]).double()
    scheduler = spec.scheduler(**spec.options, num_train_timesteps=steps, timestep_spacing=spec.spacing,
                               trained_betas=betas.numpy())
    # the forward process's own float32 values, not a cumulative product of the betas that
    # rounds differently: DDIM then matches diffusers' DDIMPipeline to the last digits
    scheduler.alphas_cumprod = alpha_bar.clone()
    return scheduler


def scheduled_times(sampler: str, steps: int, t_start: int, batch: int, device, grid: str = "even") -> tuple:
    """The scheduler ready to step, and each of its indices with the DDPM time at which the
    denoiser is called there (a batch tensor): the loop every sampler runs."""
    scheduler = make_scheduler(sampler, steps, t_start, grid)
    if isinstance(scheduler, FPNDM):
        indices, times = range(len(scheduler.times)), scheduler.times
    else:
        scheduler.set_timesteps(steps, device=device)
        true_time = time_grid(steps, t_start, grid)[::-1]          # schedule index -> DDPM time
        indices, times = scheduler.timesteps, [true_time[int(index)] for index in scheduler.timesteps]
    return scheduler, [(index, torch.full((batch,), t, dtype=torch.long, device=device))
                       for index, t in zip(indices, times)]


def evaluations(sampler: str, steps: int, t_start: int = T - 1, grid: str = "even") -> int:
    """How many times the sampler calls the denoiser per image (its NFE)."""
    return len(scheduled_times(sampler, steps, t_start, 1, "cpu", grid)[1])


def seeded_noise(seed: int, n: int, shape: tuple[int, ...]) -> torch.Tensor:
    """n starting noises of one image shape, N(0, I) from a generator seeded by `seed`: the book's
    noise sets (the same seed gives the same noises in every chapter)."""
    return torch.randn(n, *shape, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def sample(denoiser: Denoiser, noise: torch.Tensor, sampler: str = "ddim", steps: int = 50,
           t_start: int = T - 1, eta: float = 0.0, generator: torch.Generator | None = None, grid: str = "even",
           return_trajectory: bool = False, batch_size: int = 500, progress: bool = False, cache: bool = True,
           labels: torch.Tensor | None = None, guidance: float = 0.0):
    """Images from `noise`, read as x_{t_start} (pure noise N(0, I) when t_start = T - 1); a
    class-conditional denoiser takes one label per noise, and classifier-free guidance of weight
    `guidance` (denoisers.LabelledDenoiser).

    Deterministic given the noise for every sampler at eta = 0 (bit for bit on a CPU for the same
    batch_size; another batching changes the last float digits); eta > 0 (DDIM only) draws
    fresh noise from `generator`. `grid` picks the times (`time_grid`). Returns the images, and a Trajectory when asked. In a book build,
    eta = 0 results come from the build's sample cache when another chapter computed them
    (`sample_cache`); cache=False always computes."""
    _check(sampler, steps, t_start, eta, grid)
    denoiser.check_input(noise, "noise")
    per_batch = _labelled(denoiser, noise, labels, guidance, batch_size)
    name = None
    if cache and eta == 0 and sample_cache.folder() is not None:
        name = sample_cache.key(denoiser, noise, sampler=sampler, steps=steps, t_start=t_start, grid=grid,
                                batch_size=batch_size, trajectory=return_trajectory, guidance=guidance,
                                labels=None if labels is None else labels.tolist())
        stored = sample_cache.load(name)
        if stored is not None:
            return _result(stored, noise.device, return_trajectory)
    chunks = noise.split(batch_size)
    results = [_sample_batch(d, x, sampler, steps, t_start, eta, generator, return_trajectory, grid)
               for d, x in tqdm(list(zip(per_batch, chunks)), desc=f"{sampler} x{steps}",
                                disable=not progress or len(chunks) == 1)]
    stored = {"images": torch.cat([r[0] for r in results])}
    if return_trajectory:
        stored.update(t=results[0][1].t, x=torch.cat([r[1].x for r in results], 1),
                      x0=torch.cat([r[1].x0 for r in results], 1))
    if name is not None:
        sample_cache.save(name, {k: v.cpu() if torch.is_tensor(v) else v for k, v in stored.items()})
    return _result(stored, noise.device, return_trajectory)


def _labelled(denoiser: Denoiser, noise: torch.Tensor, labels, guidance: float, batch_size: int) -> list[Denoiser]:
    """The denoiser for each batch of `noise`: itself, or a conditional one given that batch's labels."""
    batches = -(-len(noise) // batch_size)
    if labels is None and guidance == 0 and not getattr(denoiser, "conditional", False):
        return [denoiser] * batches
    if not getattr(denoiser, "conditional", False):
        raise ValueError(f"labels or guidance={guidance} were given to an unconditional denoiser; "
                         f"allowed: labels=None and guidance=0")
    if labels is None or labels.shape != (len(noise),):
        raise ValueError(f"labels of shape {None if labels is None else tuple(labels.shape)} are not allowed for a "
                         f"class-conditional denoiser; allowed: one label per noise, shape ({len(noise)},)")
    return [denoiser.given(part.to(noise.device), guidance) for part in labels.split(batch_size)]


def _result(stored: dict, device, return_trajectory: bool):
    images = stored["images"].to(device)
    if not return_trajectory:
        return images
    return images, Trajectory(stored["t"], stored["x"].to(device), stored["x0"].to(device))


def _sample_batch(denoiser, x_t, sampler, steps, t_start, eta, generator, keep, grid):
    scheduler, schedule = scheduled_times(sampler, steps, t_start, len(x_t), x_t.device, grid)
    step_options = {"eta": eta, "generator": generator} if sampler == "ddim" else {}
    # sigma-space schedulers carry x_t / sqrt(alpha_bar_t) = x_t * sqrt(sigma^2 + 1)
    x = x_t * (scheduler.sigmas[0] ** 2 + 1).sqrt().to(x_t) if SAMPLERS[sampler].sigma_space else x_t
    times, states, predictions = [], [], []
    for index, t in schedule:
        x_in = scheduler.scale_model_input(x, index)
        eps = denoiser.eps(x_in, t)
        if keep:
            a, s = denoiser.coefficients(t, x_in)
            times.append(int(t[0])), states.append(x_in), predictions.append((x_in - s * eps) / a)
        x = scheduler.step(eps, index, x, **step_options).prev_sample
    trajectory = Trajectory(times, torch.stack(states), torch.stack(predictions)) if keep else None
    return x, trajectory
