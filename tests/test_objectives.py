"""Each objective's loss and its denoiser agree: a network that outputs exactly the regression
target gives back the true noise (DDPM objectives) or the clean image (EDM)."""

import pytest
import torch

from difflab.core.denoisers import Denoiser, NetDenoiser
from difflab.core.objectives import EDM, OBJECTIVES
from difflab.core.schedule import forward_process


@pytest.mark.parametrize("name", ["eps", "v", "x0"])
def test_a_perfect_network_gives_back_the_noise(name):
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.rand(3, 1, 8, 8, generator=g) * 2 - 1, torch.randn(3, 1, 8, 8, generator=g)
    t, fp = torch.tensor([100, 500, 900]), forward_process()
    _, target = OBJECTIVES[name].regression(lambda x, time: x, fp, x0, noise, t, g)
    x_t = fp.add_noise(x0, noise, t)
    a, s = Denoiser().coefficients(t, x_t)
    eps = OBJECTIVES[name].eps(lambda x, time: target, x_t, t, a, s)
    torch.testing.assert_close(eps, noise, atol=1e-4, rtol=0)


def test_edm_denoises_to_the_clean_image_with_its_regression_target():
    g = torch.Generator().manual_seed(1)
    x0, noise = torch.rand(4, 1, 8, 8, generator=g) * 2 - 1, torch.randn(4, 1, 8, 8, generator=g)
    _, target = EDM().regression(
        lambda x, c_noise: x, None, x0, noise, None, torch.Generator().manual_seed(2)
    )
    sigma = (
        EDM.P_MEAN + EDM.P_STD * torch.randn(4, generator=torch.Generator().manual_seed(2))
    ).exp()
    denoised = EDM().denoise(lambda x, c_noise: target, x0 + sigma.view(-1, 1, 1, 1) * noise, sigma)
    torch.testing.assert_close(denoised, x0, atol=1e-5, rtol=0)


def test_an_unknown_objective_names_the_allowed_ones():
    with pytest.raises(
        ValueError, match=r"objective='score' is unknown; allowed: 'eps', 'v', 'x0', 'edm'"
    ):
        NetDenoiser(torch.nn.Identity(), "score")


@pytest.mark.parametrize("sigma", [0.05, 0.5, 5.0])
def test_edm_inputs_and_targets_have_unit_variance(sigma):
    """EDM's derivation of c_in and c_out: for data of std SIGMA_DATA, both the network's input and
    its target have unit variance at every noise level."""
    g = torch.Generator().manual_seed(3)
    x0, noise = (
        EDM.SIGMA_DATA * torch.randn(200_000, generator=g),
        torch.randn(200_000, generator=g),
    )
    c_skip, c_out, c_in, _ = EDM().coefficients(torch.tensor(sigma))
    x = x0 + sigma * noise
    assert (c_in * x).var().item() == pytest.approx(1, abs=0.02)
    assert ((x0 - c_skip * x) / c_out).var().item() == pytest.approx(1, abs=0.02)
