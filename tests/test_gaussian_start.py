"""The Gaussian of the noised data: its moments are those of actually noised images."""

import pytest
import torch

from difflab.gaussian_start import NoisedGaussian
from difflab.schedule import alphas_cumprod


def test_fit_matches_the_moments_of_noised_data(fashion8):
    data = fashion8[0]
    t = 600
    fitted = NoisedGaussian.fit(data, t)
    a = alphas_cumprod().double()[t].sqrt()
    g = torch.Generator().manual_seed(0)
    noised = torch.cat([a * data.flatten(1).double() + (1 - a ** 2).sqrt() * torch.randn(data.flatten(1).shape, generator=g,
                                                                                      dtype=torch.float64)
                        for _ in range(80)])
    assert torch.allclose(fitted.mean, noised.mean(0), atol=0.025)              # 5 standard errors
    assert (fitted.cov - torch.cov(noised.T)).abs().max() < 0.03       # 80 noisings of 512 images


def test_samples_have_the_fitted_moments_and_shape(fashion8):
    fitted = NoisedGaussian.fit(fashion8[0], 400)
    draws = fitted.sample(40_000, torch.Generator().manual_seed(1))
    assert draws.shape == (40_000, *fashion8[0].shape[1:]) and draws.dtype == torch.float32
    flat = draws.flatten(1).double()
    assert torch.allclose(flat.mean(0), fitted.mean, atol=0.03)
    assert (torch.cov(flat.T) - fitted.cov).abs().max() < 0.05
    assert fitted.eigenvalues.min() >= 1 - alphas_cumprod().double()[400] - 1e-12   # never below the noise


def test_bad_input_names_the_parameter(fashion8):
    with pytest.raises(ValueError, match="t=1000 is out of range"):
        NoisedGaussian.fit(fashion8[0][:10], 1000)
    with pytest.raises(ValueError, match="data holds 1 image"):
        NoisedGaussian.fit(fashion8[0][:1], 500)
