"""Reproducibility after fine-tuning: two parents fine-tuned on one class, against each other and
against a model trained on that class from scratch, which shares no weights with them (the control
against agreement inherited from the parents)."""

import pandas as pd
import torch

from . import metrics
from .cache import get_snapshot
from .sampling import sample
from .training import TrainConfig


def along_fine_tuning(images: dict[int, torch.Tensor], references: dict[str, torch.Tensor],
                      threshold: float) -> pd.DataFrame:
    """How a fine-tuning run's images (by fine-tuning step; step 0: the parent's) move against
    reference images from the same noises: the median same-noise similarity and the RP at
    `threshold`, one row per step and reference."""
    rows = []
    for step, run in images.items():
        for name, reference in references.items():
            similarity = metrics.pair_similarity(run, reference)
            rows.append({"step": step, "against": name, "median similarity": similarity.median().item(),
                         "RP": (similarity > threshold).double().mean().item()})
    return pd.DataFrame(rows)


def trend(table: pd.DataFrame, against: str, score: str = "median similarity") -> float:
    """The change of a score from the parent (step 0) to the end of fine-tuning."""
    rows = table[table["against"] == against].sort_values("step")[score]
    return rows.iloc[-1] - rows.iloc[0]


def along_images(config: TrainConfig, parent_images: torch.Tensor, final_images: torch.Tensor, noise: torch.Tensor,
                 steps: int, device: str | None = None) -> dict[int, torch.Tensor]:
    """A fine-tuning run's DDIM images from `noise` by fine-tuning step: its parent's (step 0, given),
    its snapshots' (sampled here) and its final model's (given): each model sampled once."""
    return {0: parent_images, **{k: sample(get_snapshot(config, k, device), noise, "ddim", steps).cpu()
                                 for k in config.snapshots}, config.steps: final_images}


def class_share(images: torch.Tensor, classifier, label: int) -> float:
    """The share of images that the classifier assigns to `label`."""
    return (classifier.predict(images).argmax(1) == label).double().mean().item()
