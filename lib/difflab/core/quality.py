"""Sample quality and diversity in the feature space of the book's classifier: FID and KID from
torchmetrics, fed with the classifier's features, and the entropy of predicted labels."""

import warnings
from typing import Protocol

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance


class Judge(Protocol):
    """What quality needs of a classifier (difflab.training.classifier.Classifier is one): its
    features and its class probabilities, in batches."""

    def embed(self, images: torch.Tensor) -> torch.Tensor: ...

    def predict(self, images: torch.Tensor) -> torch.Tensor: ...


class _Given(nn.Identity):
    """A torchmetrics "feature extractor" for features computed beforehand."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features


class FeatureDistance:
    """FID and KID of sample sets against one reference set, in the classifier's feature space
    (its pooled activations); the reference's features are computed once."""

    def __init__(self, reference: torch.Tensor, classifier: Judge, kid_subset_size: int = 500):
        if len(reference) < kid_subset_size:
            raise ValueError(
                f"reference holds {len(reference)} images; allowed: at least kid_subset_size={kid_subset_size}"
            )
        self.classifier, self.kid_subset_size = classifier, kid_subset_size
        self.reference_shape = tuple(
            reference.shape[1:]
        )  # one image's shape, for samplers to match
        dim = classifier.head.in_features
        self._fid = FrechetInceptionDistance(feature=_Given(dim), reset_real_features=False)
        with (
            warnings.catch_warnings()
        ):  # KID keeps every feature vector: 128 floats each, fine here
            warnings.filterwarnings(
                "ignore", message=".*will save all extracted features in buffer"
            )
            self._kid = KernelInceptionDistance(
                feature=_Given(dim), reset_real_features=False, subset_size=kid_subset_size
            )
        features = classifier.embed(reference)
        self._fid.update(features, real=True)
        self._kid.update(features, real=True)

    def __call__(self, samples: torch.Tensor) -> dict[str, float]:
        """{"fid", "kid", "kid_std"} of `samples` against the reference (KID over random subsets)."""
        if len(samples) < self.kid_subset_size:
            raise ValueError(
                f"samples hold {len(samples)} images; allowed: at least kid_subset_size={self.kid_subset_size}"
            )
        features = self.classifier.embed(samples)
        self._kid.reset()
        self._kid.update(features, real=False)
        with torch.random.fork_rng():  # KID draws random subsets: same samples, same number
            torch.manual_seed(0)
            kid, kid_std = self._kid.compute()
        return {"fid": self._frechet(features), "kid": kid.item(), "kid_std": kid_std.item()}

    def fid(self, samples: torch.Tensor) -> float:
        """The FID alone, for sweeps that plot nothing else: KID's 100 random subsets cost more
        than the FID itself."""
        return self._frechet(self.classifier.embed(samples))

    def fid_resampled(self, samples: torch.Tensor, draws) -> tuple[float, list[float]]:
        """The FID of `samples`, and of each draw of them (draws: rows of sample indices, a
        bootstrap's resamples), their features computed once."""
        features = self.classifier.embed(samples)
        return self._frechet(features), [self._frechet(features[row]) for row in draws]

    def _frechet(self, features: torch.Tensor) -> float:
        self._fid.reset()
        self._fid.update(features, real=False)
        return self._fid.compute().item()


def label_entropy(images: torch.Tensor, classifier: Judge) -> float:
    """Entropy (nats) of the histogram of predicted labels: log(10) for ten equally frequent classes."""
    probabilities = classifier.predict(images)
    counts = torch.bincount(probabilities.argmax(1), minlength=probabilities.shape[1])
    p = counts[counts > 0].double() / counts.sum()
    return -(p * p.log()).sum().item()


def fid_reference(train: torch.Tensor, n: int = 10_000) -> torch.Tensor:
    """The FID's reference set: n training images drawn with a fixed seed (chapters 5 and 9 and
    their studies)."""
    return train[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:n]]
