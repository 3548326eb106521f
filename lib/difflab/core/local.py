"""Closed-form local denoisers (Kamb & Ganguli, ICML 2025; Niedoba et al., ICML 2025): each pixel's
posterior mean given only the k x k patch of the state around it.

LS, the local score machine: pixel i's estimate is the mean of the training images' pixel i, each
image weighted by how well its patch at i matches the state's patch at i,

    D(x)_i = sum_n w_ni y_n(i),   w_.i = softmax_n( -||P_i x - a P_i y_n||^2 / (2 s^2) ),

with x = x_t, a = sqrt(alpha_bar_t), s = sqrt(1 - alpha_bar_t) and P_i the k x k patch around i.
ELS, the equivariant local score machine: the candidates are every k x k patch of every training
image at every position q,

    D(x)_i = sum_{n,q} w_nqi y_n(q),   w_..i = softmax_{n,q}( -||P_i x - a P_q y_n||^2 / (2 s^2) ),

so it commutes with shifts of the image. Borders: `padding="zeros"` treats the image as zero outside,
the state and the training images alike (a patch that covers the whole image from every pixel,
k >= 2 max(H, W) - 1, then gives every pixel the same weights, and LS is the empirical denoiser D*;
a border patch of the state matches best the training patches from the same border, a soft form of
the paper's border-aware bbELS); `padding="circular"` wraps it around (ELS is then exactly
shift-equivariant). The patch size k may depend on the step: `patch_size` is an odd integer or a
mapping from the DDPM step t to one (what `best_patch_sizes` returns).

Both are attention: the state's patches are the queries, the candidates' patches the keys, their
centre pixels the values, and the logit above is one matrix product once the key carries its
squared norm (`attend`). `candidates` draws a subset to search (LS: training images; ELS: (image,
position) pairs), the way down to a CPU's budget: chapter 8 measures what it costs.
"""

from collections.abc import Iterator, Mapping

import torch
import torch.nn.functional as F

from difflab.core import metrics
from difflab.core.denoisers import Denoiser

PADDINGS = ("zeros", "circular")


def _check_patch(k, name: str = "patch_size") -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0:
        raise ValueError(f"{name}={k!r} is not allowed; allowed: an odd integer >= 1")


def patches(images: torch.Tensor, k: int, padding: str = "zeros") -> torch.Tensor:
    """The k x k patch around every pixel, (batch, channels * k * k, height * width)."""
    if padding == "circular":
        return F.unfold(F.pad(images, [k // 2] * 4, mode="circular"), k)
    return F.unfold(images, k, padding=k // 2)


def attend(queries: torch.Tensor, chunks, block: int = 2**20) -> torch.Tensor:
    """softmax(queries . keys) . values, the softmax over every key of every chunk: queries
    (groups, rows, e); chunks of keys (groups, m, e) and values (groups, m, c); out (groups, rows,
    c). Each block of logits holds about `block` numbers (it stays in cache) and the chunks merge
    through their log-sum-exp, so the result is the one softmax however the keys are cut."""
    lse = out = None
    for keys, values in chunks:
        part_lse, part = _attend_chunk(queries, keys, values, block)
        if out is None:
            lse, out = part_lse, part
            continue
        merged = torch.logaddexp(lse, part_lse)
        out = out * (lse - merged).exp() + part * (part_lse - merged).exp()
        lse = merged
    return out


def _attend_chunk(queries, keys, values, block):
    """attend over one chunk of keys: its log-sum-exp per row and its weighted mean of values."""
    (groups, rows, _), m = queries.shape, keys.shape[1]
    lse = queries.new_empty(groups, rows, 1)
    out = queries.new_empty(groups, rows, values.shape[-1])
    per_group = max(1, block // (rows * m))  # groups in one block
    per_row = max(1, block // (per_group * m))  # rows in one block (fewer only if per_group is 1)
    for g in range(0, groups, per_group):
        gs = slice(g, g + per_group)
        for r in range(0, rows, per_row):
            rs = slice(r, r + per_row)
            logits = queries[gs, rs] @ keys[gs].transpose(1, 2)
            peak = logits.amax(-1, keepdim=True)
            weights = logits.sub_(peak).exp_()
            total = weights.sum(-1, keepdim=True)
            out[gs, rs] = (weights @ values[gs]) / total
            lse[gs, rs] = peak + total.log()
    return lse, out


class LocalDenoiser(Denoiser):
    """What LS and ELS share: the training images, the patch size at each step, the borders, the
    drawn candidates, and the logits as one matrix product (the module's docstring). A subclass
    says how the state's patches query (`_queries`, `_unqueries`) and what the keys are (`_keys`)."""

    dtypes = (torch.float32,)

    def __init__(
        self,
        train: torch.Tensor,
        patch_size: int | Mapping[int, int],
        padding: str = "zeros",
        alphas_cumprod: torch.Tensor | None = None,
        candidates: int | None = None,
        seed: int = 0,
        block: int = 2**20,
    ):
        if train.dim() != 4 or len(train) == 0:
            raise ValueError(
                f"train has shape {tuple(train.shape)}; allowed: (images >= 1, channels, height, width)"
            )
        if padding not in PADDINGS:
            raise ValueError(
                f"padding={padding!r} is unknown; allowed: {', '.join(map(repr, PADDINGS))}"
            )
        if candidates is not None:
            _check_count("candidates", candidates)
        _check_count("block", block)
        sizes = patch_size.values() if isinstance(patch_size, Mapping) else [patch_size]
        for k in sizes:
            _check_patch(k)
        super().__init__(alphas_cumprod, train.shape[1:])
        self.register_buffer("images", train.float(), persistent=False)
        drawn = _draw(self._population(train.shape), candidates, seed)
        self.register_buffer("drawn", drawn, persistent=False)
        self.patch_size = dict(patch_size) if isinstance(patch_size, Mapping) else patch_size
        self.padding, self.candidates, self.seed, self.block = padding, candidates, seed, block

    def k(self, t: int) -> int:
        """The patch size at DDPM step t."""
        if not isinstance(self.patch_size, dict):
            return self.patch_size
        if t not in self.patch_size:
            raise ValueError(
                f"t={t} has no patch size; allowed: the steps of patch_size, "
                f"{min(self.patch_size)}..{max(self.patch_size)} ({len(self.patch_size)} steps)"
            )
        return self.patch_size[t]

    def scheduled(self, patch_size: int | Mapping[int, int]) -> "LocalDenoiser":
        """The same machine (images, borders, candidates) with another patch size or schedule."""
        return type(self)(
            self.images,
            patch_size,
            self.padding,
            self.alphas_cumprod,
            self.candidates,
            self.seed,
            self.block,
        )

    def x0(self, x, t):
        out = torch.empty_like(x)
        for step in t.unique():
            rows = t == step
            out[rows] = self.predict(x[rows], int(step), self.k(int(step)))
        return out

    def predict(self, x: torch.Tensor, t: int, k: int) -> torch.Tensor:
        """The machine's clean-image estimate from states x at step t with patch size k."""
        self.check_input(x)
        _check_patch(k)
        a = self.alphas_cumprod[t].sqrt().item()
        s2 = (1 - self.alphas_cumprod[t]).item()
        px = patches(x, k, self.padding)  # (batch, d, pixels)
        queries = F.pad(self._queries(px), (0, 1), value=1.0) * (a / s2)
        keys = (
            (torch.cat([z, -a / 2 * z.pow(2).sum(-1, keepdim=True)], -1), centre)
            for z, centre in self._keys(k)
        )
        return self._unqueries(attend(queries, keys, self.block), x.shape)


def _check_count(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} is not allowed; allowed: an integer >= 1")


def _per_chunk(block: int, size: int) -> int:
    """Candidates of `size` numbers each in one chunk of keys (about 8 blocks' worth)."""
    return max(1, 8 * block // size)


def _draw(n: int, count: int | None, seed: int) -> torch.Tensor | None:
    """`count` of range(n) drawn without replacement (all of them, in order, when count is None
    or at least n)."""
    if count is None or count >= n:
        return None
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:count].sort().values


class LocalScoreMachine(LocalDenoiser):
    """LS: each pixel's posterior mean over the training images, weighted by the patch at that
    pixel only (the formula in the module's docstring). `candidates`: the training images searched
    (drawn with `seed`; all when None)."""

    @staticmethod
    def _population(shape) -> int:
        return shape[0]

    @staticmethod
    def _queries(px):  # one group per pixel: (pixels, batch, d)
        return px.permute(2, 0, 1)

    @staticmethod
    def _unqueries(out, shape):  # (pixels, batch, channels) -> (batch, channels, h, w)
        return out.permute(1, 2, 0).reshape(shape)

    def _keys(self, k: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Chunks of training images: their patch at every pixel (pixels, n, d) and their pixel
        there (pixels, n, channels)."""
        images = self.images if self.drawn is None else self.images[self.drawn]
        for part in images.split(_per_chunk(self.block, images[0].numel() * k * k)):
            yield patches(part, k, self.padding).permute(2, 0, 1), part.flatten(2).permute(2, 0, 1)


class EquivariantLocalScoreMachine(LocalDenoiser):
    """ELS: each pixel's posterior mean over every patch of every training image at every position
    (the formula in the module's docstring): translation equivariant. `candidates`: the (image,
    position) pairs searched, drawn with `seed` (all when None)."""

    @staticmethod
    def _population(shape) -> int:
        return shape[0] * shape[2] * shape[3]

    @staticmethod
    def _queries(px):  # one group of every pixel of every image: (1, batch * pixels, d)
        return px.transpose(1, 2).reshape(1, -1, px.shape[1])

    @staticmethod
    def _unqueries(out, shape):  # (1, batch * pixels, channels) -> (batch, channels, h, w)
        b, c, h, w = shape
        return out.view(b, h * w, c).transpose(1, 2).reshape(shape)

    def _keys(self, k: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Chunks of candidate patches (1, m, d) and their centre pixels (1, m, channels)."""
        if self.drawn is None:
            for part in self.images.split(_per_chunk(self.block, self.images[0].numel() * k * k)):
                z = patches(part, k, self.padding).transpose(1, 2).flatten(0, 1)
                yield z[None], part.flatten(2).transpose(1, 2).flatten(0, 1)[None]
            return
        for where in self.drawn.split(_per_chunk(self.block, self.images.shape[1] * k * k)):
            z, centre = self._patches_at(where, k)
            yield z[None], centre[None]

    def _patches_at(self, where: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The k x k patches (m, d) around flat (image, pixel) indices and their centres (m, c),
        with the machine's borders."""
        _, c, h, w = self.images.shape
        image, pixel = where // (h * w), where % (h * w)
        offsets = torch.arange(k, device=where.device) - k // 2
        rows = (pixel // w)[:, None, None] + offsets[None, :, None]
        cols = (pixel % w)[:, None, None] + offsets[None, None, :]
        if self.padding == "circular":
            inside = None
            rows, cols = rows % h, cols % w
        else:
            inside = ((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w))[:, None]
            rows, cols = rows.clamp(0, h - 1), cols.clamp(0, w - 1)
        z = self.images[image[:, None, None, None], torch.arange(c)[None, :, None, None],
                        rows[:, None], cols[:, None]]  # fmt: skip
        if inside is not None:
            z = z * inside
        centre = self.images[image, :, pixel // w, pixel % w]
        return z.flatten(1), centre


@torch.no_grad()
def patch_size_scores(machine: LocalDenoiser, path, sizes) -> dict[int, dict[int, float]]:
    """Along a network's own trajectory (`path`, a sampling.Trajectory: its states and its
    clean-image predictions), how well the machine with each patch size in `sizes` agrees with the
    network from the same states: the median over the trajectory's images of the centred cosine,
    {t: {k: agreement}}."""
    for k in sizes:
        _check_patch(k, "sizes")
    return {
        t: {k: metrics.pair_similarity(machine.predict(x, t, k), x0).median().item() for k in sizes}
        for x, x0, t in zip(path.x, path.x0, path.t)
    }


def best_patch_sizes(scores: dict[int, dict[int, float]]) -> dict[int, int]:
    """Kamb and Ganguli's rule: at each step, the patch size whose machine agrees best."""
    return {t: max(row, key=row.get) for t, row in scores.items()}
