import pytest
import torch

from difflab.core.data import load_images
from difflab.core.devices import set_float32_precision

set_float32_precision(exact=True)  # the book's precision: float32 as float32 on a GPU, no TF32


@pytest.fixture(scope="session")
def fashion8():
    """A small slice of Fashion-MNIST at 8x8: enough for fast, real tests."""
    images, labels = load_images("fashion_mnist", 8)
    return images[:512], labels[:512]


@pytest.fixture
def tmp_data(tmp_path, monkeypatch):
    """An empty data folder, so cache tests never touch the committed models."""
    monkeypatch.setenv("DIFFLAB_DATA", str(tmp_path))
    return tmp_path


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
