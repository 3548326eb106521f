"""Reproducibility experiments: the same noises through other samplers and through a model's
training checkpoints, scored against each other with the metrics of `metrics`."""

import itertools

import numpy as np
import pandas as pd
import torch

from . import metrics
from .denoisers import Denoiser
from .metrics import Features, centred_pixels
from .sampling import sample


def sampler_steps(steps: int) -> dict[str, int]:
    """Chapter 1's samplers at one budget: first-order and multistep ones with `steps` steps, the
    second-order ones (DPM-Solver++, Heun) with half as many."""
    return {"ddim": steps, "euler": steps, "pndm": steps, "dpm++": steps // 2, "heun": steps // 2}


def _scores(reference: torch.Tensor, images: torch.Tensor, threshold: float) -> dict:
    """Same-noise similarities of images to the reference, RP at `threshold`, retrieval accuracy."""
    return dict(similarity=metrics.pair_similarity(reference, images), rp=metrics.rp_score(reference, images, threshold),
                retrieval=metrics.retrieval_accuracy(reference, images))


def sampler_agreement(denoiser: Denoiser, noise: torch.Tensor, reference_steps: int, sampler_steps: dict[str, int],
                      seed: int = 0) -> tuple[torch.Tensor, dict[str, dict]]:
    """Each sampler (name: steps) against DDIM with `reference_steps` from the same noise. Per
    sampler: its images, same-noise and shuffled similarities, a threshold calibrated on the
    shuffled pairs (derangement `seed`), RP at it and retrieval accuracy. Returns the reference too."""
    reference = sample(denoiser, noise, "ddim", reference_steps).cpu()
    results = {}
    for name, steps in sampler_steps.items():
        images = sample(denoiser, noise, name, steps).cpu()
        threshold = metrics.calibrated_threshold(reference, images, seed=seed)
        results[name] = dict(images=images, threshold=threshold, **_scores(reference, images, threshold),
                             shuffled=metrics.shuffled_similarity(reference, images, seed=seed))
    return reference, results


def worst_agreement(agreement: dict) -> pd.DataFrame:
    """Per sampler, the worst over seeds of sampler_agreement's scores (agreement: seed -> its
    result): the smallest RP, retrieval accuracy and median similarity, the largest threshold."""
    by_seed = [results for _, results in agreement.values()]
    return pd.DataFrame({name: {"RP (calibrated)": min(r[name]["rp"] for r in by_seed),
                                "retrieval accuracy": min(r[name]["retrieval"] for r in by_seed),
                                "median similarity": min(r[name]["similarity"].median().item() for r in by_seed),
                                "threshold": max(r[name]["threshold"] for r in by_seed)}
                         for name in by_seed[0]}).T


def sampler_consistency(denoiser: Denoiser, noise: torch.Tensor, reference: torch.Tensor, threshold: float,
                        samplers=("ddim", "dpm++", "heun"), step_counts=(10, 25, 50)) -> list[dict]:
    """Each sampler at each step count against a reference from the same noise: the median
    same-noise similarity, RP at `threshold` and retrieval accuracy, one row each."""
    rows = []
    for sampler in samplers:
        for steps in step_counts:
            scores = _scores(reference, sample(denoiser, noise, sampler, steps).cpu(), threshold)
            rows.append({"sampler": sampler, "steps": steps, "median similarity": scores["similarity"].median().item(),
                         "RP": scores["rp"], "retrieval": scores["retrieval"]})
    return rows


def along_training(first: dict[int, Denoiser], second: dict[int, Denoiser], noise: torch.Tensor,
                   steps: int) -> list[dict[int, torch.Tensor]]:
    """Each run's DDIM images from `noise` at each of its checkpoints (dicts from training step to
    model, both runs at the same steps)."""
    if list(first) != list(second):
        raise ValueError(f"the runs' checkpoints differ: {list(first)} and {list(second)}; allowed: the same steps")
    return [{k: sample(model, noise, "ddim", steps).cpu() for k, model in run.items()} for run in (first, second)]


def emergence_scores(images: list[dict[int, torch.Tensor]], threshold: float, features: Features = centred_pixels,
                     count: int | None = None) -> dict[str, list[float]]:
    """Along training (along_training's images, the first `count` noises): RP between the two runs
    at each checkpoint, and RP of the first run with its own last model."""
    first, second = ({k: x[:count] for k, x in run.items()} for run in images)
    last = list(first)[-1]
    rp = lambda a, b: metrics.rp_score(a, b, threshold, features)
    return {"RP between the runs": [rp(first[k], second[k]) for k in first],
            "RP of the first run with its final model": [rp(first[k], first[last]) for k in first]}


def emergence(first: dict[int, Denoiser], second: dict[int, Denoiser], noise: torch.Tensor, steps: int,
              threshold: float) -> dict[str, list[float]]:
    """emergence_scores in pixel similarity of the two runs' images along training."""
    return emergence_scores(along_training(first, second, noise, steps), threshold)


def pair_similarities(samples: dict, seeds, features: Features = centred_pixels) -> tuple[dict, dict]:
    """For every pair of models (samples[name][seed]: images from the seed's noises): the
    same-noise similarities and the shuffled ones (different noises, derangement by seed), all
    seeds together. Returns (same, shuffled), each keyed by the pair."""
    pairs = list(itertools.combinations(samples, 2))
    same = {p: torch.cat([metrics.pair_similarity(samples[p[0]][s], samples[p[1]][s], features) for s in seeds])
            for p in pairs}
    shuffled = {p: torch.cat([metrics.shuffled_similarity(samples[p[0]][s], samples[p[1]][s], s, features)
                              for s in seeds]) for p in pairs}
    return same, shuffled


def pooled_calibration(samples: dict, seeds, pairs, features: Features = centred_pixels,
                       false_positive_rate: float = 0.01) -> tuple[torch.Tensor, torch.Tensor, float]:
    """One threshold for a set of models: the same-noise and the shuffled similarities of the given
    pairs, all seeds pooled, and the value that a share `false_positive_rate` of the shuffled exceed."""
    chosen = {name: samples[name] for name in dict.fromkeys(name for pair in pairs for name in pair)}
    same, shuffled = pair_similarities(chosen, seeds, features)
    same, shuffled = (torch.cat([values[p] for p in pairs]) for values in (same, shuffled))
    return same, shuffled, torch.quantile(shuffled, 1 - false_positive_rate).item()


def pair_scores(samples: dict, seeds, threshold: float, features: Features = centred_pixels) -> tuple[dict, dict]:
    """RP at `threshold` and retrieval accuracy of every pair of models, per seed: (rp, retrieval),
    each keyed by the pair with one value per seed."""
    pairs = list(itertools.combinations(samples, 2))
    per_seed = lambda score, a, b: [score(samples[a][s], samples[b][s]) for s in seeds]
    return ({p: per_seed(lambda x, y: metrics.rp_score(x, y, threshold, features), *p) for p in pairs},
            {p: per_seed(lambda x, y: metrics.retrieval_accuracy(x, y, features), *p) for p in pairs})


def pair_matrix(names: list[str], values: dict) -> pd.DataFrame:
    """The symmetric matrix of a pair score (mean over seeds), ones on the diagonal."""
    matrix = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for (a, b), v in values.items():
        matrix.loc[a, b] = matrix.loc[b, a] = np.mean(v)
    return matrix


def pair_summary(values: dict) -> list[str]:
    """The lowest pair's mean over seeds (and which pair), the middle half's range, the highest:
    the rows of the paper's table (values: the score of each pair, one value per seed)."""
    means = pd.Series({p: np.mean(v) for p, v in values.items()})
    lowest = means.idxmin()
    return [f"{means.min():.2f} ({lowest[0]} vs {lowest[1]})",
            f"{means.quantile(0.25):.2f}-{means.quantile(0.75):.2f}", f"{means.max():.2f}"]


@torch.no_grad()
def gap_to(reference: Denoiser, denoisers: dict[str, Denoiser], path) -> pd.DataFrame:
    """Along a trajectory (sampling.Trajectory), the median over its images of each denoiser's
    clean-image estimate's relative distance to the reference denoiser's, step by step."""
    target = path.apply(reference.x0)
    gaps = {name: [metrics.relative_gap(estimate, reference_estimate).median().item()
                   for estimate, reference_estimate in zip(path.apply(denoiser.x0), target)]
            for name, denoiser in denoisers.items()}
    return pd.DataFrame(gaps, index=pd.Index(path.t, name="t"))


@torch.no_grad()
def guess_gap(denoiser: Denoiser, noise: torch.Tensor, steps: int) -> tuple[list[int], torch.Tensor]:
    """Along DDIM trajectories from `noise`: the steps, and at each step every image's relative
    distance from the denoiser's clean-image guess to the image the trajectory ends at (steps, images)."""
    final, path = sample(denoiser, noise, "ddim", steps, return_trajectory=True)
    return path.t, metrics.relative_gap(path.x0.cpu(), final.cpu())


def settled_step(t: list[int], gap: torch.Tensor, level: float = 0.5) -> int:
    """The first step, in generation order, at which the median of guess_gap is below `level`."""
    below = (gap.median(1).values < level).nonzero()
    if len(below) == 0:
        raise ValueError(f"the median gap never falls below level={level}; allowed: a level above its smallest "
                         f"value {gap.median(1).values.min().item():.3g}")
    return int(t[int(below[0])])
