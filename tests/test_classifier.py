"""The book's classifier: committed, accurate enough to label samples, and guarded like the models."""

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from difflab.book.profiles import get_profile
from difflab.book.trained import profile_classifier
from difflab.core.data import load_images
from difflab.training import classifier
from difflab.training.classifier import ClassifierConfig, classifier_dir, get_classifier
from difflab.training.store import NotTrainedError

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def committed(monkeypatch):
    monkeypatch.setenv("DIFFLAB_DATA", str(DATA))
    monkeypatch.setattr(
        classifier,
        "train_classifier",
        lambda *a, **k: pytest.fail("the classifier is not committed"),
    )


def test_the_committed_classifier_labels_test_images(committed):
    net = get_classifier(device="cpu")
    images, labels = load_images("fashion_mnist", 16, train=False)
    accuracy = (net.predict(images[:2000]).argmax(1) == labels[:2000]).double().mean().item()
    assert accuracy >= 0.85  # measured: see the manifest
    features = net.embed(images[:10])
    assert features.shape == (10, 4 * ClassifierConfig().width) and features.dtype == torch.float64


def test_a_checkpoint_for_another_config_is_refused(committed, tmp_path, monkeypatch):
    other = replace(ClassifierConfig(), epochs=1)
    monkeypatch.setenv("DIFFLAB_DATA", str(tmp_path))
    shutil.copytree(
        DATA / "models" / classifier_dir(ClassifierConfig()).name, classifier_dir(other)
    )
    with pytest.raises(ValueError, match="does not match its config"):
        get_classifier(other, device="cpu")


def test_a_missing_classifier_is_an_error_that_says_how_to_train_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFLAB_DATA", str(tmp_path))
    monkeypatch.delenv("DIFFLAB_TRAIN", raising=False)
    monkeypatch.setattr(
        classifier,
        "train_classifier",
        lambda *a, **k: pytest.fail("trained without being asked to"),
    )
    with pytest.raises(
        NotTrainedError,
        match=r"The classifier \{.*\} is not in the model cache: .* "
        r"Train it with `python -m difflab.book.zoo ci`",
    ):
        profile_classifier(get_profile("ci"), device="cpu")
    with pytest.raises(NotTrainedError, match=r"get_classifier\(config, allow_training=True\)"):
        get_classifier(replace(ClassifierConfig(), width=8), device="cpu")


def test_resume_after_a_crash_gives_the_same_weights(tmp_path, monkeypatch):
    images, labels = load_images("fashion_mnist", 16, train=True)
    monkeypatch.setattr(
        classifier, "load_images", lambda *a, train=True: (images[:512], labels[:512])
    )
    config = ClassifierConfig(epochs=2, batch_size=64)
    whole, _ = classifier.train_classifier(config, tmp_path / "a.pt", progress=False)
    real_save = classifier.save_state

    def save_then_crash(path, state):
        real_save(path, state)
        raise KeyboardInterrupt

    monkeypatch.setattr(classifier, "save_state", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        classifier.train_classifier(config, tmp_path / "b.pt", progress=False)
    monkeypatch.setattr(classifier, "save_state", real_save)
    resumed, _ = classifier.train_classifier(config, tmp_path / "b.pt", progress=False)
    for key, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_bad_config_names_the_parameter():
    with pytest.raises(ValueError, match="dataset='mnist' is unknown"):
        ClassifierConfig(dataset="mnist")
    with pytest.raises(ValueError, match="epochs=0 is not allowed"):
        ClassifierConfig(epochs=0)


def test_a_profile_classifier_is_the_committed_one_for_its_data(committed):
    net, reference = profile_classifier(get_profile("ci")), get_classifier(device="cpu")
    assert all(
        torch.equal(a, b)
        for a, b in zip(net.state_dict().values(), reference.state_dict().values())
    )
