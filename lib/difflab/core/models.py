"""Named network architectures, each a module net(x_t, t) -> tensor shaped like x_t, or, for the
class-conditional ones (CONDITIONAL), net(x_t, t, labels) with the label NULL_LABEL meaning "no class".

The networks come from diffusers (U-Net, DiT, the ResNet's blocks); the MLP is the one small
thing written here.
"""

from math import prod

import torch
from diffusers import DiTTransformer2DModel, UNet2DModel
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.resnet import ResnetBlock2D
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


class UNetBackbone(nn.Module):
    """diffusers' UNet2DModel with the (x, t) -> tensor call of every backbone here."""

    def __init__(self, **config):
        super().__init__()
        self.net = UNet2DModel(**config)

    def forward(self, x, t):
        return self.net(x, t).sample


class DiTBackbone(nn.Module):
    """diffusers' DiT, made unconditional by giving every image the one class 0."""

    def __init__(self, **config):
        super().__init__()
        self.net = DiTTransformer2DModel(num_embeds_ada_norm=1, **config)

    def forward(self, x, t):
        labels = torch.zeros(len(x), dtype=torch.long, device=x.device)
        return self.net(x, timestep=t, class_labels=labels).sample


CLASSES = 10  # Fashion-MNIST's and CIFAR-10's
NULL_LABEL = CLASSES  # the extra label a conditional network learns as "any class" (guidance)


class ClassUNetBackbone(nn.Module):
    """diffusers' UNet2DModel with a learned embedding of CLASSES + 1 labels added to its time
    embedding: the class-conditional U-Net, the last label being the null one."""

    def __init__(self, **config):
        super().__init__()
        self.net = UNet2DModel(num_class_embeds=CLASSES + 1, **config)

    def forward(self, x, t, labels):
        return self.net(x, t, class_labels=labels).sample


class ClassDiTBackbone(nn.Module):
    """diffusers' DiT with its adaptive norms conditioned on CLASSES + 1 labels, the last the null one."""

    def __init__(self, **config):
        super().__init__()
        self.net = DiTTransformer2DModel(num_embeds_ada_norm=CLASSES + 1, **config)

    def forward(self, x, t, labels):
        return self.net(x, timestep=t, class_labels=labels).sample


class MLPBackbone(nn.Module):
    """A residual MLP on flattened pixels, with a sinusoidal time embedding added in every block."""

    def __init__(
        self, shape: tuple[int, ...], width: int = 256, depth: int = 4, time_dim: int = 128
    ):
        super().__init__()
        dim = prod(shape)
        self.time_proj = Timesteps(time_dim, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embed = TimestepEmbedding(time_dim, width)
        self.inp = nn.Linear(dim, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, width))
            for _ in range(depth)
        )
        self.out = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, dim))

    def forward(self, x, t):
        temb = self.time_embed(self.time_proj(t.expand(len(x))).to(x.dtype))
        h = self.inp(x.flatten(1))
        for block in self.blocks:
            h = h + block(h + temb)
        return self.out(h).view_as(x)


class ResNetBackbone(nn.Module):
    """A stack of diffusers' time-conditioned ResNet blocks at full resolution: no down-sampling and
    no attention, so every pixel sees only its neighbourhood (14 convolutions: 29 pixels across)."""

    def __init__(self, channels: int, width: int = 32, depth: int = 6, time_dim: int = 64):
        super().__init__()
        self.time_proj = Timesteps(time_dim, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embed = TimestepEmbedding(time_dim, 4 * width)
        self.inp = nn.Conv2d(channels, width, 3, padding=1)
        self.blocks = nn.ModuleList(
            ResnetBlock2D(in_channels=width, out_channels=width, temb_channels=4 * width, groups=8)
            for _ in range(depth)
        )
        self.out = nn.Sequential(
            nn.GroupNorm(8, width), nn.SiLU(), nn.Conv2d(width, channels, 3, padding=1)
        )

    def forward(self, x, t):
        temb = self.time_embed(self.time_proj(t.expand(len(x))).to(x.dtype))
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, temb)
        return self.out(h)


def _blocks(kinds: str, attention: bool) -> dict:
    """diffusers' block types of a U-Net whose levels are `kinds` ("A": attention at that level,
    "-": none; down from the top), and its middle block's attention. Without `attention` every
    block is a plain convolution (the convolution-only networks of Kamb and Ganguli)."""
    down = [("AttnDownBlock2D" if attention and kind == "A" else "DownBlock2D") for kind in kinds]
    up = [name.replace("Down", "Up") for name in reversed(down)]
    return {
        "down_block_types": tuple(down),
        "up_block_types": tuple(up),
        "add_attention": attention,
    }


def _unet(
    channels: int,
    resolution: int,
    widths: tuple[int, ...],
    backbone: type = UNetBackbone,
    attention: bool = True,
) -> nn.Module:
    return backbone(
        sample_size=resolution,
        in_channels=channels,
        out_channels=channels,
        block_out_channels=widths,
        layers_per_block=1,
        norm_num_groups=8,
        **_blocks("-A-", attention),
    )


def _ddpm(
    channels: int, resolution: int, backbone: type = UNetBackbone, attention: bool = True
) -> nn.Module:
    """The second paper's network, score_sde's `ddpm` for CIFAR-10 (nf 128, ch_mult (1, 2, 2, 2), 2
    res blocks a level, attention at the second level: 16x16 at 32x32, dropout 0.1), in diffusers'
    layout of the same net (google/ddpm-cifar10-32's config)."""
    return backbone(
        sample_size=resolution,
        in_channels=channels,
        out_channels=channels,
        block_out_channels=(128, 256, 256, 256),
        layers_per_block=2,
        dropout=0.1,
        **_blocks("-A--", attention),
    )


def _ddpmpp(channels: int, resolution: int, base: int) -> nn.Module:
    """The first paper's sweep networks, EDM's DDPM++ for CIFAR-10 with `base` model channels
    (channel_mult (2, 2, 2), 4 blocks a level, attention at 16x16, dropout 0.13: EDM's defaults), in
    diffusers' U-Net blocks: the same widths, depths and attention, without DDPM++'s skip scaling
    and resampling filter, so the parameter counts come within 6% of the paper's (tests/test_models.py)."""
    return UNetBackbone(
        sample_size=resolution,
        in_channels=channels,
        out_channels=channels,
        block_out_channels=(2 * base,) * 3,
        layers_per_block=4,
        dropout=0.13,
        **_blocks("-A-", attention=True),
    )


DIT_S = {"patch_size": 2, "num_layers": 4, "num_attention_heads": 4, "attention_head_dim": 16}

ARCHITECTURES = {
    "unet-xs": lambda c, r: _unet(c, r, (8, 16, 16)),
    "unet-s": lambda c, r: _unet(c, r, (16, 32, 32)),
    "unet-m": lambda c, r: _unet(c, r, (32, 64, 64)),
    "dit-s": lambda c, r: DiTBackbone(sample_size=r, in_channels=c, out_channels=c, **DIT_S),
    "resnet": lambda c, r: ResNetBackbone(c),
    "mlp": lambda c, r: MLPBackbone((c, r, r)),
    "unet-s-class": lambda c, r: _unet(c, r, (16, 32, 32), ClassUNetBackbone),
    "unet-s-conv": lambda c, r: _unet(c, r, (16, 32, 32), attention=False),
    "dit-s-class": lambda c, r: ClassDiTBackbone(
        sample_size=r, in_channels=c, out_channels=c, **DIT_S
    ),
    # the papers' sizes (the `paper` profile's)
    "ddpm": _ddpm,
    "ddpm-class": lambda c, r: _ddpm(c, r, ClassUNetBackbone),
    "ddpm-conv": lambda c, r: _ddpm(c, r, attention=False),
    "ddpmpp-64": lambda c, r: _ddpmpp(c, r, 64),
    "ddpmpp-128": lambda c, r: _ddpmpp(c, r, 128),
    "ddpmpp-256": lambda c, r: _ddpmpp(c, r, 256),
}
CONDITIONAL = ("unet-s-class", "dit-s-class", "ddpm-class")


def build_network(arch: str, channels: int, resolution: int) -> nn.Module:
    """A freshly initialised network of a named architecture (seed torch before calling)."""
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"arch={arch!r} is unknown; allowed: {', '.join(map(repr, ARCHITECTURES))}"
        )
    return ARCHITECTURES[arch](channels, resolution)


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def parameters_of(arch: str, channels: int, resolution: int) -> int:
    """The parameter count of an architecture, built on the meta device (no memory, no time)."""
    with torch.device("meta"):
        return count_parameters(build_network(arch, channels, resolution))


def training_flops(arch: str, channels: int, resolution: int, batch_size: int) -> float:
    """The floating-point operations of one training step (the network's forward and backward
    pass on a batch), counted by torch's FlopCounterMode on the meta device: no memory, no time,
    the same on any machine. The optimizer's and the loss's few operations per parameter or pixel
    are left out."""
    with torch.device("meta"), FlopCounterMode(display=False) as counter:
        net = build_network(arch, channels, resolution)
        x = torch.zeros(batch_size, channels, resolution, resolution)
        t = torch.zeros(batch_size, dtype=torch.long)
        labels = (torch.zeros(batch_size, dtype=torch.long),) if arch in CONDITIONAL else ()
        net(x, t, *labels).sum().backward()
    return float(counter.get_total_flops())
