"""Chapter 3's experiments on small inputs."""

import pandas as pd
import pytest
import torch

from difflab.chapters import ch03_memorization as memorization
from difflab.chapters import ch07_when_decided
from difflab.core import metrics


def test_sweep_scores_see_copies_of_the_same_image_and_new_images():
    g = torch.Generator().manual_seed(0)
    train = torch.rand(20, 1, 4, 4, generator=g) * 2 - 1
    copies = train[:6]  # every model copies the same six images
    new = torch.rand(6, 1, 4, 4, generator=g) * 2 - 1  # a width that makes new images
    samples = {("a", 20): {0: copies}, ("b", 20): {0: new}, ("optimal", 20): {0: copies}}
    scores = memorization.sweep_scores(samples, {20: train}, ("a", "b"), [0], threshold=0.9)
    value = scores.set_index("score")["value"]
    assert (
        value["RP a vs optimal"] == 1
        and value["same copy a vs optimal"] == 1
        and value["GL a"] == 0
    )
    assert (
        value["GL b"] == pytest.approx(1)
        and value["same copy b vs optimal"] == 0
        and value["GL optimal"] == 0
    )
    assert set(scores.columns) == {"images", "score", "seed", "value"} and len(scores) == 8


def test_regimes_and_transition_read_the_mean_gl():
    mean = pd.DataFrame({"GL a": [0.1, 0.6, 0.9], "GL b": [0.2, 0.3, 0.8]}, index=[16, 64, 256])
    assert memorization.regimes(mean, ("a", "b")) == ([16], [256])
    assert memorization.transition(mean, "a") == 64 and memorization.transition(mean, "b") == 256
    assert memorization.transition(mean * 0, "a") == float("inf")


def test_nearest_rows_pair_each_sample_with_its_nearest_training_image():
    train = torch.stack([torch.full((1, 2, 2), v) for v in (-1.0, 0.0, 1.0)])
    rows = memorization.nearest_rows(
        {"m": torch.stack([torch.full((1, 2, 2), 0.9), torch.full((1, 2, 2), -0.8)])}, train
    )
    assert list(rows) == ["m", "m: nearest\ntraining image"]
    assert torch.equal(rows["m: nearest\ntraining image"], train[[2, 0]])


def test_pair_rp_scores_pairs_present_at_each_size_under_each_similarity():
    g = torch.Generator().manual_seed(1)
    images = torch.rand(3, 10, 1, 4, 4, generator=g) * 2 - 1
    samples = {
        ("a", 8): {0: images[0]},
        ("b", 8): {0: images[0]},
        ("c", 8): {0: images[1]},
        ("a", 16): {0: images[1]},
        ("b", 16): {0: images[2]},
    }
    unit = lambda x: x.flatten(1) / x.flatten(1).norm(dim=1, keepdim=True)
    calls = []
    counted = lambda x: calls.append(len(x)) or unit(x)
    similarities = {
        "pixel": metrics.Similarity(unit, 0.99),
        "never": metrics.Similarity(counted, 1.5, count=4),
    }
    rows = memorization.pair_rp(samples, [("a", "b"), ("a", "c")], [8, 16], [0], similarities)
    value = rows.set_index(["images", "score"])["value"]
    assert len(rows) == 6 and (16, "RP a vs c, pixel") not in value.index  # c has no model at 16
    assert value[8, "RP a vs b, pixel"] == 1 and value[8, "RP a vs b, never"] == 0
    assert value[16, "RP a vs b, pixel"] == 0 and value[8, "RP a vs c, pixel"] == 0
    assert set(calls) == {4}


def test_dip_depth_is_positive_only_where_the_curve_dips_inside():
    by_seed = pd.DataFrame(
        {0: [0.7, 0.4, 0.5, 0.8], 1: [0.6, 0.7, 0.9, 0.8]}, index=[16, 32, 64, 128]
    )
    assert memorization.dip_depth(by_seed).round(6).to_dict() == {0: 0.3, 1: -0.1}


def test_width_claims_read_each_claim_at_its_worst_seed():
    rows = []

    def add(pair, similarity, values):  # values: size -> one value per seed (0, 1)
        rows.extend(
            {"images": n, "score": f"RP {pair}, {similarity}", "seed": s, "value": v}
            for n, by_seed in values.items()
            for s, v in enumerate(by_seed)
        )

    add("xs vs s", "SSCD > 0.6", {16: [0.8, 0.9], 64: [0.85, 0.7], 1024: [0.9, 0.95]})
    add("xs vs s", "SSCD calibrated", {16: [0.7, 0.6], 64: [0.4, 0.5], 1024: [0.6, 0.65]})
    add("xs vs s", "pixel", {16: [0.7, 0.7], 64: [0.6, 0.65], 1024: [0.8, 0.8]})
    add("xs vs m", "pixel", {64: [0.55, 0.6]})
    add("xs vs m", "SSCD calibrated", {64: [0.3, 0.2]})
    add("xs vs disjoint", "SSCD > 0.6", {16: [0.4, 0.5], 1024: [0.9, 0.85]})
    claims = memorization.width_claims(pd.DataFrame(rows), "xs", "s", "m")
    assert claims == pytest.approx(
        {
            "sscd06_ends_min": 0.8,
            "sscd06_depth_min": -0.05,
            "sscd06_depth_max": 0.2,
            "sscdcal_depth_min": 0.1,
            "wide_pixel_low_min": 0.55,
            "wide_pixel_low_max": 0.6,
            "wide_sscdcal_low_max": 0.3,
            "wide_below_pair_min": 0.05,
            "disjoint_sscd06_small_max": 0.5,
            "disjoint_sscd06_large_min": 0.85,
        }
    )


def test_the_empirical_denoiser_commits_and_decision_times_read_a_pair(fashion8):
    from difflab.chapters.ch07_when_decided import switched
    from difflab.core.denoisers import EmpiricalDenoiser, GaussianDenoiser

    train = fashion8[0][:16]
    noise = torch.randn(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    empirical = EmpiricalDenoiser(train)
    committed = ch07_when_decided.commitment_times(empirical, noise, 10)
    assert committed.shape == (6,) and (committed > 0).all()  # it always ends on a training image
    run = switched(GaussianDenoiser.fit(fashion8[0]), empirical, noise, 10)
    times = ch07_when_decided.decision_times(*run, empirical, noise, 0.9)
    assert set(times) == {"rp", "half born", "optimal commits"} and 0 <= times["rp"] <= 1
    assert times["optimal commits"] == committed.double().median().item()
