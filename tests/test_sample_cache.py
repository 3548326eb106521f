"""The build's sample cache (difflab.book.sample_cache): a chapter's deterministic run computed once
a build, keyed on everything that changes its images, and never trusted when damaged."""

import pytest
import torch

from difflab.book.sample_cache import sample
from difflab.core.denoisers import NetDenoiser
from difflab.core.models import build_network


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return build_network("unet-s", 1, 8).eval()


class CountingDenoiser(NetDenoiser):
    """Counts network calls: a cache hit makes none."""

    calls = 0

    def eps(self, x, t):
        CountingDenoiser.calls += 1
        return super().eps(x, t)


def test_build_cache_returns_the_same_samples_without_calling_the_network(
    unet, tmp_path, monkeypatch
):
    monkeypatch.setenv("DIFFLAB_SAMPLE_CACHE", str(tmp_path))
    denoiser, noise = CountingDenoiser(unet), torch.randn(6, 1, 8, 8)
    first, path = sample(denoiser, noise, "dpm++", 5, return_trajectory=True)
    calls = CountingDenoiser.calls
    again, path_again = sample(denoiser, noise, "dpm++", 5, return_trajectory=True)
    assert CountingDenoiser.calls == calls and torch.equal(first, again)
    assert path.t == path_again.t and torch.equal(path.x0, path_again.x0)
    assert torch.equal(
        sample(denoiser, noise, "dpm++", 5, cache=False), first
    )  # cache=False computes
    assert CountingDenoiser.calls > calls


def test_build_cache_keys_on_weights_noise_and_settings(unet, tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFLAB_SAMPLE_CACHE", str(tmp_path))
    noise = torch.randn(4, 1, 8, 8)
    base = sample(NetDenoiser(unet), noise, "ddim", 4)
    other = build_network("unet-s", 1, 8).eval()  # same architecture, other weights
    assert not torch.equal(sample(NetDenoiser(other), noise, "ddim", 4), base)
    assert not torch.equal(sample(NetDenoiser(unet), noise + 0.1, "ddim", 4), base)
    assert not torch.equal(sample(NetDenoiser(unet), noise, "ddim", 5), base)
    assert not torch.equal(sample(NetDenoiser(unet, "x0"), noise, "ddim", 4), base)
    sample(
        NetDenoiser(unet, runtime=True), noise, "ddim", 4
    )  # ONNX Runtime rounds differently: own entry
    assert len(list(tmp_path.glob("*.pt"))) == 6


def test_build_cache_keys_a_local_machine_on_its_patch_size_schedule(tmp_path, monkeypatch):
    from difflab.book.sample_cache import key
    from difflab.core.local import LocalScoreMachine

    train, noise = torch.rand(5, 1, 6, 6), torch.randn(2, 1, 6, 6)
    ls = LocalScoreMachine(train, {999: 3, 500: 3})
    assert key(ls, noise) == key(LocalScoreMachine(train, {999: 3, 500: 3}), noise)
    assert key(ls, noise) != key(ls.scheduled({999: 3, 500: 5}), noise)
    assert key(ls, noise) != key(LocalScoreMachine(train, 3, candidates=4), noise)


def test_build_cache_skips_stochastic_runs_and_survives_a_damaged_file(unet, tmp_path, monkeypatch):
    noise = torch.randn(4, 1, 8, 8)
    sample(NetDenoiser(unet), noise, "ddim", 4, eta=1.0, generator=torch.Generator().manual_seed(0))
    sample(NetDenoiser(unet), noise, "ddim", 4)  # variable unset: nothing cached
    monkeypatch.setenv("DIFFLAB_SAMPLE_CACHE", str(tmp_path))
    sample(NetDenoiser(unet), noise, "ddim", 4, eta=1.0, generator=torch.Generator().manual_seed(0))
    assert not list(tmp_path.iterdir())
    expected = sample(NetDenoiser(unet), noise, "ddim", 4)
    (stored,) = tmp_path.glob("*.pt")
    stored.write_bytes(b"damaged")
    assert torch.equal(sample(NetDenoiser(unet), noise, "ddim", 4), expected)
