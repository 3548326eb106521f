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
k >= 2 max(H, W) - 1, then gives every pixel the same weights, and LS is the empirical denoiser D*);
`padding="circular"` wraps it around (ELS is then exactly shift-equivariant). The paper's machine
is bbELS, the boundary-broken ELS: a pixel within k // 2 of a border is compared only with the
patches at the same distance from that border (a corner pixel with the patches at that corner), an
inner pixel with every inner patch; with a whole-image patch it is LS. The patch size k may depend
on the step: `patch_size` is an odd integer or a mapping from the DDPM step t to one (what chapter
8's calibration returns).

LS's patch distance is a k x k box sum of the squared pixel differences (x - a y_n)^2, one map per
image, so its cost does not grow with k. ELS and bbELS are attention: the state's patches are the
queries, the candidates' patches the keys, their centre pixels the values, and the logit above is
one matrix product once the key carries its squared norm (`attend`). `candidates` draws the
training images to search (all of their patches), the way down to a CPU's budget, as the paper's
code limits its images: chapter 8 measures what it costs.
"""

from collections.abc import Mapping

import torch
import torch.nn.functional as F

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
    return _attend(queries, chunks, block)[1]


def _attend(queries, chunks, block):
    """attend's (log-sum-exp, mean): what `merge` needs to join it with other keys."""
    merged = None
    for keys, values in chunks:
        merged = merge(merged, _attend_chunk(queries, keys, values, block))
    return merged


def merge(first, second):
    """Two softmax means over disjoint sets of keys, (log-sum-exp, mean) each, as the one over both
    (`first` may be None: nothing yet)."""
    if first is None:
        return second
    (lse, out), (part_lse, part) = first, second
    both = torch.logaddexp(lse, part_lse)
    return both, out * (lse - both).exp() + part * (part_lse - both).exp()


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
    """What the machines share: the training images, the patch size at each step, the borders,
    the drawn candidates, and D* once the patch covers the whole image (the module's docstring).
    A subclass says how the state's patches meet the candidates' (`_local`)."""

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
        self.register_buffer("drawn", _draw(len(train), candidates, seed), persistent=False)
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

    def searched(self) -> torch.Tensor:
        """The training images the machine searches: the drawn ones, or all."""
        return self.images if self.drawn is None else self.images[self.drawn]

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
        if self.padding == "zeros" and k >= 2 * max(x.shape[-2:]) - 1 and self._whole_is_d_star:
            # the patch covers the image from every pixel: one weight per image, D*'s
            return _posterior_mean(x.flatten(1)[None], self._images(), a, s2, self.block).view_as(x)
        return self._local(x, k, a, s2)

    def _images(self):
        """Chunks of searched images, flattened: (1, n, pixels) keys and values."""
        for part in self.searched().split(_per_chunk(self.block, self.images[0].numel())):
            yield part.flatten(1)[None], part.flatten(1)[None]

    def _patches(self, k: int):
        """Chunks of searched images: their k x k patch at every pixel (n, d, pixels) and their
        pixel there (n, channels, pixels)."""
        images = self.searched()
        for part in images.split(_per_chunk(self.block, images[0].numel() * k * k)):
            yield patches(part, k, self.padding), part.flatten(2)


def _posterior_mean(queries, chunks, a: float, s2: float, block: int) -> torch.Tensor:
    """The weighted mean of the values with w = softmax(-||query - a key||^2 / (2 s^2))."""
    return _posterior(queries, chunks, a, s2, block)[1]


def _posterior(queries, chunks, a, s2, block):
    """_posterior_mean's (log-sum-exp, mean): attend, once the query carries a 1 and the key its
    squared norm, all scaled by a / s^2 (the ||query||^2 that every key shares left out)."""
    queries = F.pad(queries, (0, 1), value=1.0) * (a / s2)
    keys = (
        (torch.cat([z, -a / 2 * z.pow(2).sum(-1, keepdim=True)], -1), values)
        for z, values in chunks
    )
    return _attend(queries, keys, block)


def _check_count(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} is not allowed; allowed: an integer >= 1")


def _per_chunk(block: int, size: int) -> int:
    """Candidates of `size` numbers each in one chunk of keys (about 8 blocks' worth)."""
    return max(1, 8 * block // size)


def searched_images(train: torch.Tensor, count: int | None, seed: int = 0) -> torch.Tensor:
    """The training images a machine with `candidates=count` and `seed` searches."""
    drawn = _draw(len(train), count, seed)
    return train if drawn is None else train[drawn]


def _draw(n: int, count: int | None, seed: int) -> torch.Tensor | None:
    """`count` of range(n) drawn without replacement (all of them, in order, when count is None
    or at least n)."""
    if count is None or count >= n:
        return None
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:count].sort().values


class LocalScoreMachine(LocalDenoiser):
    """LS: each pixel's posterior mean over the training images, weighted by the patch at that
    pixel only (the formula in the module's docstring). `candidates`: the training images searched
    (drawn with `seed`; all when None).

    The patch distance ||P_i x - a P_i y||^2 is the sum over the patch of the pixels' squared
    differences (x - a y)^2, which are zero outside the image: a k x k box sum of one map per
    image, so the cost does not grow with k."""

    _whole_is_d_star = True

    def _local(self, x, k, a, s2):
        return _local_scores(self, x, k, a, s2)


def _local_scores(machine: LocalDenoiser, x, k, a, s2):
    """LS's estimate (the class's docstring), chunk by chunk of searched images."""
    b, c, h, w = x.shape
    found = None
    images = machine.searched()
    for y in images.split(_per_chunk(machine.block, b * h * w)):
        squared = (x[None] - a * y[:, None]).pow(2).sum(2)  # (n, b, h, w)
        distance = _box_sum(squared.flatten(0, 1)[:, None], k, machine.padding)
        logits = distance.view(len(y), b, h * w).div_(-2 * s2)
        lse = logits.logsumexp(0)  # (b, pixels)
        weights = (logits - lse).exp_()
        mean = torch.einsum("nbi,nci->bic", weights, y.flatten(2))
        found = merge(found, (lse[..., None], mean))
    return found[1].transpose(1, 2).reshape(x.shape)


def _box_sum(maps: torch.Tensor, k: int, padding: str) -> torch.Tensor:
    """The sum of each map (m, 1, h, w) over the k x k window around every pixel, the map being
    zero outside (`zeros`) or wrapped around (`circular`): a k-long sum down the columns, then
    along the rows (2 k additions a pixel, not k^2, and no differences of large sums)."""
    reach = k // 2
    if padding == "circular":
        maps, reach = F.pad(maps, [reach] * 4, mode="circular"), 0
    rows = F.avg_pool2d(maps, (k, 1), stride=1, padding=(reach, 0), count_include_pad=True)
    return F.avg_pool2d(rows, (1, k), stride=1, padding=(0, reach), count_include_pad=True) * k * k


class EquivariantLocalScoreMachine(LocalDenoiser):
    """ELS: each pixel's posterior mean over every patch of every training image at every position
    (the formula in the module's docstring): translation equivariant. `candidates`: the training
    images whose patches are searched (drawn with `seed`; all when None)."""

    _whole_is_d_star = False  # every shift of every image stays a candidate

    def _local(self, x, k, a, s2):
        b, c, h, w = x.shape
        px = patches(x, k, self.padding).transpose(1, 2).reshape(1, b * h * w, -1)
        chunks = (
            (z.transpose(1, 2).reshape(1, -1, z.shape[1]), y.transpose(1, 2).reshape(1, -1, c))
            for z, y in self._patches(k)
        )
        out = _posterior_mean(px, chunks, a, s2, self.block)  # (1, batch * pixels, channels)
        return out.view(b, h * w, c).transpose(1, 2).reshape(x.shape)


class BorderedLocalScoreMachine(LocalDenoiser):
    """bbELS, the paper's machine: ELS inside the image, LS-like at its borders. A pixel within
    k // 2 of a border is compared only with the patches at the same distance from that border
    (a corner pixel with the patches at its own position), an inner pixel with every inner patch,
    so the machine knows where the border is, as a zero-padded convolution does. With k >= 2 H - 1
    every pixel is a border pixel and the machine is LS, and so D*. Zero padding only."""

    _whole_is_d_star = True

    def __init__(self, train, patch_size, padding="zeros", *args, **options):
        if padding != "zeros":
            raise ValueError(f"padding={padding!r} is not allowed for bbELS; allowed: 'zeros'")
        super().__init__(train, patch_size, padding, *args, **options)

    def _local(self, x, k, a, s2):
        b, c, h, w = x.shape
        if k - 1 >= max(h, w):  # every pixel within k // 2 of two borders: each searches its own
            return _local_scores(self, x, k, a, s2)  # position only, as LS does
        px = patches(x, k).view(b, -1, h, w)
        regions = [
            (rows, cols)
            for rows in _border_sides(h, k // 2)
            for cols in _border_sides(w, k // 2)
            if len(rows[0]) and len(cols[0])
        ]
        found = dict.fromkeys(range(len(regions)))
        for z, y in self._patches(k):
            z, y = z.view(len(z), -1, h, w), y.view(len(y), c, h, w)
            for i, (rows, cols) in enumerate(regions):
                chunk = [(_region(z, rows, cols), _region(y, rows, cols))]
                part = _posterior(_region(px, rows, cols), chunk, a, s2, self.block)
                found[i] = merge(found[i], part)
        out = x.new_empty(x.shape)
        for (rows, cols), (_, mean) in zip(regions, found.values()):
            out[:, :, rows[0][:, None], cols[0][None, :]] = _unregion(mean, b, rows, cols)
        return out


def _border_sides(n: int, r: int) -> list[tuple[torch.Tensor, bool]]:
    """The two kinds of rows (or columns) of an n-long side under bbELS with a reach r = k // 2:
    the first and last r, each of which searches only its own row (True: alone), and the inner
    ones, which search each other's (False)."""
    inner = [i for i in range(n) if r <= i < n - r]
    alone = [i for i in range(n) if not r <= i < n - r]
    return [
        (torch.tensor(alone, dtype=torch.long), True),
        (torch.tensor(inner, dtype=torch.long), False),
    ]


def _region(t: torch.Tensor, rows, cols) -> torch.Tensor:
    """The pixels of t (m, d, h, w) in a region, as attend's (groups, m * pooled pixels, d): one
    group per row or column that is alone, the others pooled with the m images."""
    (r, row_alone), (c, col_alone) = rows, cols
    sub = t[:, :, r][:, :, :, c]  # (m, d, len(r), len(c))
    m, d, nr, nc = sub.shape
    if row_alone and col_alone:
        return sub.permute(2, 3, 0, 1).reshape(nr * nc, m, d)
    if row_alone:
        return sub.permute(2, 0, 3, 1).reshape(nr, m * nc, d)
    if col_alone:
        return sub.permute(3, 0, 2, 1).reshape(nc, m * nr, d)
    return sub.permute(0, 2, 3, 1).reshape(1, m * nr * nc, d)


def _unregion(out: torch.Tensor, b: int, rows, cols) -> torch.Tensor:
    """_region's inverse for attend's output (groups, b * pooled pixels, channels): (b, channels,
    len(rows), len(cols))."""
    (r, row_alone), (c, col_alone) = rows, cols
    nr, nc, ch = len(r), len(c), out.shape[-1]
    if row_alone and col_alone:
        return out.view(nr, nc, b, ch).permute(2, 3, 0, 1)
    if row_alone:
        return out.view(nr, b, nc, ch).permute(1, 3, 0, 2)
    if col_alone:
        return out.view(nc, b, nr, ch).permute(1, 3, 2, 0)
    return out.view(b, nr, nc, ch).permute(0, 3, 1, 2)
