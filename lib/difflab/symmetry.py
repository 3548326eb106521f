"""Spontaneous symmetry breaking (Raya and Ambrogioni, NeurIPS 2023) in closed form.

Under the VP process x_t = theta y + sqrt(1 - theta^2) z, theta = sqrt(alpha_bar_t), the generative
dynamics is a gradient flow dx = -u'(x) dt in the potential u = beta (-x^2/4 - log p_t(x)). For data
at +1 and -1 the potential has one well at 0 while theta < theta_c and splits into two after:
a pitchfork bifurcation. For centred data whose covariance has top eigenvalue lambda, the centre
loses stability along the top direction when theta^4 + 2 lambda theta^2 - 1 = 0.
"""

import math

import numpy as np

from .schedule import alphas_cumprod


def _check_theta(theta) -> None:
    if np.any((np.asarray(theta) <= 0) | (np.asarray(theta) >= 1)):
        raise ValueError(f"theta={theta} is out of range; allowed: 0 < theta < 1 (theta = sqrt(alpha_bar_t))")


def potential(x, theta: float, beta: float = 1.0):
    """u(x) = beta (-x^2/4 - log[exp(-(x - theta)^2 / 2v) + exp(-(x + theta)^2 / 2v)]), v = 1 - theta^2:
    the two-point data's potential, up to a constant in x."""
    _check_theta(theta)
    v = 1 - theta ** 2
    return beta * (-np.square(x) / 4 - np.logaddexp(-np.square(x - theta) / (2 * v), -np.square(x + theta) / (2 * v)))


def score(x, theta: float):
    """d/dx log p_t(x) of the noised two-point data: (theta tanh(theta x / v) - x) / v."""
    _check_theta(theta)
    v = 1 - theta ** 2
    return (theta * np.tanh(theta * np.asarray(x) / v) - x) / v


def fixed_points(theta: float, tol: float = 1e-13) -> np.ndarray:
    """The zeros of u'(x), i.e. of x = a tanh(b x) with a = 2 theta / (1 + theta^2), b = theta / v:
    0 alone while a b <= 1 (theta <= theta_c), then also +-x*, found by bisection on (0, a]."""
    _check_theta(theta)
    a, b = 2 * theta / (1 + theta ** 2), theta / (1 - theta ** 2)
    if a * b <= 1:
        return np.array([0.0])
    lo, hi = tol, a                        # x - a tanh(b x) is < 0 just above 0 and >= 0 at x = a
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mid - a * math.tanh(b * mid) < 0 else (lo, mid)
    return np.array([-hi, 0.0, hi])


def curvature_at_centre(theta, beta: float = 1.0):
    """u''(0) = -beta [1/2 + (2 theta^2 - 1) / (theta^2 - 1)^2]: positive (a stable well) before theta_c."""
    _check_theta(theta)
    theta = np.asarray(theta)
    return -beta * (0.5 + (2 * theta ** 2 - 1) / (theta ** 2 - 1) ** 2)


def critical_theta(top_eigenvalue: float = 1.0) -> float:
    """theta_c with theta_c^2 = sqrt(lambda^2 + 1) - lambda (sqrt(sqrt(2) - 1) for the two points)."""
    if top_eigenvalue <= 0:
        raise ValueError(f"top_eigenvalue={top_eigenvalue} is not allowed; allowed: > 0")
    return math.sqrt(math.sqrt(top_eigenvalue ** 2 + 1) - top_eigenvalue)


def critical_step(top_eigenvalue: float = 1.0) -> int:
    """The first DDPM step t at which theta_t = sqrt(alpha_bar_t) is below theta_c: generation,
    running t downward, breaks the symmetry on leaving this step."""
    below = alphas_cumprod().double() < critical_theta(top_eigenvalue) ** 2
    return int(below.nonzero()[0])
