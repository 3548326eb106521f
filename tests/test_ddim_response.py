"""The closed-form response of DDIM to changes at one step, checked on the Gaussian denoiser's own sampler."""

import numpy as np
import pytest
import torch

from difflab.book.sample_cache import sample
from difflab.chapters import ch07_when_decided as response
from difflab.core.denoisers import GaussianDenoiser
from difflab.core.sampling import time_grid
from difflab.core.schedule import alphas_cumprod

STEPS = 10


@pytest.fixture(scope="module")
def gaussian(fashion8):
    return GaussianDenoiser.fit(fashion8[0])


@pytest.fixture(scope="module")
def noise():
    return torch.randn(8, 1, 8, 8, generator=torch.Generator().manual_seed(0))


def _direction(gaussian, k):
    return gaussian.eigenvectors[:, -1 - k].view(1, 8, 8)  # k = 0: the top principal direction


@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize("step,k", [(1, 0), (4, 3), (8, 20)])
def test_a_nudge_of_the_prediction_reaches_the_end_with_the_closed_form_weight(
    gaussian, noise, eta, step, k
):
    u = _direction(gaussian, k)
    t = time_grid(STEPS, 999)[step]
    run = lambda d: sample(
        d, noise, "ddim", STEPS, eta=eta, generator=torch.Generator().manual_seed(3), cache=False
    )
    moved = run(response.Nudged(gaussian, t, 0.5 * u)) - run(gaussian)
    weights = response.x0_weights(gaussian.eigenvalues.flip(0), STEPS, eta)
    expected = 0.5 * weights[step, k] * u
    assert torch.allclose(moved, expected.float().expand_as(moved), atol=2e-5)


@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize("step,k", [(0, 0), (5, 2)])
def test_a_kick_of_the_state_reaches_the_end_with_the_closed_form_gain(
    gaussian, noise, eta, step, k
):
    u = _direction(gaussian, k)
    measured = response.along(
        response.kicked_change(gaussian, noise, step, STEPS, u, kick=0.5, eta=eta, seed=4), u
    )
    gain = response.kick_gains(gaussian.eigenvalues.flip(0), STEPS, eta)[step, k].item()
    assert np.allclose(measured.numpy(), gain, atol=2e-4 * max(1.0, abs(gain)))


def test_the_weights_tend_to_the_continuous_law_per_unit_of_log_sigma():
    """sqrt(l / (l + sigma^2)) per unit of log sigma, sigma^2 = s^2 / a^2: small while sigma^2 >> l."""
    lam = torch.tensor([10.0, 1.0, 0.1])
    weights = response.x0_weights(lam, 1000)
    ab = alphas_cumprod().double()
    log_sigma = 0.5 * torch.log((1 - ab) / ab).flip(0)  # on the grid 999, 998, ..., 0
    for j in (100, 500, 900):
        density = weights[j] / (log_sigma[j] - log_sigma[j + 1])
        sigma2 = torch.exp(2 * log_sigma[j])
        assert torch.allclose(density, (lam / (lam + sigma2)).sqrt().double(), rtol=0.05)


def test_the_ode_keeps_early_kicks_and_the_stochastic_sampler_forgets_them():
    lam = torch.tensor([25.0])
    ode, sde = (response.kick_gains(lam, 25, eta)[0, 0].item() for eta in (0.0, 1.0))
    assert ode > 0.8 * lam.sqrt().item() and sde < 0.2 * ode


def test_the_weight_check_finds_the_closed_form_on_the_gaussians_own_sampler(gaussian, noise):
    table = response.weight_check(
        gaussian, noise, STEPS, gaussian.eigenvectors.flip(1), [(2, 0), (7, 5)]
    )
    assert list(table["direction"]) == [0, 5] and (table["relative error"] < 1e-3).all()
    assert np.allclose(table["measured"], table["W"], rtol=1e-3)


def test_the_mean_kicked_change_over_noises_is_the_closed_form_gain(gaussian, noise):
    u = _direction(gaussian, 0)
    states = sample(gaussian, noise, "ddim", STEPS, return_trajectory=True, cache=False)[1].x
    gains = [g.mean() for g in response.noise_gains(gaussian, states, [0, 5], STEPS, u)]
    closed = response.kick_gains(gaussian.eigenvalues.flip(0), STEPS)[[0, 5], 0]
    assert np.allclose(gains, closed.numpy(), rtol=1e-3)


def test_the_opening_step_is_where_the_noise_variance_reaches_the_eigenvalue():
    ab = alphas_cumprod().double()
    for lam in (25.0, 1.0, 0.05):
        t = response.opening_step(lam)
        assert (1 - ab[t]) / ab[t] >= lam > (1 - ab[t - 1]) / ab[t - 1]
    assert response.opening_step(25.0) > response.opening_step(1.0) > response.opening_step(0.05)
    with pytest.raises(ValueError, match="eigenvalue=0"):
        response.opening_step(0)


def test_bad_knobs_are_named():
    with pytest.raises(ValueError, match="eta=2"):
        response.x0_weights(torch.ones(3), 10, eta=2)
    with pytest.raises(ValueError, match="steps=0"):
        response.kick_gains(torch.ones(3), 0)
    with pytest.raises(ValueError, match="eigenvalues"):
        response.x0_weights(-torch.ones(3), 10)
    with pytest.raises(ValueError, match="step=10"):
        response.kicked_change(None, torch.zeros(1, 1, 8, 8), 10, 10, torch.zeros(1, 8, 8))


def test_the_kick_table_puts_each_seeds_gains_beside_the_closed_form(gaussian, noise):
    u = _direction(gaussian, 0)
    states = sample(gaussian, noise, "ddim", STEPS, return_trajectory=True, cache=False)[1].x
    times = time_grid(STEPS, 999)
    lam = gaussian.eigenvalues.flip(0)[:1]
    gains = response.kicks_by_noise(gaussian, {0: states, 1: states}, [0, 5], STEPS, u)
    assert gains[1, 1.0, 5].shape == (len(noise),)
    table = response.kick_table(gains, lam, STEPS, times)
    assert (
        table["seed"].tolist() == [0, 0, 1, 1] and table["t"].tolist() == [times[0], times[5]] * 2
    )
    per_noise = response.noise_gains(gaussian, states, [0, 5], STEPS, u)
    assert table["ODE"][:2].tolist() == [g.mean().item() for g in per_noise]
    assert np.allclose(table["ODE"], table["ODE, Gaussian"], rtol=1e-3)
