"""One interface for every denoiser: a trained network or a closed-form one.

A denoiser sees x_t = a_t x_0 + s_t eps with a_t = sqrt(alpha_bar_t), s_t = sqrt(1 - alpha_bar_t),
at an integer DDPM time t, and predicts eps (the noise) or x_0 (the clean image); either one
gives the other. Samplers and metrics take any subclass.
"""

import math

import torch
from torch import nn

from difflab.core.models import CLASSES, NULL_LABEL
from difflab.core.objectives import OBJECTIVES
from difflab.core.runtime import OnnxRuntimeNetwork
from difflab.core.schedule import alphas_cumprod as default_alphas_cumprod


class Denoiser(nn.Module):
    """Subclasses override `eps` or `x0`; the other follows from x_t = a x_0 + s eps."""

    dtypes = (torch.float32, torch.float64)
    conditional = False  # a class-conditional denoiser takes labels (NetDenoiser.given)

    def __init__(
        self,
        alphas_cumprod: torch.Tensor | None = None,
        sample_shape: tuple[int, ...] | None = None,
    ):
        super().__init__()
        ab = default_alphas_cumprod() if alphas_cumprod is None else alphas_cumprod
        self.register_buffer("alphas_cumprod", ab.double(), persistent=False)
        self.sample_shape = None if sample_shape is None else tuple(sample_shape)  # None: any shape

    def check_input(self, x, name: str = "x") -> None:
        """A clear error, naming `name`, for a batch this denoiser cannot take (instead of a torch
        traceback, or images of the wrong size or NaN images returned silently)."""
        if not torch.is_tensor(x) or x.dtype not in self.dtypes:
            raise ValueError(
                f"{name} is a {type(x).__name__} of dtype {getattr(x, 'dtype', None)}; allowed: "
                f"tensors of dtype {' or '.join(map(str, self.dtypes))}"
            )
        if x.dim() < 2 or len(x) == 0:
            raise ValueError(
                f"{name} has shape {tuple(x.shape)}; allowed: a batch (batch, ...) of at least one sample"
            )
        if self.sample_shape is not None and tuple(x.shape[1:]) != self.sample_shape:
            raise ValueError(
                f"{name} has shape {tuple(x.shape)}; allowed: (batch, {', '.join(map(str, self.sample_shape))}), "
                f"the samples this denoiser was made for"
            )
        if not torch.isfinite(x).all():
            raise ValueError(
                f"{name} holds {(~torch.isfinite(x)).sum().item()} non-finite values (NaN or inf); "
                f"allowed: finite values"
            )

    def coefficients(self, t: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(a_t, s_t), shaped to broadcast against x."""
        ab = self.alphas_cumprod[t.long()].to(x.dtype).view(-1, *[1] * (x.dim() - 1))
        return ab.sqrt(), (1 - ab).sqrt()

    def eps(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a, s = self.coefficients(t, x)
        return (x - a * self.x0(x, t)) / s

    def x0(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a, s = self.coefficients(t, x)
        return (x - s * self.eps(x, t)) / a


class NetDenoiser(Denoiser):
    """A trained network net(x_t, t) whose output the objective (difflab.core.objectives: "eps", "v",
    "x0" or "edm") turns into the noise estimate, as it did for the training loss. It takes
    inputs of its weights' dtype (float32; float64 for a copy made exact with `net.double()`)."""

    def __init__(
        self,
        net: nn.Module,
        objective: str = "eps",
        alphas_cumprod: torch.Tensor | None = None,
        runtime: bool = False,
        sample_shape: tuple[int, ...] | None = None,
        conditional: bool = False,
    ):
        super().__init__(alphas_cumprod, sample_shape)
        if objective not in OBJECTIVES:
            raise ValueError(
                f"objective={objective!r} is unknown; allowed: {', '.join(map(repr, OBJECTIVES))}"
            )
        self.net, self.objective, self.conditional = net, OBJECTIVES[objective], conditional
        weights = next(net.parameters(), None)  # a net without weights (a test's oracle): float32
        self.dtypes = (torch.float32 if weights is None else weights.dtype,)
        self.runtime = OnnxRuntimeNetwork(net) if runtime and not conditional else None

    def network(self, x, t):
        """net(x, t): through ONNX Runtime where it was asked for, on the CPU, without gradients."""
        if self.conditional:
            raise ValueError(
                "this denoiser is class-conditional and was given no labels; allowed: "
                "difflab.sample(..., labels=...) or denoiser.given(labels)"
            )
        if self.runtime is not None and x.device.type == "cpu" and not torch.is_grad_enabled():
            return self.runtime(x, t)
        return self.net(x, t)

    def given(self, labels: torch.Tensor, guidance: float = 0.0) -> "LabelledDenoiser":
        """This class-conditional denoiser with one label per image, and classifier-free guidance."""
        return LabelledDenoiser(self, labels, guidance)

    def eps(self, x, t):
        a, s = self.coefficients(t, x)
        return self.objective.eps(self.network, x, t, a, s)


class LabelledDenoiser(Denoiser):
    """A class-conditional network with one label per image and classifier-free guidance of weight
    w (Ho & Salimans 2022): eps = (1 + w) eps(x, t, label) - w eps(x, t, null label); w = 0 is the
    conditional model alone."""

    def __init__(self, base: NetDenoiser, labels: torch.Tensor, guidance: float = 0.0):
        if not base.conditional:
            raise ValueError(
                "labels were given to an unconditional denoiser; allowed: labels=None and guidance=0"
            )
        if labels.dim() != 1 or labels.dtype != torch.long or len(labels) == 0:
            raise ValueError(
                f"labels of dtype {labels.dtype} and shape {tuple(labels.shape)} are not allowed; "
                f"allowed: a long tensor (batch,)"
            )
        if labels.min() < 0 or labels.max() >= CLASSES:
            raise ValueError(
                f"labels run from {labels.min().item()} to {labels.max().item()}; allowed: 0..{CLASSES - 1}"
            )
        if (
            isinstance(guidance, bool)
            or not isinstance(guidance, (int, float))
            or not guidance >= 0
        ):
            raise ValueError(
                f"guidance={guidance!r} is not allowed; allowed: a number >= 0 (0: no guidance)"
            )
        super().__init__(base.alphas_cumprod, base.sample_shape)
        self.base, self.dtypes, self.guidance = base, base.dtypes, float(guidance)
        self.register_buffer("labels", labels, persistent=False)

    def eps(self, x, t):
        if len(x) != len(self.labels):
            raise ValueError(
                f"a batch of {len(x)} images for {len(self.labels)} labels; allowed: one label per image"
            )
        a, s = self.coefficients(t, x)
        given = lambda labels: self.base.objective.eps(
            lambda x_, t_: self.base.net(x_, t_, labels), x, t, a, s
        )
        conditional = given(self.labels)
        if self.guidance == 0:
            return conditional
        return (1 + self.guidance) * conditional - self.guidance * given(
            torch.full_like(self.labels, NULL_LABEL)
        )


SMALLEST_LOG_WEIGHT = math.log(torch.finfo(torch.float32).tiny)  # -87.3


class EmpiricalDenoiser(Denoiser):
    """The optimal denoiser of a finite training set {y_i}: the posterior mean
    D(x_t) = sum_i w_i y_i,  w = softmax_i( -||x_t - a y_i||^2 / (2 s^2) ).
    Run through the probability-flow ODE it returns training images (memorization)."""

    dtypes = (torch.float32,)

    def __init__(
        self,
        train: torch.Tensor,
        alphas_cumprod: torch.Tensor | None = None,
        max_elements: int = 2**24,
    ):
        if len(train) == 0:
            raise ValueError(
                f"train has shape {tuple(train.shape)}; allowed: at least one training image"
            )
        super().__init__(alphas_cumprod, train.shape[1:])
        images = train.flatten(1).float()
        # [y_i, ||y_i||^2]: one matrix product then gives every logit (see _posterior_mean)
        self.register_buffer(
            "augmented",
            torch.cat([images, images.pow(2).sum(1, keepdim=True)], 1),
            persistent=False,
        )
        self.max_elements = max_elements

    @property
    def images(self) -> torch.Tensor:
        return self.augmented[:, :-1]

    def x0(self, x, t):
        return self._per_chunk(x, t, lambda w: (w @ self.images) / w.sum(1, keepdim=True)).view_as(
            x
        )

    def top_weight(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The largest posterior weight max_i w_i per image: near 1 once x_t has committed to one
        training image (the decision of a memorizing model)."""
        return self._per_chunk(x, t, lambda w: 1 / w.sum(1))

    def _per_chunk(self, x, t, reduce):
        """reduce(weights) over chunks of the batch small enough for a (chunk, n_train) matrix;
        the weights are unnormalised, their largest being 1."""
        a, s = self.coefficients(t, x)
        a, s, flat = a.flatten(), s.flatten(), x.flatten(1)
        rows = max(1, self.max_elements // len(self.augmented))
        return torch.cat(
            [
                reduce(self._weights(flat[i : i + rows], a[i : i + rows], s[i : i + rows]))
                for i in range(0, len(flat), rows)
            ]
        )

    def _weights(self, x, a, s):
        # -||x - a y_i||^2 / (2 s^2) = (a x.y_i - a^2 ||y_i||^2 / 2) / s^2 - ||x||^2 / (2 s^2); the last
        # term is the same for every i, so the softmax drops it. The rest is one product,
        # [x a / s^2, -a^2 / (2 s^2)] @ [y_i, ||y_i||^2]^T, and the exponential runs in place on it.
        # A weight below float32's smallest normal number, exp(-87.3), is a denormal: CPUs compute
        # those far slower, and they change no sum (the largest weight is 1), so they are set to 0.
        lhs = torch.cat([x * (a / s**2)[:, None], (-(a**2) / (2 * s**2))[:, None]], 1)
        weights = lhs @ self.augmented.T
        low, high = weights.aminmax(dim=1, keepdim=True)
        weights.sub_(high)
        if (low - high).min() < SMALLEST_LOG_WEIGHT:
            weights.masked_fill_(weights < SMALLEST_LOG_WEIGHT, -math.inf)
        return weights.exp_()


class GaussianDenoiser(Denoiser):
    """The optimal denoiser of a Gaussian N(mu, Sigma) with Sigma = U diag(l) U^T (Wiener filter):
    D(x_t) = mu + U diag( a l / (a^2 l + s^2) ) U^T (x_t - a mu). Runs in float64 too, for checks
    that must be exact beyond float32's rounding."""

    dtypes = (torch.float32, torch.float64)

    def __init__(
        self, mean: torch.Tensor, cov: torch.Tensor, alphas_cumprod: torch.Tensor | None = None
    ):
        if cov.shape != (mean.numel(), mean.numel()):
            raise ValueError(
                f"cov has shape {tuple(cov.shape)}; allowed: ({mean.numel()}, {mean.numel()}) for a mean of "
                f"{mean.numel()} values"
            )
        super().__init__(alphas_cumprod, mean.shape)
        eigenvalues, eigenvectors = torch.linalg.eigh(cov.double())
        self.register_buffer("mean", mean.flatten().float(), persistent=False)
        self.register_buffer("eigenvalues", eigenvalues.clamp_min(0).float(), persistent=False)
        self.register_buffer("eigenvectors", eigenvectors.float(), persistent=False)

    @classmethod
    def fit(
        cls, data: torch.Tensor, alphas_cumprod: torch.Tensor | None = None
    ) -> "GaussianDenoiser":
        """The Gaussian with the data's mean and full covariance."""
        if len(data) < 2:
            raise ValueError(
                f"data has shape {tuple(data.shape)}; allowed: at least two samples (a covariance)"
            )
        flat = data.flatten(1).double()
        return cls(flat.mean(0).view(data.shape[1:]), torch.cov(flat.T), alphas_cumprod)

    def x0(self, x, t):
        a, s = self.coefficients(t, x)
        a, s = a.flatten()[:, None], s.flatten()[:, None]
        mean, eigenvalues, eigenvectors = (
            b.to(x.dtype) for b in (self.mean, self.eigenvalues, self.eigenvectors)
        )
        centred = (x.flatten(1) - a * mean) @ eigenvectors
        gain = a * eigenvalues / (a**2 * eigenvalues + s**2)
        return (mean + (gain * centred) @ eigenvectors.T).view_as(x)


class GaussianMixtureDenoiser(Denoiser):
    """The optimal denoiser of an equal-weight mixture of isotropic Gaussians N(c_k, std^2 I):
    given component k, x_t ~ N(a c_k, (a^2 std^2 + s^2) I), so
    P(k | x_t) = softmax_k( -||x_t - a c_k||^2 / (2 (a^2 std^2 + s^2)) ) and
    D(x_t) = sum_k P(k | x_t) [ c_k + a std^2 / (a^2 std^2 + s^2) (x_t - a c_k) ]."""

    def __init__(
        self, centres: torch.Tensor, std: float, alphas_cumprod: torch.Tensor | None = None
    ):
        if len(centres) == 0 or not std > 0:
            raise ValueError(
                f"centres of shape {tuple(centres.shape)}, std={std} are not allowed; "
                "allowed: at least one centre and std > 0"
            )
        super().__init__(alphas_cumprod, centres.shape[1:])
        self.register_buffer("centres", centres.flatten(1).double(), persistent=False)
        self.std = std

    def posterior(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """P(component k | x_t), shape (batch, components): where a trajectory from x_t will end."""
        a, s = (c.flatten()[:, None].double() for c in self.coefficients(t, x))
        variance = a**2 * self.std**2 + s**2
        sq_dist = ((x.flatten(1).double()[:, None] - a[:, :, None] * self.centres[None]) ** 2).sum(
            -1
        )
        return torch.softmax(-sq_dist / (2 * variance), dim=1)

    def x0(self, x, t):
        a, s = (c.flatten()[:, None].double() for c in self.coefficients(t, x))
        gain = a * self.std**2 / (a**2 * self.std**2 + s**2)
        flat = x.flatten(1).double()
        weights = self.posterior(x, t)
        means = self.centres[None] + gain[:, :, None] * (
            flat[:, None] - a[:, :, None] * self.centres[None]
        )
        return (weights[:, :, None] * means).sum(1).to(x.dtype).view_as(x)
