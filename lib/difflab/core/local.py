"""Closed-form local denoisers (Kamb & Ganguli, ICML 2025; Niedoba et al., ICML 2025): each pixel's
posterior mean given only the k x k patch of the state around it.

LS, the local score machine: pixel i's estimate is the mean of the training images' pixel i, each
image weighted by how well its patch at i matches the state's patch at i,

    D(x)_i = sum_n w_ni y_n(i),   w_.i = softmax_n( -||P_i x - a P_i y_n||^2 / (2 s^2) ),

with x = x_t, a = sqrt(alpha_bar_t), s = sqrt(1 - alpha_bar_t) and P_i the k x k patch around i.
ELS, the equivariant local score machine: the candidates are every k x k patch of every training
image at every position q,

    D(x)_i = sum_{n,q} w_nqi y_n(q),   w_..i = softmax_{n,q}( -||P_i x - a P_q y_n||^2 / (2 s^2) ),

so it commutes with shifts of the image. Borders: `padding="zeros"` treats the image as zero outside
(a patch that covers the whole image from every pixel, k >= 2 max(H, W) - 1, then gives every
pixel the same weights, and LS is the empirical denoiser D*); `padding="circular"` wraps it around
(ELS is then exactly shift-equivariant). The patch size k may depend on the step: `patch_size` is
an odd integer or a function of the DDPM step t that returns one.

Both run the softmax online over chunks of candidates (a running maximum, sum and weighted sum), so
memory stays at one chunk's logits whatever the training set's size.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F

from difflab.core import metrics
from difflab.core.denoisers import Denoiser

PADDINGS = ("zeros", "circular")


def _check_patch(k) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0:
        raise ValueError(f"patch_size={k!r} is not allowed; allowed: an odd integer >= 1")


def patches(images: torch.Tensor, k: int, padding: str = "zeros") -> torch.Tensor:
    """The k x k patch around every pixel, (batch, channels * k * k, height * width)."""
    if padding == "circular":
        return F.unfold(F.pad(images, [k // 2] * 4, mode="circular"), k)
    return F.unfold(images, k, padding=k // 2)


class LocalDenoiser(Denoiser):
    """The machinery LS and ELS share: the training images, the patch size at each step, the
    borders, and the online softmax over chunks of candidate patches (`_candidates`)."""

    dtypes = (torch.float32,)

    def __init__(
        self,
        train: torch.Tensor,
        patch_size: int | Callable[[int], int],
        padding: str = "zeros",
        alphas_cumprod: torch.Tensor | None = None,
        chunk: int = 4096,
    ):
        if train.dim() != 4 or len(train) == 0:
            raise ValueError(
                f"train has shape {tuple(train.shape)}; allowed: (images >= 1, channels, height, width)"
            )
        if padding not in PADDINGS:
            raise ValueError(
                f"padding={padding!r} is unknown; allowed: {', '.join(map(repr, PADDINGS))}"
            )
        if not callable(patch_size):
            _check_patch(patch_size)
        super().__init__(alphas_cumprod, train.shape[1:])
        self.register_buffer("images", train.float(), persistent=False)
        self.patch_size, self.padding, self.chunk = patch_size, padding, chunk

    def k(self, t: int) -> int:
        """The patch size at DDPM step t."""
        k = self.patch_size(t) if callable(self.patch_size) else self.patch_size
        _check_patch(k)
        return k

    def x0(self, x, t):
        out = torch.empty_like(x)
        for step in t.unique():
            rows = t == step
            out[rows] = self._estimate(x[rows], int(step))
        return out

    def _estimate(self, x: torch.Tensor, t: int) -> torch.Tensor:
        k, (c, h, w) = self.k(t), x.shape[1:]
        a = self.alphas_cumprod[t].sqrt().float()
        s2 = (1 - self.alphas_cumprod[t]).float()
        px = patches(x, k, self.padding)  # (batch, d, pixels)
        peak = torch.full((len(x), h * w), -torch.inf, device=x.device)
        total = torch.zeros(len(x), h * w, device=x.device)
        mean = torch.zeros(len(x), c, h * w, device=x.device)
        for cand, centre in self._candidates(k):
            # -||px - a py||^2 / (2 s^2), less the ||px||^2 term that every candidate shares
            logits = (a * self._dot(px, cand) - a**2 / 2 * cand.pow(2).sum(1)) / s2
            new_peak = torch.maximum(peak, logits.amax(1))
            scale, weights = (peak - new_peak).exp(), (logits - new_peak[:, None]).exp()
            total = total * scale + weights.sum(1)
            mean = mean * scale[:, None] + self._weigh(weights, centre)
            peak = new_peak
        return (mean / total[:, None]).view_as(x)


class LocalScoreMachine(LocalDenoiser):
    """LS: each pixel's posterior mean over the training images, weighted by the patch at that
    pixel only (the formula in the module's docstring)."""

    def _candidates(self, k: int):
        """Chunks of training images: their patches at every pixel (n, d, pixels) and their pixel
        values (n, channels, pixels)."""
        for part in self.images.split(self.chunk):
            yield patches(part, k, self.padding), part.flatten(2)

    @staticmethod
    def _dot(px, cand):  # (batch, d, pixels) . (n, d, pixels) -> (batch, n, pixels)
        return torch.einsum("bdp,ndp->bnp", px, cand)

    @staticmethod
    def _weigh(weights, centre):  # (batch, n, pixels) x (n, channels, pixels)
        return torch.einsum("bnp,ncp->bcp", weights, centre)


class EquivariantLocalScoreMachine(LocalDenoiser):
    """ELS: each pixel's posterior mean over every patch of every training image at every position
    (the formula in the module's docstring): translation equivariant."""

    def _candidates(self, k: int):
        """Chunks of (image, position) patches (m, d, 1) and their centre pixels (m, channels, 1)."""
        every = (
            patches(self.images, k, self.padding).transpose(1, 2).flatten(0, 1)
        )  # (n * pixels, d)
        centres = self.images.flatten(2).transpose(1, 2).flatten(0, 1)  # (n * pixels, channels)
        for start in range(0, len(every), self.chunk):
            yield (
                every[start : start + self.chunk, :, None],
                centres[start : start + self.chunk, :, None],
            )

    @staticmethod
    def _dot(px, cand):  # (batch, d, pixels) . (m, d, 1) -> (batch, m, pixels)
        return torch.einsum("bdp,md->bmp", px, cand[..., 0])

    @staticmethod
    def _weigh(weights, centre):  # (batch, m, pixels) x (m, channels, 1)
        return torch.einsum("bmp,mc->bcp", weights, centre[..., 0])


@torch.no_grad()
def calibrate_patch_sizes(
    train: torch.Tensor, path, sizes, machine: type = LocalScoreMachine, padding: str = "zeros"
) -> dict[int, int]:
    """Kamb and Ganguli's rule: at each step t of a network's own trajectory (`path`, a
    sampling.Trajectory: its states and its clean-image predictions), the patch size among `sizes`
    whose machine's prediction from the same states agrees best with the network's (median over
    the trajectory's images of the centred cosine)."""
    best = {}
    for x, x0, t in zip(path.x, path.x0, path.t):
        steps = torch.full((len(x),), t, device=x.device)
        agreement = {
            k: metrics.pair_similarity(machine(train, k, padding).to(x.device).x0(x, steps), x0)
            .median()
            .item()
            for k in sizes
        }
        best[t] = max(agreement, key=agreement.get)
    return best
