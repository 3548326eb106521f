"""FID and label entropy in the classifier's feature space."""

import math
import warnings
from pathlib import Path

import pytest
import torch

from difflab.core.data import load_images
from difflab.core.quality import FeatureDistance, fid_reference, label_entropy
from difflab.training.classifier import get_classifier

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def classifier_and_images():
    images, labels = load_images("fashion_mnist", 16, train=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIFFLAB_DATA", str(DATA))
        return get_classifier(device="cpu", progress=False), images, labels


def test_fid_and_kid_are_small_between_halves_of_one_set_and_large_for_noise(classifier_and_images):
    net, images, _ = classifier_and_images
    distance = FeatureDistance(images[1000:3000], net)
    same = distance(images[:1000])
    noise = distance(
        torch.randn(1000, 1, 16, 16, generator=torch.Generator().manual_seed(0)).clamp(-1, 1)
    )
    assert same["fid"] < 1.0 < 10 * same["fid"] < noise["fid"]
    assert abs(same["kid"]) < 3 * same["kid_std"] + 1e-3 < noise["kid"]
    assert distance(images[:1000]) == same  # deterministic, reference kept
    assert distance.fid(images[:1000]) == same["fid"]  # the FID alone, the same number
    assert distance.fid(images[:10]) > 0  # no KID: no subset size to reach
    with pytest.raises(ValueError, match="allowed: at least kid_subset_size=500"):
        distance(images[:10])


def test_the_resampled_fid_is_the_fid_of_each_draw(classifier_and_images):
    net, images, _ = classifier_and_images
    distance = FeatureDistance(images[1000:3000], net)
    draws = [[0, 0, 1, 2] * 25, list(range(100))]
    fid, resampled = distance.fid_resampled(images[:100], draws)
    assert fid == distance.fid(images[:100]) == resampled[1]
    assert resampled[0] == distance.fid(images[:100][draws[0]])


def test_label_entropy_of_balanced_classes_is_near_log_10(classifier_and_images):
    net, images, labels = classifier_and_images
    assert label_entropy(images[:2000], net) == pytest.approx(math.log(10), abs=0.05)
    one_class = images[labels == 1][:200]  # trousers
    assert label_entropy(one_class, net) < 0.5


def test_building_the_distance_prints_no_warning_on_a_page(classifier_and_images):
    """torchmetrics warns that KID keeps its features; a chapter page must not show that."""
    net, images, _ = classifier_and_images
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FeatureDistance(images[:600], net)


def test_fid_reference_is_a_fixed_draw_of_distinct_training_images():
    train = torch.arange(50.0).view(50, 1, 1, 1)
    reference = fid_reference(train, n=20)
    assert (
        torch.equal(reference, fid_reference(train, n=20))
        and len(set(reference.flatten().tolist())) == 20
    )
