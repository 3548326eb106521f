"""Chapter 1: one model, one noise, one image. Other samplers from the same noise, scored against
DDIM with many steps, and the step at which DDIM's guess of the final image settles."""

import numpy as np
import pandas as pd
import torch

from difflab.book.sample_cache import sample
from difflab.core import intervals, metrics
from difflab.core.denoisers import Denoiser


def sampler_steps(steps: int) -> dict[str, int]:
    """Chapter 1's samplers at one budget: first-order and multistep ones with `steps` steps, the
    second-order ones (DPM-Solver++, Heun) with half as many."""
    return {"ddim": steps, "euler": steps, "plms": steps, "dpm++": steps // 2, "heun": steps // 2}


def sampler_agreement(
    denoiser: Denoiser,
    noise: torch.Tensor,
    reference_steps: int,
    sampler_steps: dict[str, int],
    seed: int = 0,
) -> tuple[torch.Tensor, dict[str, dict]]:
    """Each sampler (name: steps) against DDIM with `reference_steps` from the same noise. Per
    sampler: its images, same-noise and shuffled similarities, a threshold calibrated on the
    shuffled pairs (derangement `seed`), RP at it and retrieval accuracy. Returns the reference too."""
    reference = sample(denoiser, noise, "ddim", reference_steps).cpu()
    results = {}
    for name, steps in sampler_steps.items():
        images = sample(denoiser, noise, name, steps).cpu()
        same = metrics.pair_similarity(reference, images)
        shuffled = metrics.shuffled_similarity(reference, images, seed=seed)
        results[name] = dict(
            images=images,
            similarity=same,
            shuffled=shuffled,
            **metrics.agreement(same, shuffled)._asdict(),
            retrieval=metrics.retrieval_accuracy(reference, images),
        )
    return reference, results


def worst_agreement(agreement: dict) -> pd.DataFrame:
    """Per sampler, the worst over seeds of sampler_agreement's scores (agreement: seed -> its
    result): the smallest RP, retrieval accuracy and median similarity, each an Interval over that
    seed's noises (Wilson's for the shares, the bootstrap for the median), and the largest
    threshold."""
    by_seed = [results for _, results in agreement.values()]

    def worst(name: str, score: str):
        result = min((r[name] for r in by_seed), key=lambda r: r[score])
        n = len(result["similarity"])
        if score == "median_similarity":
            return intervals.bootstrap(intervals.lower_median, result["similarity"].numpy())
        return intervals.proportion_of(result[score], n)

    return pd.DataFrame(
        {
            name: {
                **{score: worst(name, score) for score in ("rp", "retrieval", "median_similarity")},
                "threshold": max(r[name]["threshold"] for r in by_seed),
            }
            for name in by_seed[0]
        }
    ).T


def settled_steps(t: list[int], gap: torch.Tensor, level: float = 0.5) -> intervals.Interval:
    """settled_step with its 95% interval: the noises resampled, the step read off the median gap
    of each resample (a time of the sampler's grid: the estimate an int, as settled_step's)."""
    values = gap.double().numpy()

    def step(indices):
        below = intervals.lower_median(values[:, indices], axis=-1) < level
        return np.asarray(t, dtype=float)[below.argmax(0)]

    found = intervals.bootstrap_indices(step, values.shape[1])
    return found._replace(estimate=int(found.estimate))


@torch.no_grad()
def guess_gap(
    denoiser: Denoiser, noise: torch.Tensor, steps: int
) -> tuple[list[int], torch.Tensor]:
    """Along DDIM trajectories from `noise`: the steps, and at each step every image's relative
    distance from the denoiser's clean-image guess to the image the trajectory ends at (steps, images)."""
    final, path = sample(denoiser, noise, "ddim", steps, return_trajectory=True)
    return path.t, metrics.relative_gap(path.x0.cpu(), final.cpu())


def settled_step(t: list[int], gap: torch.Tensor, level: float = 0.5) -> int:
    """The first step, in generation order, at which the median of guess_gap is below `level`."""
    below = (gap.median(1).values < level).nonzero()
    if len(below) == 0:
        raise ValueError(
            f"the median gap never falls below level={level}; allowed: a level above its smallest "
            f"value {gap.median(1).values.min().item():.3g}"
        )
    return int(t[int(below[0])])
