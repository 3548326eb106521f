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


PROFILES = {
    "ci": Profile("ci", "cpu", "fashion_mnist", 16, 4000, 128, 500, 25),
    "paper": Profile("paper", "cuda", "cifar10", 32, 200_000, 128, 10_000, 100),
}


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def get_profile(name: str = "auto", **overrides) -> Profile:
    """The named profile with per-knob overrides (None keeps the default).

    `auto` picks `paper` on a GPU and `ci` otherwise."""
    if name == "auto":
        name = "paper" if torch.cuda.is_available() else "ci"
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
