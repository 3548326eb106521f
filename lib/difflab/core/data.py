"""Data as tensors in [-1, 1]: image sets for the experiments, toy sets for the theory, and
deterministic subsets (nested for 2^k sweeps, disjoint for split-data experiments)."""

import functools
import gzip
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from difflab.core.parallel import main_first
from difflab.core.paths import data_dir

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
TOY_RGB_CLASSES = (
    "red",
    "green",
    "blue",
    "yellow",
    "magenta",
    "cyan",
    "orange",
    "purple",
    "white",
    "grey",
)
DATASETS = {
    "fashion_mnist": FASHION_MNIST_CLASSES,
    "cifar10": CIFAR10_CLASSES,
    "toy_rgb": TOY_RGB_CLASSES,
}
CHANNELS = {"fashion_mnist": 1, "cifar10": 3, "toy_rgb": 3}
TITLES = {"fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "toy_rgb": "made-up RGB images"}
TOY_RGB_SIZES = {
    True: 2048,
    False: 6000,
}  # training and test images (chapter 4 holds out 5,000 test images)


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST format): a magic number whose last byte is the rank, then sizes."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    rank = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


def _fashion_mnist_folder() -> Path:
    """The Debian package's folder, else a torchvision download into data/downloads."""
    if (DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").exists():
        return DEBIAN_FASHION_MNIST
    root = data_dir() / "downloads"
    raw = root / "FashionMNIST" / "raw"
    if not (raw / "train-images-idx3-ubyte.gz").exists():
        try:
            import torchvision

            with main_first():  # under accelerate: one download
                torchvision.datasets.FashionMNIST(root, download=True)
        except Exception as err:
            raise FileNotFoundError(
                "Fashion-MNIST is not on this machine. Install it offline with "
                "`sudo apt-get install dataset-fashion-mnist` (files in "
                f"{DEBIAN_FASHION_MNIST}), or let torchvision download it into {root} "
                f"(needs torchvision and network; it failed with: {err})"
            ) from err
    return raw


def _fashion_mnist(train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    folder = _fashion_mnist_folder()
    prefix = "train" if train else "t10k"
    images = _read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")
    labels = _read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz")
    return torch.from_numpy(images.copy())[:, None], torch.from_numpy(labels.astype(np.int64))


def _cifar10(train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    import torchvision

    with main_first():  # under accelerate: one download
        ds = torchvision.datasets.CIFAR10(data_dir() / "downloads", train=train, download=True)
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()
    return images, torch.tensor(ds.targets, dtype=torch.int64)


def _toy_rgb(train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The toy colour set, made once per process (every model trained on it reads it again)."""
    images, labels = _make_toy_rgb(train)
    return images, labels.clone()


@functools.cache
def _make_toy_rgb(train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10's shape without its download, for the `smoke` profile: 32x32 colour images of a disk
    whose colour is the class, at a random place and size on a dark noisy background (made here,
    the same on every machine; the test set from another seed)."""
    n, g = TOY_RGB_SIZES[train], torch.Generator().manual_seed(0 if train else 1)
    palette = torch.tensor(
        [
            [230, 40, 40],
            [40, 200, 60],
            [50, 80, 230],
            [230, 220, 50],
            [220, 50, 220],
            [50, 220, 220],
            [240, 140, 30],
            [130, 50, 180],
            [240, 240, 240],
            [128, 128, 128],
        ]
    )
    labels = torch.randint(len(palette), (n,), generator=g)
    centre = 8 + 16 * torch.rand(n, 2, 1, 1, generator=g)
    radius = 4 + 6 * torch.rand(n, 1, 1, generator=g)
    rows, cols = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    disk = ((rows - centre[:, 0]) ** 2 + (cols - centre[:, 1]) ** 2 < radius**2).float()[:, None]
    background = 40 * torch.rand(n, 3, 1, 1, generator=g) + 10 * torch.randn(
        n, 3, 32, 32, generator=g
    )
    images = disk * palette[labels][:, :, None, None] + (1 - disk) * background
    return images.clamp(0, 255).round().to(torch.uint8), labels


def load_images(
    dataset: str, resolution: int, train: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, C, resolution, resolution) in [-1, 1] and their integer labels."""
    loaders = {"fashion_mnist": _fashion_mnist, "cifar10": _cifar10, "toy_rgb": _toy_rgb}
    if dataset not in loaders:
        raise ValueError(
            f"dataset={dataset!r} is unknown; allowed: {', '.join(map(repr, loaders))}"
        )
    if resolution < 4:
        raise ValueError(f"resolution={resolution} is too small; allowed: 4 or more pixels")
    images, labels = loaders[dataset](train)
    x = images.float() / 127.5 - 1.0
    if x.shape[-1] != resolution:
        x = F.interpolate(
            x, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False
        ).clamp(-1, 1)
    return x, labels


def two_points() -> torch.Tensor:
    """The 1-D data of the symmetry-breaking paper: +1 and -1 with probability 1/2 each."""
    return torch.tensor([[-1.0], [1.0]])


def gaussian_mixture(
    n: int, dim: int, centres: torch.Tensor, std: float, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """n points from an equal-weight mixture of isotropic Gaussians at the given centres."""
    if centres.shape[1] != dim:
        raise ValueError(f"centres have dimension {centres.shape[1]}, but dim={dim}")
    g = torch.Generator().manual_seed(seed)
    component = torch.randint(len(centres), (n,), generator=g)
    return centres[component] + std * torch.randn(n, dim, generator=g), component


def _permutation(n_total: int, seed: int) -> torch.Tensor:
    return torch.randperm(n_total, generator=torch.Generator().manual_seed(seed))


def disjoint_subsets(n_total: int, size: int, parts: int = 2, seed: int = 0) -> list[torch.Tensor]:
    """`parts` disjoint index sets of `size` each: consecutive blocks of one fixed permutation.

    Part 0 is `nested_subset(n_total, size, seed)`, so split experiments share data with sweeps."""
    if size < 1 or parts < 1 or size * parts > n_total:
        raise ValueError(
            f"cannot take {parts} disjoint subsets of size={size} from {n_total} "
            f"items; allowed: 1 <= size and size * parts <= {n_total}"
        )
    perm = _permutation(n_total, seed)
    return [perm[k * size : (k + 1) * size] for k in range(parts)]


def nested_subset(n_total: int, size: int, seed: int = 0) -> torch.Tensor:
    """The first `size` of one fixed permutation: subsets of a 2^k sweep contain each other."""
    return disjoint_subsets(n_total, size, 1, seed)[0]
