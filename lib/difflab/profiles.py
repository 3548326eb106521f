"""Profiles: one set of knobs for a CPU build in minutes (`ci`), one for a GPU at the papers' scale."""

from dataclasses import dataclass, fields, replace

import torch


@dataclass(frozen=True)
class Profile:
    name: str
    device: str
    dataset: str
    resolution: int
    train_steps: int
    batch_size: int
    n_samples: int
    sample_steps: int
    sweep_sizes: tuple[int, ...]      # training-set sizes of the memorization sweep
    sweep_archs: tuple[str, ...]      # the widths trained on each of them
    sweep_steps: int                  # one training budget for every size
    sweep_batch_size: int
    disjoint_sizes: tuple[int, ...]   # sizes at which the smaller width also trains on other data


PROFILES = {
    "ci": Profile("ci", "cpu", "fashion_mnist", 16, 4000, 128, 500, 25,
                  sweep_sizes=(16, 32, 64, 128, 256, 1024, 4096, 16384), sweep_archs=("unet-xs", "unet-s"),
                  sweep_steps=3000, sweep_batch_size=64, disjoint_sizes=(16, 16384)),
    "paper": Profile("paper", "cuda", "cifar10", 32, 200_000, 128, 10_000, 100,
                     sweep_sizes=tuple(2 ** k for k in range(6, 16)), sweep_archs=("unet-s", "unet-m"),
                     sweep_steps=200_000, sweep_batch_size=128, disjoint_sizes=(64, 16384)),
}


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def get_profile(name: str = "auto", **overrides) -> Profile:
    """The named profile with per-knob overrides (None keeps the default).

    `auto` is the `ci` scale on the best device here: on a GPU (Colab's, say) the committed models
    run there in minutes. The `paper` scale trains for days and runs only when named."""
    if name == "auto":
        name, overrides = "ci", {"device": default_device(), **overrides}
    if name not in PROFILES:
        raise ValueError(f"profile={name!r} is unknown; allowed: 'auto', {', '.join(map(repr, PROFILES))}")
    knobs = {f.name for f in fields(Profile)} - {"name"}
    unknown = set(overrides) - knobs
    if unknown:
        raise ValueError(f"unknown profile knob(s) {sorted(unknown)}; allowed: {sorted(knobs)}")
    profile = replace(PROFILES[name], **{k: v for k, v in overrides.items() if v is not None})
    if profile.device == "cuda" and not torch.cuda.is_available():
        profile = replace(profile, device="cpu")
    return profile
