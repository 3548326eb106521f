"""Gaussian late start (Raya and Ambrogioni): before the critical time x_t is nearly Gaussian, so a
fast sampler can begin at t_s from N(mu_t, Sigma_t), the noised data's mean and FULL covariance,
instead of from N(0, I) at T.

Under x_t = theta y + s z the moments follow from the data's in closed form:
mu_t = theta mu,  Sigma_t = theta^2 Sigma + s^2 I  (s^2 = 1 - theta^2),
so the data's covariance is decomposed once and serves every t.
"""

from dataclasses import dataclass

import torch

from .schedule import T, alphas_cumprod


@dataclass(frozen=True)
class NoisedGaussian:
    """N(mean, cov) of x_t at DDPM step t, with cov = eigenvectors diag(eigenvalues) eigenvectors^T."""
    t: int
    mean: torch.Tensor          # (D,)
    eigenvalues: torch.Tensor   # (D,), ascending, >= s_t^2 > 0
    eigenvectors: torch.Tensor  # (D, D)
    shape: tuple[int, ...]      # one image's shape

    @classmethod
    def fit(cls, data: torch.Tensor, t: int) -> "NoisedGaussian":
        """The Gaussian of the data noised to step t (for several t, use DataMoments once)."""
        return DataMoments.of(data).noised(t)

    @property
    def cov(self) -> torch.Tensor:
        return (self.eigenvectors * self.eigenvalues) @ self.eigenvectors.T

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws, as images: mean + U diag(sqrt(l)) z, stable because every l >= s_t^2 > 0."""
        z = torch.randn(n, len(self.mean), generator=generator, dtype=torch.float64)
        x = self.mean + (z * self.eigenvalues.sqrt()) @ self.eigenvectors.T
        return x.float().view(n, *self.shape)


@dataclass(frozen=True)
class DataMoments:
    """The clean data's mean and covariance eigendecomposition (float64, eigenvalues ascending)."""
    mean: torch.Tensor
    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor
    shape: tuple[int, ...]

    @classmethod
    def of(cls, data: torch.Tensor) -> "DataMoments":
        if len(data) < 2:
            raise ValueError(f"data holds {len(data)} image(s); allowed: at least 2 to fit a covariance")
        flat = data.flatten(1).double()
        eigenvalues, eigenvectors = torch.linalg.eigh(torch.cov(flat.T))
        return cls(flat.mean(0), eigenvalues, eigenvectors, tuple(data.shape[1:]))

    def noised(self, t: int) -> NoisedGaussian:
        """The Gaussian of x_t: Sigma_t shares Sigma's eigenvectors; clamping Sigma's rounding
        negatives keeps Sigma_t >= s^2 I."""
        if not isinstance(t, int) or not 0 <= t < T:
            raise ValueError(f"t={t!r} is out of range; allowed: integers 0..{T - 1}")
        alpha_bar = alphas_cumprod().double()[t]
        eigenvalues = alpha_bar * self.eigenvalues.clamp_min(0) + (1 - alpha_bar)
        return NoisedGaussian(t, alpha_bar.sqrt() * self.mean, eigenvalues, self.eigenvectors, self.shape)
