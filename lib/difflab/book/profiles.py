"""Profiles: one set of knobs for a CPU build in minutes (`ci`), one for a GPU at the papers' scale."""

import os
from dataclasses import dataclass, fields, replace

from difflab.core.data import TITLES
from difflab.core.devices import DEVICE_ENV, default_device, describe
from difflab.core.metrics import SSCD_MODELS
from difflab.core.models import ARCHITECTURES

# the standard network's twins in models.ARCHITECTURES, by suffix: chapter 6's, and chapter 8's
TWINS = {"-class": "class-conditional", "-conv": "convolution-only"}


@dataclass(frozen=True)
class Profile:
    # every chapter: where, on what, and the standard model (chapters 1, 2, 4-8)
    name: str
    device: str
    dataset: str
    resolution: int
    train_steps: int  # the standard model's training budget
    batch_size: int
    standard_arch: str  # the standard model's network (its twins: TWINS)
    lr: float  # the standard model's optimizer and EMA (and its variants')
    ema_decay: float
    n_samples: int  # starting noises per seed
    sample_steps: int  # deterministic sampler's steps
    # chapter 2: the wider U-Net; whether released pipelines (CIFAR-10's) may stand beside the
    # models; the SSCD copy detector of chapters 2 and 3 ("mixup": the ONNX sscd_disc_mixup the
    # studies calibrated; "disc_large": the paper's sscd_disc_large, once downloaded, else "mixup")
    wide_arch: str
    pretrained: bool
    sscd: str
    # chapter 3 (and chapter 6's fine-tuning parents): the memorization sweep
    sweep_sizes: tuple[int, ...]  # training-set sizes
    sweep_archs: tuple[str, ...]  # the widths trained on each of them
    sweep_steps: int  # one training budget for every size
    sweep_batch_size: int
    disjoint_sizes: tuple[int, ...]  # sizes at which the smaller width also trains on other data
    dip_arch: str  # a width 4x the smaller sweep width's, trained only at dip_sizes,
    dip_sizes: tuple[int, ...]  # the sizes around the transition (is the dip deeper between them?)
    # chapter 4
    clones: int  # images cloned at each time
    noise_start_fid_samples: int  # samples per FID when starting late from noise
    # chapter 5
    late_sweep_fid_samples: int  # samples per FID in the start-time sweep
    late_table_fid_samples: int  # samples per FID in the final table
    # chapter 9: long runs of the two sweep widths, snapshots along them (catalogue.time_runs)
    time_sizes: tuple[int, ...]  # training-set sizes of the smaller width's long runs
    time_steps: int  # their length
    time_wide_sizes: tuple[int, ...]  # sizes at which the wider width runs too (RP between them)
    time_wide_steps: int
    # chapter 8: how many training images the local machines and D* search, and the calibration
    # of their patch sizes (None: every image)
    local_machine_images: int | None
    local_calibration_images: int | None

    def describe(self) -> str:
        """The knobs a reader needs, in a sentence (Markdown) for a chapter's set-up cell."""
        data = TITLES[self.dataset]
        return (
            f"Profile `{self.name}` on {describe(self.device)}: {data} at "
            f"{self.resolution}x{self.resolution} pixels, {self.n_samples:,} starting noises per "
            f"seed, {self.sample_steps} sampler steps; the standard network (`{self.standard_arch}`) "
            f"trained for {self.train_steps:,} steps in batches of {self.batch_size}."
        )

    def __post_init__(self):
        for f in fields(self):  # counts: an integer >= 1 (None too where the type allows it)
            value = getattr(self, f.name)
            optional = f.type == int | None
            if (f.type is int or (optional and value is not None)) and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                every = "None (every image) or " if optional else ""
                raise ValueError(
                    f"{f.name}={value!r} is not allowed; allowed: {every}an integer >= 1"
                )
        archs = {
            "standard_arch": self.standard_arch,
            "wide_arch": self.wide_arch,
            "dip_arch": self.dip_arch,
            **{f"sweep_archs[{i}]": arch for i, arch in enumerate(self.sweep_archs)},
        }
        for name, arch in archs.items():
            if arch not in ARCHITECTURES:
                raise ValueError(
                    f"{name}={arch!r} is unknown; allowed: {', '.join(map(repr, ARCHITECTURES))}"
                )
        if self.sscd not in SSCD_MODELS:
            raise ValueError(
                f"sscd={self.sscd!r} is unknown; allowed: {', '.join(map(repr, SSCD_MODELS))}"
            )
        for suffix, twin in TWINS.items():
            if f"{self.standard_arch}{suffix}" not in ARCHITECTURES:
                allowed = [arch for arch in ARCHITECTURES if f"{arch}{suffix}" in ARCHITECTURES]
                raise ValueError(
                    f"standard_arch={self.standard_arch!r} has no {twin} twin "
                    f"'{self.standard_arch}{suffix}'; allowed: {', '.join(map(repr, allowed))}"
                )


PROFILES = {
    "ci": Profile(
        name="ci",
        device="cpu",
        dataset="fashion_mnist",
        resolution=16,
        train_steps=4000,
        batch_size=128,
        standard_arch="unet-s",
        wide_arch="unet-m",
        lr=1e-3,
        ema_decay=0.999,
        n_samples=500,
        sample_steps=25,
        sweep_sizes=(16, 32, 64, 128, 256, 1024, 4096, 16384),
        sweep_archs=("unet-xs", "unet-s"),
        sweep_steps=3000,
        sweep_batch_size=64,
        disjoint_sizes=(16, 16384),
        dip_arch="unet-m",
        dip_sizes=(64, 128, 256),
        clones=250,
        noise_start_fid_samples=600,
        late_sweep_fid_samples=500,
        late_table_fid_samples=2000,
        sscd="mixup",
        pretrained=False,
        local_machine_images=256,  # data/studies/local_search.json
        local_calibration_images=64,
        time_sizes=(16, 32, 64, 128, 256),
        time_steps=8000,
        time_wide_sizes=(16, 32, 64, 128),
        time_wide_steps=6000,
    ),
    "paper": Profile(
        name="paper",
        device="cuda",
        dataset="cifar10",
        resolution=32,
        train_steps=200_000,
        batch_size=128,
        standard_arch="ddpm",
        wide_arch="ddpmpp-128",
        lr=2e-4,
        ema_decay=0.9999,  # the second paper's
        n_samples=10_000,
        sample_steps=100,
        sweep_sizes=tuple(2**k for k in range(6, 16)),
        sweep_archs=("ddpmpp-64", "ddpmpp-128"),
        sweep_steps=390_000,
        sweep_batch_size=128,
        disjoint_sizes=(64, 16384),  # ~390k in the paper
        dip_arch="ddpmpp-256",
        dip_sizes=(2**11, 2**12, 2**13),
        clones=2000,
        noise_start_fid_samples=10_000,
        late_sweep_fid_samples=10_000,
        late_table_fid_samples=50_000,
        sscd="disc_large",
        pretrained=True,
        local_machine_images=None,
        local_calibration_images=None,
        time_sizes=tuple(2**k for k in range(10, 15)),  # the second paper's n: 2^7 to 2^15
        time_steps=1_000_000,
        time_wide_sizes=tuple(2**k for k in range(10, 14)),
        time_wide_steps=500_000,
    ),
}

# The `paper` profile's code paths (3-channel images, the paper's sweep shape and knobs) at a toy
# scale on the CPU, so that tests/test_smoke.py runs every chapter on them in minutes: made-up
# CIFAR-shaped images (data.toy_rgb) at 16x16 (32x32 is slower; the paper's networks at 32x32 are
# tested in tests/test_models.py), the ci networks, a few training steps, 8 noises a seed.
PROFILES["smoke"] = replace(
    PROFILES["paper"],
    name="smoke",
    device="cpu",
    dataset="toy_rgb",
    resolution=16,
    train_steps=16,
    batch_size=8,
    standard_arch="unet-s",
    wide_arch="unet-m",
    n_samples=8,
    sample_steps=25,
    sweep_sizes=(64, 128, 256),
    sweep_archs=("unet-xs", "unet-s"),
    sweep_steps=30,
    sweep_batch_size=8,
    disjoint_sizes=(64, 256),
    dip_arch="unet-m",
    dip_sizes=(64, 128, 256),
    clones=8,
    noise_start_fid_samples=16,
    late_sweep_fid_samples=16,
    late_table_fid_samples=24,
    # the paper searches every image, through the same code (local.searched_images with None); at
    # the toy set's 2,048 images chapter 8's calibration alone takes over 10 minutes
    local_machine_images=256,
    local_calibration_images=64,
    time_sizes=(64, 128),
    time_steps=40,
    time_wide_sizes=(64,),
    time_wide_steps=30,
)


def get_profile(name: str = "auto", **overrides) -> Profile:
    """The named profile with per-knob overrides (None keeps the default); DIFFLAB_DEVICE, where
    set, is the device of every profile.

    `auto` is the `ci` scale on the best device here: on a GPU (Colab's, say) the committed models
    run there in minutes. The `paper` scale trains for days and runs only when named; it names
    CUDA, and without a GPU stops at its first model (devices.checked) instead of moving to the CPU.
    `auto` and `paper` say which device they use."""
    asked = name
    if overrides.get("device") is None and os.environ.get(DEVICE_ENV):
        overrides = {**overrides, "device": os.environ[DEVICE_ENV]}
    if name == "auto":
        name, overrides = "ci", {"device": default_device(), **overrides}
    if name not in PROFILES:
        raise ValueError(
            f"profile={name!r} is unknown; allowed: 'auto', {', '.join(map(repr, PROFILES))}"
        )
    knobs = {f.name for f in fields(Profile)} - {"name"}
    unknown = set(overrides) - knobs
    if unknown:
        raise ValueError(f"unknown profile knob(s) {sorted(unknown)}; allowed: {sorted(knobs)}")
    profile = replace(PROFILES[name], **{k: v for k, v in overrides.items() if v is not None})
    if asked in ("auto", "paper"):
        print(f"profile {asked}: the {profile.name} scale on {describe(profile.device)}")
    return profile
