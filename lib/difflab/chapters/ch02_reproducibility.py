"""Chapter 2: reproducibility across models. The same noises through other samplers and through a
model's training checkpoints, scored against each other with the metrics of `metrics`."""

import numpy as np
import pandas as pd
import torch

from difflab.book.sample_cache import sample
from difflab.core import intervals, metrics
from difflab.core.denoisers import Denoiser
from difflab.core.metrics import Features, centred_pixels


def sampler_consistency(
    denoiser: Denoiser,
    noise: torch.Tensor,
    reference: torch.Tensor,
    threshold: float,
    samplers=("ddim", "dpm++", "heun"),
    step_counts=(10, 25, 50),
) -> list[dict]:
    """Each sampler at each step count against a reference from the same noise: the median
    same-noise similarity (and its per-noise values), RP at `threshold` and retrieval accuracy,
    one row each."""
    rows = []
    for sampler in samplers:
        for steps in step_counts:
            images = sample(denoiser, noise, sampler, steps).cpu()
            similarity = metrics.pair_similarity(reference, images)
            rows.append(
                {
                    "sampler": sampler,
                    "steps": steps,
                    "median_similarity": similarity.median().item(),
                    "rp": metrics.rp_score(reference, images, threshold),
                    "retrieval": metrics.retrieval_accuracy(reference, images),
                    "similarity": similarity.numpy(),
                }
            )
    return rows


def along_training(
    first: dict[int, Denoiser], second: dict[int, Denoiser], noise: torch.Tensor, steps: int
) -> list[dict[int, torch.Tensor]]:
    """Each run's DDIM images from `noise` at each of its checkpoints (dicts from training step to
    model, both runs at the same steps)."""
    if list(first) != list(second):
        raise ValueError(
            f"the runs' checkpoints differ: {list(first)} and {list(second)}; allowed: the same steps"
        )
    return [
        {k: sample(model, noise, "ddim", steps).cpu() for k, model in run.items()}
        for run in (first, second)
    ]


def emergence_scores(
    images: list[dict[int, torch.Tensor]],
    threshold: float,
    features: Features = centred_pixels,
    count: int | None = None,
) -> dict[str, list[float]]:
    """Along training (along_training's images, the first `count` noises): RP between the two runs
    at each checkpoint, and RP of the first run with its own last model."""
    first, second = ({k: x[:count] for k, x in run.items()} for run in images)
    last = list(first)[-1]
    rp = lambda a, b: metrics.rp_score(a, b, threshold, features)
    return {
        "RP between the runs": [rp(first[k], second[k]) for k in first],
        "RP of the first run with its final model": [rp(first[k], first[last]) for k in first],
    }


def emergence(
    first: dict[int, Denoiser],
    second: dict[int, Denoiser],
    noise: torch.Tensor,
    steps: int,
    threshold: float,
) -> dict[str, list[float]]:
    """emergence_scores in pixel similarity of the two runs' images along training."""
    return emergence_scores(along_training(first, second, noise, steps), threshold)


def pair_summary(values: dict, n: int) -> list[str]:
    """The lowest pair's mean over seeds (and which pair), the middle half's range, the highest:
    the rows of the paper's table (values: the RP of each pair, one value per seed of `n` noises),
    the lowest and highest with Wilson's 95% interval over all their noises."""
    means = pd.Series({p: np.mean(v) for p, v in values.items()})
    lowest = means.idxmin()
    pooled = lambda rp: intervals.proportion_of(rp, n * len(values[lowest]))
    return [
        f"{pooled(means.min()):.2f} ({lowest[0]} vs {lowest[1]})",
        f"{means.quantile(0.25):.2f}-{means.quantile(0.75):.2f}",
        f"{pooled(means.max()):.2f}",
    ]


@torch.no_grad()
def gap_to(reference: Denoiser, denoisers: dict[str, Denoiser], path) -> pd.DataFrame:
    """Along a trajectory (sampling.Trajectory), the median over its images of each denoiser's
    clean-image estimate's relative distance to the reference denoiser's, step by step."""
    target = path.apply(reference.x0)
    gaps = {
        name: [
            metrics.relative_gap(estimate, reference_estimate).median().item()
            for estimate, reference_estimate in zip(path.apply(denoiser.x0), target)
        ]
        for name, denoiser in denoisers.items()
    }
    return pd.DataFrame(gaps, index=pd.Index(path.t, name="t"))
