"""Reproducibility of class-conditional models, beyond what the label explains.

Two conditional models given the same label draw the same kind of garment whatever the noise, so
agreement between them is judged against pairs with the **same label and different noises**: the
threshold is the similarity that a share `false_positive_rate` of those exceed, and retrieval looks
for a sample's same-noise partner among the partner model's images of the same label only.
"""

import pandas as pd
import torch

from . import metrics
from .denoisers import Denoiser
from .models import CLASSES
from .sampling import sample


def balanced_labels(n: int) -> torch.Tensor:
    """Labels 0, 1, ..., CLASSES - 1, 0, 1, ...: every class as often as the others."""
    if not isinstance(n, int) or n < 2 * CLASSES:
        raise ValueError(f"n={n!r} is not allowed; allowed: an integer >= {2 * CLASSES} (two noises per class)")
    return torch.arange(n) % CLASSES


def same_label_derangement(labels: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A permutation that sends every index to another index with the same label."""
    counts = torch.bincount(labels)
    if (counts == 1).any():
        raise ValueError(f"labels {torch.nonzero(counts == 1).flatten().tolist()} occur once; allowed: "
                         "every label that occurs at least twice (it needs a partner with other noise)")
    partner = torch.empty_like(labels)
    for label in labels.unique():
        members = torch.nonzero(labels == label).flatten()
        partner[members] = members[metrics.derangement(len(members), seed + int(label))]
    return partner


def within_class_retrieval(a: torch.Tensor, b: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of i for which b_i is the most similar to a_i of the b with a_i's label."""
    similarity = metrics.similarity_matrix(a, b)
    similarity[labels[:, None] != labels[None, :]] = -float("inf")
    return (similarity.argmax(1) == torch.arange(len(a))).double().mean().item()


def pair_scores(a: torch.Tensor, b: torch.Tensor, labels: torch.Tensor, seed: int = 0,
                false_positive_rate: float = 0.01) -> dict[str, float]:
    """RP and retrieval of two models' images from the same noises and labels, with the threshold
    from same-label pairs of different noises (the null), and the medians of both kinds of pair."""
    same = metrics.pair_similarity(a, b)
    null = metrics.pair_similarity(a, b[same_label_derangement(labels, seed)])
    threshold = torch.quantile(null, 1 - false_positive_rate).item()
    return {"threshold": threshold, "RP": (same > threshold).double().mean().item(),
            "retrieval": within_class_retrieval(a, b, labels),
            "median similarity": same.median().item(), "null median": null.median().item()}


def conditional_samples(models: dict[str, Denoiser], noises: dict[int, torch.Tensor], labels: torch.Tensor,
                        guidances: tuple[float, ...], steps: int) -> dict[tuple[str, float], dict[int, torch.Tensor]]:
    """DDIM images of every model at every guidance weight from every seed's noises, one label per noise."""
    return {(name, w): {seed: sample(model, noise, "ddim", steps, labels=labels, guidance=w).cpu()
                        for seed, noise in noises.items()}
            for name, model in models.items() for w in guidances}


def agreement_table(samples: dict, pairs: list[tuple[str, str]], labels: torch.Tensor) -> pd.DataFrame:
    """pair_scores for each pair of models at each guidance weight and seed (samples: as
    conditional_samples returns them)."""
    guidances = sorted({w for _, w in samples})
    return pd.DataFrame([{"pair": f"{a} vs {b}", "guidance": w, "seed": seed,
                          **pair_scores(samples[a, w][seed], samples[b, w][seed], labels, seed)}
                         for a, b in pairs for w in guidances for seed in samples[a, w]])


def label_accuracy(samples: dict, labels: torch.Tensor, classifier) -> pd.DataFrame:
    """The share of each model's images that the classifier assigns to the label they were drawn with."""
    return pd.DataFrame([{"model": name, "guidance": w, "seed": seed,
                          "accuracy": (classifier.predict(images).argmax(1) == labels).double().mean().item()}
                         for (name, w), by_seed in samples.items() for seed, images in by_seed.items()])


def guidance_gain(accuracy: pd.DataFrame) -> float:
    """The smallest rise of label accuracy from no guidance to the strongest, over models and seeds."""
    table = accuracy.pivot_table(index=["model", "seed"], columns="guidance", values="accuracy")
    return (table[table.columns.max()] - table[0.0]).min()


def claim_values(table: pd.DataFrame, accuracy: pd.DataFrame, seed_pair: str) -> dict[str, float]:
    """The numbers the conditional claims rest on, each the worst over seeds: RP of every pair at
    every weight; the two training runs' (`seed_pair`) RP and retrieval; the other pairs' (across
    families) RP without and with guidance; label accuracy without and with guidance, and its rise.
    Also, to explain them, the median null similarity without and with guidance and the families'
    median same-noise similarity with guidance (medians over pairs and seeds)."""
    runs, families = table[table["pair"] == seed_pair], table[table["pair"] != seed_pair]
    guided = lambda rows, on: rows[(rows["guidance"] > 0) == on]
    return {"class_rp_min": table["RP"].min(), "class_seed_rp_min": runs["RP"].min(),
            "class_seed_retrieval_min": runs["retrieval"].min(),
            "class_dit_rp_w0_min": guided(families, False)["RP"].min(), "class_dit_rp_w2_min": guided(families, True)["RP"].min(),
            "class_accuracy_w0_min": guided(accuracy, False)["accuracy"].min(),
            "class_accuracy_w2_min": guided(accuracy, True)["accuracy"].min(), "class_guidance_gain_min": guidance_gain(accuracy),
            "class_null_median_w0": guided(table, False)["null median"].median(),
            "class_null_median_w2": guided(table, True)["null median"].median(),
            "class_family_similarity_w2": guided(families, True)["median similarity"].median()}
