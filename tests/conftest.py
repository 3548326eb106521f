import pytest
import torch

from difflab.core.data import load_images


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
