import math

import pytest
import torch

from difflab.core import denoisers
from difflab.core.denoisers import (
    EmpiricalDenoiser,
    GaussianDenoiser,
    GaussianMixtureDenoiser,
    NetDenoiser,
)
from difflab.core.schedule import alphas_cumprod, forward_process

AB = alphas_cumprod()


def _noised(x0, t, seed=1):
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    return forward_process().add_noise(x0, noise, t), noise


def test_empirical_denoiser_matches_brute_force(fashion8):
    train = fashion8[0][:200]
    x0 = fashion8[0][300:316]
    t = torch.tensor([0, 5, 20, 50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 950, 990, 999])
    x_t, _ = _noised(x0, t)
    denoiser = EmpiricalDenoiser(train, max_elements=1000)  # forces chunked evaluation
    got = denoiser.x0(x_t, t)
    for i in range(len(t)):
        a, s = AB[t[i]].double().sqrt(), (1 - AB[t[i]].double()).sqrt()
        log_w = torch.stack(
            [-((x_t[i].double() - a * y.double()) ** 2).sum() / (2 * s**2) for y in train]
        )
        w = torch.exp(log_w - log_w.max())
        expected = (w[:, None] * train.flatten(1).double()).sum(0) / w.sum()
        assert torch.allclose(got[i].flatten().double(), expected, atol=1e-5), f"t={t[i]}"


def test_empirical_denoiser_returns_the_training_image_at_low_noise(fashion8):
    train = fashion8[0][:100]
    t = torch.full((10,), 5)
    x_t, _ = _noised(train[:10], t)
    assert torch.allclose(EmpiricalDenoiser(train).x0(x_t, t), train[:10], atol=1e-4)


def test_gaussian_denoiser_is_the_wiener_filter(fashion8):
    data = fashion8[0]
    denoiser = GaussianDenoiser.fit(data)
    flat = data.flatten(1).double()
    mu, cov = flat.mean(0), torch.cov(flat.T)
    t = torch.tensor([10, 300, 700])
    x_t, _ = _noised(data[:3], t)
    got = denoiser.x0(x_t, t).flatten(1).double()
    for i in range(3):
        a, s2 = AB[t[i]].double().sqrt(), 1 - AB[t[i]].double()
        expected = mu + a * cov @ torch.linalg.solve(
            a**2 * cov + s2 * torch.eye(len(mu), dtype=torch.double),
            x_t[i].flatten().double() - a * mu,
        )
        assert torch.allclose(got[i], expected, atol=1e-4)


def test_gaussian_denoiser_is_exact_for_gaussian_data():
    """For Gaussian data the Wiener filter is the optimal denoiser: empirical risk ~ its theory."""
    g = torch.Generator().manual_seed(0)
    cov = torch.diag(torch.tensor([4.0, 1.0, 0.25]))
    x0 = torch.randn(20000, 3, generator=g) @ cov.sqrt()
    t = torch.full((len(x0),), 400)
    x_t, _ = _noised(x0, t)
    error = (GaussianDenoiser(torch.zeros(3), cov).x0(x_t, t) - x0).pow(2).mean(0)
    a2, s2 = AB[400], 1 - AB[400]
    theory = torch.diag(cov) * s2 / (a2 * torch.diag(cov) + s2)
    assert torch.allclose(error, theory.float(), rtol=0.05)


@pytest.mark.parametrize("objective", ["eps", "v", "x0"])
def test_net_denoiser_converts_every_objective_to_eps(objective, fashion8):
    x0 = fashion8[0][:4]
    t = torch.tensor([1, 250, 600, 999])
    x_t, noise = _noised(x0, t)
    target = {"eps": noise, "x0": x0, "v": forward_process().get_velocity(x0, noise, t)}[objective]

    class Oracle(torch.nn.Module):
        def forward(self, x, t):
            return target

    denoiser = NetDenoiser(Oracle(), objective)
    assert torch.allclose(denoiser.eps(x_t, t), noise, atol=1e-4)
    assert torch.allclose(denoiser.x0(x_t, t), x0, atol=1e-3)


def test_the_optimal_denoiser_drops_denormal_weights_without_changing_its_output(
    fashion8, monkeypatch
):
    """Weights below float32's smallest normal number cost the CPU ~10x (they made chapter 4's
    cloning with D* nearly 2x slower); set to 0 they change no output: the largest weight is 1."""
    train, t = fashion8[0][:500], torch.full((16,), 200)
    x_t, _ = _noised(fashion8[0][:16], t)  # near training images: most weights tiny
    denoiser = EmpiricalDenoiser(train)
    a, s = (c.flatten() for c in denoiser.coefficients(t, x_t))
    dropped = denoiser.x0(x_t, t)
    assert not _denormal(denoiser._weights(x_t.flatten(1), a, s)).any()
    monkeypatch.setattr(denoisers, "SMALLEST_LOG_WEIGHT", -math.inf)  # the cut off
    assert _denormal(denoiser._weights(x_t.flatten(1), a, s)).any(), "no denormal weights to drop"
    assert torch.equal(dropped, denoiser.x0(x_t, t))


def _denormal(w: torch.Tensor) -> torch.Tensor:
    return (w > 0) & (w < torch.finfo(w.dtype).tiny)


def test_gaussian_mixture_denoiser_limits():
    """Narrow clusters: the empirical denoiser of the centres. One cluster: the Wiener filter."""
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 6, generator=g, dtype=torch.float64)
    x, t = torch.randn(20, 6, generator=g, dtype=torch.float64), torch.full((20,), 400)
    narrow = GaussianMixtureDenoiser(centres, 1e-6)
    assert torch.allclose(
        narrow.x0(x, t), EmpiricalDenoiser(centres).x0(x.float(), t).double(), atol=1e-4
    )
    assert torch.allclose(narrow.posterior(x, t).sum(1), torch.ones(20, dtype=torch.float64))
    single = GaussianMixtureDenoiser(centres[:1], 0.7)
    wiener = GaussianDenoiser(centres[0], 0.49 * torch.eye(6))
    assert torch.allclose(single.x0(x, t), wiener.x0(x.float(), t).double(), atol=1e-4)


def test_unknown_objective_is_named():
    with pytest.raises(
        ValueError, match="objective='score' is unknown; allowed: 'eps', 'v', 'x0', 'edm'"
    ):
        NetDenoiser(torch.nn.Identity(), "score")


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: EmpiricalDenoiser(torch.zeros(0, 1, 8, 8)),
            r"train has shape \(0, 1, 8, 8\); allowed: at least one",
        ),
        (
            lambda: GaussianDenoiser.fit(torch.zeros(1, 4)),
            r"data has shape \(1, 4\); allowed: at least two samples",
        ),
        (
            lambda: GaussianDenoiser(torch.zeros(3), torch.eye(4)),
            r"cov has shape \(4, 4\); allowed: \(3, 3\)",
        ),
        (
            lambda: GaussianMixtureDenoiser(torch.zeros(2, 3), 0.0),
            r"std=0.0 are not allowed; allowed: .* std > 0",
        ),
    ],
)
def test_closed_form_denoisers_name_data_they_cannot_use(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_the_empirical_denoisers_top_weight_is_one_at_a_training_image_and_small_in_pure_noise(
    fashion8,
):
    train = fashion8[0][:64]
    empirical = EmpiricalDenoiser(train)
    t = torch.full((4,), 10)
    at_images = empirical.alphas_cumprod[10].sqrt().float() * train[:4]
    assert torch.allclose(empirical.top_weight(at_images, t), torch.ones(4), atol=1e-4)
    noise = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert (empirical.top_weight(noise, torch.full((4,), 999)) < 0.1).all()
