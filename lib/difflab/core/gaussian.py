"""The Gaussian closed form: data's mean and covariance noised to any step, and the critical times
a Gaussian picture predicts.

Under the VP process x_t = theta y + s z (theta = sqrt(alpha_bar_t), s^2 = 1 - theta^2) the moments
of x_t follow from the data's,

    mu_t = theta mu,   Sigma_t = theta^2 Sigma + s^2 I,

so the data's covariance is decomposed once and serves every t (chapter 5 starts samplers from
N(mu_t, Sigma_t)). For centred data whose covariance has top eigenvalue lambda, the centre of the
generative potential loses stability along the top direction when theta^4 + 2 lambda theta^2 = 1
(chapter 4; Raya and Ambrogioni), and Biroli et al.'s speciation time is theta_S = 1 / sqrt(lambda).
"""

import math
from dataclasses import dataclass

import numpy as np
import torch

from difflab.core.schedule import T, alphas_cumprod


@dataclass(frozen=True)
class NoisedGaussian:
    """N(mean, cov) of x_t at DDPM step t, with cov = eigenvectors diag(eigenvalues) eigenvectors^T."""

    t: int
    mean: torch.Tensor  # (D,)
    eigenvalues: torch.Tensor  # (D,), ascending, >= s_t^2 > 0
    eigenvectors: torch.Tensor  # (D, D)
    shape: tuple[int, ...]  # one image's shape

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
            raise ValueError(
                f"data holds {len(data)} image(s); allowed: at least 2 to fit a covariance"
            )
        flat = data.flatten(1).double()
        eigenvalues, eigenvectors = torch.linalg.eigh(torch.cov(flat.T))
        return cls(flat.mean(0), eigenvalues, eigenvectors, tuple(data.shape[1:]))

    @property
    def top(self) -> tuple[float, torch.Tensor]:
        """The covariance's largest eigenvalue lambda and its eigenvector e, the top principal direction."""
        return self.eigenvalues[-1].item(), self.eigenvectors[:, -1]

    def side(self, images: torch.Tensor) -> torch.Tensor:
        """Which side of the mean each image lies on along e: the symmetry the first bifurcation breaks."""
        return (images.flatten(1).double().cpu() - self.mean) @ self.eigenvectors[:, -1] > 0

    def noised(self, t: int) -> NoisedGaussian:
        """The Gaussian of x_t: Sigma_t shares Sigma's eigenvectors; clamping Sigma's rounding
        negatives keeps Sigma_t >= s^2 I."""
        if not isinstance(t, int) or not 0 <= t < T:
            raise ValueError(f"t={t!r} is out of range; allowed: integers 0..{T - 1}")
        alpha_bar = alphas_cumprod().double()[t]
        eigenvalues = alpha_bar * self.eigenvalues.clamp_min(0) + (1 - alpha_bar)
        return NoisedGaussian(
            t, alpha_bar.sqrt() * self.mean, eigenvalues, self.eigenvectors, self.shape
        )


def check_theta(theta) -> None:
    if np.any((np.asarray(theta) <= 0) | (np.asarray(theta) >= 1)):
        raise ValueError(
            f"theta={theta} is out of range; allowed: 0 < theta < 1 (theta = sqrt(alpha_bar_t))"
        )


def critical_theta(top_eigenvalue: float = 1.0, within_variance: float = 0.0) -> float:
    """theta_c of two clusters at +-m along one direction, lambda = m^2 + within_variance their
    covariance's top eigenvalue: the curvature at the centre vanishes where
    (1 - w)^2 theta^4 + 2 m^2 theta^2 - 1 = 0, w = within_variance. For points (w = 0):
    theta_c^2 = sqrt(lambda^2 + 1) - lambda, sqrt(sqrt(2) - 1) for the two points at +-1."""
    separation = top_eigenvalue - within_variance
    if separation <= 0 or not 0 <= within_variance < 1:
        raise ValueError(
            f"top_eigenvalue={top_eigenvalue}, within_variance={within_variance} are not allowed; "
            "allowed: 0 <= within_variance < 1 and top_eigenvalue > within_variance"
        )
    c = (1 - within_variance) ** 2
    return math.sqrt((math.sqrt(separation**2 + c) - separation) / c)


def speciation_theta(top_eigenvalue: float) -> float:
    """Biroli et al.'s speciation time t_S = 1/2 log(lambda) in the OU time t = -1/2 log(alpha_bar),
    i.e. theta_S = exp(-t_S) = 1 / sqrt(lambda): where the noise variance along the top direction
    of the data is as large as the signal's."""
    if top_eigenvalue <= 1:
        raise ValueError(f"top_eigenvalue={top_eigenvalue} is not allowed; allowed: > 1 (t_S > 0)")
    return 1 / math.sqrt(top_eigenvalue)


def step_below(theta: float) -> int:
    """The first DDPM step t at which theta_t = sqrt(alpha_bar_t) is below theta: generation,
    running t downward, crosses theta on leaving this step."""
    check_theta(theta)
    return int((alphas_cumprod().double() < theta**2).nonzero()[0])


def critical_step(top_eigenvalue: float = 1.0) -> int:
    """step_below(theta_c): 292 for the two points at +-1 under the linear schedule."""
    return step_below(critical_theta(top_eigenvalue))


def predicted_steps(top_eigenvalue: float) -> dict[str, int]:
    """The two predictions of the critical step from the covariance's top eigenvalue: the points
    formula (theta_c of two points at +-sqrt(lambda)) and Biroli et al.'s speciation time."""
    return {
        "points formula": critical_step(top_eigenvalue),
        "speciation": step_below(speciation_theta(top_eigenvalue)),
    }
