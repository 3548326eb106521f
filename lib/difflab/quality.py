"""Sample quality and diversity in the feature space of the book's classifier: FID and KID from
torchmetrics (which accept a custom feature network), and the entropy of predicted labels."""

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance

from .classifier import Classifier


class ClassifierFeatures(nn.Module):
    """The classifier's pooled features as a torchmetrics feature extractor."""

    def __init__(self, classifier: Classifier):
        super().__init__()
        self.classifier = classifier
        self.num_features = classifier.head.in_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(images)


@torch.no_grad()
def fid(samples: torch.Tensor, reference: torch.Tensor, classifier: Classifier, batch_size: int = 1000) -> float:
    """Frechet distance between the Gaussians fitted to the two sets' classifier features."""
    if min(len(samples), len(reference)) < 2:
        raise ValueError(f"fid needs at least 2 images on each side; got {len(samples)} and {len(reference)}")
    device = next(classifier.parameters()).device
    metric = FrechetInceptionDistance(feature=ClassifierFeatures(classifier)).to(device)
    for images, real in ((reference, True), (samples, False)):
        for part in images.split(batch_size):
            metric.update(part.float().to(device), real=real)
    return metric.compute().item()


def label_entropy(images: torch.Tensor, classifier: Classifier) -> float:
    """Entropy (nats) of the histogram of predicted labels: log(10) for ten equally frequent classes."""
    counts = torch.bincount(classifier.predict(images).argmax(1), minlength=classifier.head.out_features)
    p = counts[counts > 0].double() / counts.sum()
    return -(p * p.log()).sum().item()

