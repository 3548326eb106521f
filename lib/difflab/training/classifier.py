"""A small image classifier trained in the book, for what needs labels or features offline: the
class two cloned trajectories end in (symmetry breaking) and the feature space of a FID and the
label entropy of samples (late initialization), where Inception weights cannot be fetched.

Trained once per config and cached like the diffusion models (difflab.training.keys.classifier_key)."""

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from difflab.core.data import CHANNELS, DATASETS, load_images
from difflab.core.devices import checked, default_device
from difflab.core.paths import data_dir
from difflab.training import keys
from difflab.training.checkpoints import load_state, save_state
from difflab.training.store import cached_weights

GENERIC = "difflab.training.classifier.get_classifier(config, allow_training=True)"


@dataclass(frozen=True)
class ClassifierConfig:
    dataset: str = "fashion_mnist"
    resolution: int = 16
    width: int = 32
    epochs: int = 4
    batch_size: int = 128
    lr: float = 2e-3
    seed: int = 0

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(
                f"dataset={self.dataset!r} is unknown; allowed: {', '.join(map(repr, DATASETS))}"
            )
        if self.epochs < 1:
            raise ValueError(f"epochs={self.epochs} is not allowed; allowed: >= 1")


class Classifier(nn.Module):
    """Three convolutions (the last two halve the resolution), global average pooling to a
    `4 * width`-dimensional feature vector, and a linear layer to the class logits."""

    def __init__(self, channels: int, classes: int, width: int = 32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.GroupNorm(8, width),
            nn.SiLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.GroupNorm(8, 2 * width),
            nn.SiLU(),
            nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1),
            nn.GroupNorm(8, 4 * width),
            nn.SiLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(4 * width, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """Class probabilities, in batches."""
        device = next(self.parameters()).device
        return torch.cat([F.softmax(self(x.to(device)), 1).cpu() for x in images.split(batch_size)])

    @torch.no_grad()
    def embed(self, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """Feature vectors (the input of the last layer), in batches: the space of the book's FID."""
        device = next(self.parameters()).device
        return torch.cat(
            [self.features(x.to(device)).cpu() for x in images.split(batch_size)]
        ).double()


def classifier_dir_key(config: ClassifierConfig) -> str:
    """The key of the classifier's folder: keys.classifier_key of the config's fields."""
    return keys.classifier_key(asdict(config))


def classifier_dir(config: ClassifierConfig) -> Path:
    return data_dir() / "models" / f"classifier-{classifier_dir_key(config)}"


def _build(config: ClassifierConfig) -> Classifier:
    return Classifier(CHANNELS[config.dataset], len(DATASETS[config.dataset]), config.width)


def train_classifier(
    config: ClassifierConfig, state_path: Path, device: str = "cpu", progress: bool = True
) -> tuple[Classifier, dict]:
    """Adam on the cross-entropy over the whole training set, one state file per finished epoch
    (written atomically), so an interrupted run resumes at its last epoch."""
    images, labels = load_images(config.dataset, config.resolution, train=True)
    torch.manual_seed(config.seed)
    net = _build(config).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    epoch, elapsed = 0, 0.0
    if state_path.exists():
        state = load_state(state_path)
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
        epoch, elapsed = state["epoch"], state["elapsed"]
    for epoch in range(epoch, config.epochs):
        start = time.perf_counter()
        order = torch.randperm(len(images))
        bar = tqdm(
            order.split(config.batch_size),
            desc=f"classifier epoch {epoch + 1}/{config.epochs}",
            disable=not progress,
        )
        for batch in bar:
            loss = F.cross_entropy(net(images[batch].to(device)), labels[batch].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        elapsed += time.perf_counter() - start
        save_state(
            state_path,
            {
                "net": net.state_dict(),
                "optimizer": optimizer.state_dict(),
                "rng": torch.get_rng_state(),
                "epoch": epoch + 1,
                "elapsed": elapsed,
            },
        )
    net.eval()
    test_images, test_labels = load_images(config.dataset, config.resolution, train=False)
    accuracy = (net.predict(test_images).argmax(1) == test_labels).double().mean().item()
    return net, {"test_accuracy": accuracy, "wall_time_s": elapsed}


def get_classifier(
    config: ClassifierConfig = ClassifierConfig(),
    device: str | None = None,
    progress: bool = True,
    allow_training: bool | None = None,
    command: str | None = None,
) -> Classifier:
    """The trained classifier of `config`: from the cache folder, or trained now (resuming) when
    `allow_training` is True or DIFFLAB_TRAIN=1; a missing one is an error that names `command`.
    Under accelerate the main process trains it alone."""
    device = checked(device or default_device())

    def fit(state_path):
        net, summary = train_classifier(config, state_path, device, progress)
        return net.state_dict(), {"revision": keys.CLASSIFIER_REVISION, **summary}

    state = cached_weights(
        classifier_dir(config),
        asdict(config),
        f"The classifier {asdict(config)}",
        lambda: command or GENERIC,
        fit,
        device,
        allow_training,
        shared=False,
    )
    net = _build(config)
    net.load_state_dict(state)
    return net.to(device).eval()
