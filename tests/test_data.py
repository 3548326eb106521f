import pytest
import torch

from difflab.core import data
from difflab.core.data import (
    disjoint_subsets,
    gaussian_mixture,
    load_images,
    nested_subset,
    two_points,
)


def test_images_are_in_range_with_labels():
    images, labels = load_images("fashion_mnist", 16, train=False)
    assert images.shape == (10_000, 1, 16, 16)
    assert images.min() >= -1 and images.max() <= 1
    assert images.mean() < -0.3  # mostly dark background
    assert set(labels.unique().tolist()) == set(range(10))


def test_native_resolution_is_exact():
    images, _ = load_images("fashion_mnist", 28, train=False)
    raw = data._read_idx(data._fashion_mnist_folder() / "t10k-images-idx3-ubyte.gz")
    assert torch.equal(images[:, 0], torch.from_numpy(raw.copy()).float() / 127.5 - 1)


def test_nested_subsets_nest():
    small, large = nested_subset(1000, 64), nested_subset(1000, 256)
    assert torch.equal(large[:64], small)
    assert len(set(large.tolist())) == 256


def test_disjoint_subsets_are_disjoint_and_part0_is_nested():
    parts = disjoint_subsets(1000, 300, parts=3, seed=1)
    assert all(len(p) == 300 for p in parts)
    assert len(set(torch.cat(parts).tolist())) == 900
    assert torch.equal(parts[0], nested_subset(1000, 300, seed=1))


def test_subsets_depend_on_seed_only():
    assert torch.equal(nested_subset(500, 50, seed=3), nested_subset(500, 50, seed=3))
    assert not torch.equal(nested_subset(500, 50, seed=3), nested_subset(500, 50, seed=4))


def test_toy_sets():
    assert two_points().flatten().tolist() == [-1.0, 1.0]
    centres = torch.tensor([[5.0, 0.0], [-5.0, 0.0]])
    x, component = gaussian_mixture(4000, 2, centres, std=0.5, seed=0)
    assert torch.allclose(x[component == 0].mean(0), centres[0], atol=0.05)
    assert abs(x[component == 1].std(0).mean().item() - 0.5) < 0.03


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: load_images("mnist", 16),
            "dataset='mnist' is unknown; allowed: 'fashion_mnist', 'cifar10'",
        ),
        (lambda: load_images("fashion_mnist", 2), "resolution=2"),
        (lambda: nested_subset(10, 11), "size=11"),
        (lambda: gaussian_mixture(5, 3, torch.zeros(2, 2), 1.0), "dim=3"),
    ],
)
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_missing_data_offline_says_how_to_install(tmp_data, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_data / "nowhere")
    monkeypatch.setitem(__import__("sys").modules, "torchvision", None)  # as if not installed
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist") as err:
        load_images("fashion_mnist", 16)
    assert "torchvision" in str(err.value)


def test_the_made_up_colour_set_has_cifars_shape_and_is_the_same_everywhere():
    images, labels = load_images("toy_rgb", 32)
    test_images, _ = load_images("toy_rgb", 32, train=False)
    assert images.shape == (2048, 3, 32, 32) and test_images.shape == (6000, 3, 32, 32)
    assert images.min() >= -1 and images.max() <= 1 and set(labels.tolist()) == set(range(10))
    assert torch.equal(load_images("toy_rgb", 32)[0], images) and not torch.equal(
        images[:100], test_images[:100]
    )
    red = images[labels == 0].mean((0, 2, 3))  # the disk's colour is the class
    assert red[0] > red[1] + 0.2 and red[0] > red[2] + 0.2
