"""The catalogue: every model the book trains, as TrainConfigs by role.

A role names the part a model plays (the standard U-Net, its seed twin, the DiT, ...); its `label`
is what a reader sees. Chapters, studies and tests refer to models by role, never by label or
position. The functions below give each experiment's models, by profile."""

import enum
from dataclasses import replace

from difflab.book.profiles import Profile
from difflab.training.loop import TrainConfig


class Role(enum.Enum):
    """The part a model plays; its value is its label."""

    STANDARD = "U-Net S"  # the profile's standard network on its full training set
    SEED_TWIN = "U-Net S, seed 1"  # the same, another training seed
    WIDE = "U-Net M"  # the wider U-Net
    DIT = "DiT"  # another family: a transformer
    RESNET = "ResNet"  # another family: convolutions without down-sampling
    V_PRED = "U-Net S, v-pred"  # another objective: v-prediction
    EDM = "U-Net S, EDM (VE)"  # another objective and process: EDM's, variance-exploding
    CONVOLUTION_ONLY = "U-Net S, no attention"  # the standard network without its attention
    CONVOLUTION_ONLY_TWIN = "U-Net S, no attention, seed 1"
    CONDITIONAL = "conditional U-Net S"  # the class-conditional standard network
    CONDITIONAL_TWIN = "conditional U-Net S, seed 1"
    CONDITIONAL_DIT = "conditional DiT"
    PARENT = "parent"  # fine-tuning's first parent: the sweep's largest smaller-width model
    PARENT_TWIN = "parent, seed 1"  # its seed twin
    FINE_TUNED = "fine-tuned parent"
    FINE_TUNED_TWIN = "fine-tuned parent, seed 1"
    FROM_SCRATCH = "from scratch on the class"  # the fine-tuning class only, a third seed

    @property
    def label(self) -> str:
        """The model's name as a reader sees it."""
        return self.value


def labelled(by_role: dict) -> dict:
    """The same values keyed by their roles' labels: for a table's rows or a figure's legend."""
    return {role.label: value for role, value in by_role.items()}


def standard(profile: Profile) -> TrainConfig:
    """The book's standard model: the profile's standard network (ci: the small U-Net; paper: the
    second paper's DDPM net) on its full training set, with EMA snapshots at 1/16, 1/8, 1/4 and 1/2
    of training."""
    steps = profile.train_steps
    return TrainConfig(
        dataset=profile.dataset,
        resolution=profile.resolution,
        arch=profile.standard_arch,
        steps=steps,
        batch_size=profile.batch_size,
        lr=profile.lr,
        ema_decay=profile.ema_decay,
        snapshots=tuple(steps // k for k in (16, 8, 4, 2)),
    )


def reproducibility_models(profile: Profile) -> dict[Role, TrainConfig]:
    """Models that differ from the standard one in one thing each: training run, width,
    family, objective, framework."""
    base = standard(profile)
    alone = replace(base, snapshots=())
    return {
        Role.STANDARD: base,
        Role.SEED_TWIN: replace(base, seed=1),
        Role.WIDE: replace(alone, arch=profile.wide_arch),
        Role.DIT: replace(alone, arch="dit-s"),
        Role.RESNET: replace(alone, arch="resnet"),
        Role.V_PRED: replace(alone, objective="v"),
        Role.EDM: replace(alone, objective="edm"),
    }


def convolution_only_models(profile: Profile) -> dict[Role, TrainConfig]:
    """The standard model with its attention blocks removed (`standard_arch` + "-conv"), two
    training runs: the convolution-only networks whose images Kamb and Ganguli's machines predict."""
    alone = replace(standard(profile), snapshots=(), arch=f"{profile.standard_arch}-conv")
    return {Role.CONVOLUTION_ONLY: alone, Role.CONVOLUTION_ONLY_TWIN: replace(alone, seed=1)}


def memorization_sweep(profile: Profile) -> dict[tuple[str, int], TrainConfig]:
    """Each sweep width on each nested subset (the first n images of one fixed permutation), all
    with one training budget, so that the training-set size is the only thing that changes.

    EDM-preconditioned, as the paper's networks are: an eps-network that has seen few images
    errs at high noise by more than sqrt(alpha_bar), and its first clean-image estimates are
    then off by many times the pixel range."""
    return {
        (arch, n): _sweep_config(profile, arch, n)
        for n in profile.sweep_sizes
        for arch in profile.sweep_archs
    }


def _sweep_config(profile: Profile, arch: str, n: int) -> TrainConfig:
    return TrainConfig(
        dataset=profile.dataset,
        resolution=profile.resolution,
        objective="edm",
        arch=arch,
        subset=n,
        steps=profile.sweep_steps,
        batch_size=profile.sweep_batch_size,
    )


def dip_sweep(profile: Profile) -> dict[tuple[str, int], TrainConfig]:
    """The width 4x the smaller sweep width's (`profile.dip_arch`) at the sizes around the
    transition only, trained like the sweep: the paper's deepest dip is between such widths."""
    return {
        (profile.dip_arch, n): _sweep_config(profile, profile.dip_arch, n)
        for n in profile.dip_sizes
    }


def time_snapshots(profile: Profile) -> tuple[int, ...]:
    """The steps at which the long runs keep their EMA weights: every half-octave below
    `time_steps` down to 1/32 of it (two significant digits), and chapter 3's budget, where the
    long runs cross chapter 3's sweep."""
    grid = {float(f"{profile.time_steps * 2 ** (-k / 2):.2g}") for k in range(1, 11)}
    return tuple(sorted({int(step) for step in grid | {profile.sweep_steps}} - {0}))


def time_runs(profile: Profile) -> dict[tuple[str, int], TrainConfig]:
    """Chapter 9's long runs: the sweep's smaller width at `time_sizes`, its wider width at
    `time_wide_sizes`, each configured as chapter 3's sweep but for its length and snapshots (the
    same seed and batches: the snapshot at chapter 3's budget is chapter 3's model)."""
    small, wide = profile.sweep_archs
    snapshots = time_snapshots(profile)
    run = lambda arch, n, steps: replace(
        _sweep_config(profile, arch, n),
        steps=steps,
        snapshots=tuple(step for step in snapshots if step < steps),
    )
    return {
        **{(small, n): run(small, n, profile.time_steps) for n in profile.time_sizes},
        **{(wide, n): run(wide, n, profile.time_wide_steps) for n in profile.time_wide_sizes},
    }


def disjoint_pairs(profile: Profile) -> dict[int, tuple[TrainConfig, TrainConfig]]:
    """The smaller width trained on two disjoint sets of n images: the sweep's own subset and the
    next n images of the same permutation."""
    arch = profile.sweep_archs[0]
    sweep = memorization_sweep(profile)
    return {
        n: (sweep[arch, n], replace(sweep[arch, n], subset_part=1)) for n in profile.disjoint_sizes
    }


FINE_TUNING_CLASS = 7  # Sneaker: the class the fine-tuning experiment specialises its models to


def conditional_models(profile: Profile) -> dict[Role, TrainConfig]:
    """Class-conditional versions of the standard model (two training runs) and of the DiT, the
    label dropped 10% of the time so that they can be guided; committed in float16."""
    base = replace(
        standard(profile),
        arch=f"{profile.standard_arch}-class",
        snapshots=(),
        label_dropout=0.1,
        stored_as="float16",
    )
    return {
        Role.CONDITIONAL: base,
        Role.CONDITIONAL_TWIN: replace(base, seed=1),
        Role.CONDITIONAL_DIT: replace(base, arch="dit-s-class"),
    }


def fine_tuning_parent(profile: Profile) -> TrainConfig:
    """The fine-tuning experiment's first parent: the sweep's largest smaller-width model."""
    return memorization_sweep(profile)[profile.sweep_archs[0], max(profile.sweep_sizes)]


def fine_tuning_models(profile: Profile) -> dict[Role, TrainConfig]:
    """Two parents that differ in their training seed (fine_tuning_parent and its seed-1 twin),
    each fine-tuned on one class with the same batches, and a model trained from scratch on that
    class (a third seed: it shares no weights with either)."""
    parent = fine_tuning_parent(profile)
    twin = replace(parent, seed=1, stored_as="float16")
    tune = dict(
        only_class=FINE_TUNING_CLASS,
        subset=None,
        seed=0,
        steps=profile.sweep_steps // 3,
        ema_decay=0.99,
        snapshots=(profile.sweep_steps // 30, profile.sweep_steps // 10),
        stored_as="float16",
    )
    return {
        Role.PARENT_TWIN: twin,
        Role.FINE_TUNED: replace(parent, parent=parent, **tune),
        Role.FINE_TUNED_TWIN: replace(twin, parent=twin, **tune),
        Role.FROM_SCRATCH: replace(
            parent, only_class=FINE_TUNING_CLASS, subset=None, seed=2, stored_as="float16"
        ),
    }


def catalogue(profile: Profile) -> dict[str, TrainConfig]:
    """Every model the book trains at this profile, by the name the command line takes: a role's
    label, or the sweep's "sweep ARCH n=N" and "disjoint ARCH n=N" (the standard one is also
    "standard")."""
    return {
        "standard": standard(profile),
        **labelled(reproducibility_models(profile)),
        **labelled(convolution_only_models(profile)),
        **{
            f"sweep {arch} n={n}": config
            for (arch, n), config in memorization_sweep(profile).items()
        },
        **{
            f"disjoint {pair[1].arch} n={n}": pair[1] for n, pair in disjoint_pairs(profile).items()
        },
        **{f"sweep {arch} n={n}": config for (arch, n), config in dip_sweep(profile).items()},
        **labelled(conditional_models(profile)),
        **labelled(fine_tuning_models(profile)),
    }
