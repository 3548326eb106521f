"""The trained models the book uses, by profile.

python -m difflab.book.zoo ci [NAME ...]      # train (or find) them, and with no NAME the classifier;
                                         # `make models` does all of `ci`
python -m difflab.book.zoo paper --shard I/N  # only the I-th of N disjoint shards: one task of a job array
python -m difflab.book.zoo paper --plan       # what it costs here: parameters, steps, measured time a step
"""

import argparse
import json
import platform
import re
from dataclasses import replace

import pandas as pd
import torch

from difflab.book.profiles import PROFILES, Profile, get_profile
from difflab.core import parallel
from difflab.core.data import CHANNELS
from difflab.core.denoisers import NetDenoiser
from difflab.core.models import parameters_of
from difflab.training import store
from difflab.training.classifier import Classifier, ClassifierConfig, get_classifier
from difflab.training.loop import TrainConfig, seconds_per_step
from difflab.training.pretrained import load_pipeline
from difflab.training.store import manifest_path


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


def reproducibility_models(profile: Profile) -> dict[str, TrainConfig]:
    """Models that differ from the standard one in one thing each: training run, width,
    family, objective, framework."""
    base = standard(profile)
    alone = replace(base, snapshots=())
    return {
        "U-Net S": base,
        "U-Net S, seed 1": replace(base, seed=1),
        "U-Net M": replace(alone, arch=profile.wide_arch),
        "DiT": replace(alone, arch="dit-s"),
        "ResNet": replace(alone, arch="resnet"),
        "U-Net S, v-pred": replace(alone, objective="v"),
        "U-Net S, EDM (VE)": replace(alone, objective="edm"),
    }


def convolution_only_models(profile: Profile) -> dict[str, TrainConfig]:
    """The standard model with its attention blocks removed (`standard_arch` + "-conv"), two
    training runs: the convolution-only networks whose images Kamb and Ganguli's machines predict."""
    alone = replace(standard(profile), snapshots=(), arch=f"{profile.standard_arch}-conv")
    return {"U-Net S, no attention": alone, "U-Net S, no attention, seed 1": replace(alone, seed=1)}


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


def disjoint_pairs(profile: Profile) -> dict[int, tuple[TrainConfig, TrainConfig]]:
    """The smaller width trained on two disjoint sets of n images: the sweep's own subset and the
    next n images of the same permutation."""
    arch = profile.sweep_archs[0]
    sweep = memorization_sweep(profile)
    return {
        n: (sweep[arch, n], replace(sweep[arch, n], subset_part=1)) for n in profile.disjoint_sizes
    }


FINE_TUNING_CLASS = 7  # Sneaker: the class the fine-tuning experiment specialises its models to


def conditional_models(profile: Profile) -> dict[str, TrainConfig]:
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
        "conditional U-Net S": base,
        "conditional U-Net S, seed 1": replace(base, seed=1),
        "conditional DiT": replace(base, arch="dit-s-class"),
    }


def fine_tuning_models(profile: Profile) -> dict[str, TrainConfig]:
    """Two parents that differ in their training seed (the sweep's largest smaller-width model and
    its seed-1 twin), each fine-tuned on one class with the same batches, and a model trained from
    scratch on that class (a third seed: it shares no weights with either)."""
    parent = memorization_sweep(profile)[profile.sweep_archs[0], max(profile.sweep_sizes)]
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
        "parent, seed 1": twin,
        "fine-tuned parent": replace(parent, parent=parent, **tune),
        "fine-tuned parent, seed 1": replace(twin, parent=twin, **tune),
        "from scratch on the class": replace(
            parent, only_class=FINE_TUNING_CLASS, subset=None, seed=2, stored_as="float16"
        ),
    }


def zoo(profile: Profile) -> dict[str, TrainConfig]:
    """Every model the book trains at this profile, by name (the standard one is also "U-Net S")."""
    return {
        "standard": standard(profile),
        **reproducibility_models(profile),
        **convolution_only_models(profile),
        **{
            f"sweep {arch} n={n}": config
            for (arch, n), config in memorization_sweep(profile).items()
        },
        **{
            f"disjoint {pair[1].arch} n={n}": pair[1] for n, pair in disjoint_pairs(profile).items()
        },
        **{f"sweep {arch} n={n}": config for (arch, n), config in dip_sweep(profile).items()},
        **conditional_models(profile),
        **fine_tuning_models(profile),
    }


def how_to_train(config: TrainConfig) -> str:
    """The command that trains `config`: its zoo name where it has one."""
    for name in PROFILES:
        for entry_name, entry in zoo(get_profile(name)).items():
            if entry == config:
                return f"python -m difflab.book.zoo {name} '{entry_name}'"
    return store.GENERIC_COMMAND


def get_denoiser(
    config: TrainConfig,
    device: str | None = None,
    progress: bool = True,
    allow_training: bool | None = None,
) -> NetDenoiser:
    """The trained model of `config` (difflab.training.store.get_denoiser); a missing one is an
    error that names the zoo command that trains it."""
    return store.get_denoiser(
        config, device, progress, lambda: how_to_train(config), allow_training
    )


def get_snapshot(
    config: TrainConfig, step: int, device: str | None = None, allow_training: bool | None = None
) -> NetDenoiser:
    """The EMA model of `config` after `step` training steps, as store.get_snapshot gives it."""
    return store.get_snapshot(config, step, device, allow_training, lambda: how_to_train(config))


def manifest(config: TrainConfig, device: str | None = None) -> dict:
    """A trained model's manifest (its parameters, loss, training time, machine), the model being
    found or trained first as `get_denoiser` would (a fresh `paper` build has none yet)."""
    get_denoiser(config, device)
    return json.loads(manifest_path(config).read_text())


def model_table(configs: dict, device: str | None = None) -> pd.DataFrame:
    """Each model's card, by its key in `configs`, from its config and manifest (the model found or
    trained first): network, objective, seed, training images (None: the whole set), steps, epochs
    over the images, parameters, final loss and training time."""
    rows = {}
    for key, config in configs.items():
        trained = manifest(config, device)
        rows[key] = {
            "architecture": config.arch,
            "objective": config.objective,
            "seed": config.seed,
            "images": config.subset,
            "steps": config.steps,
            "epochs": round(config.steps * config.batch_size / config.subset)
            if config.subset
            else None,
            "parameters": f"{trained['parameters']:,}",
            "final loss": round(trained["final_loss"], 4),
            "training (s)": round(trained["wall_time_s"]),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def profile_config(profile: Profile) -> ClassifierConfig:
    """The classifier of a profile's dataset and resolution, the one `make models` trains for it."""
    return ClassifierConfig(profile.dataset, profile.resolution)


def profile_classifier(
    profile: Profile,
    device: str | None = None,
    progress: bool = True,
    allow_training: bool | None = None,
) -> Classifier:
    """The book's classifier for a profile (chapters 4 and 5 judge and score images with it), on
    the profile's device unless another is given."""
    return get_classifier(
        profile_config(profile),
        device or profile.device,
        progress,
        allow_training,
        command=f"python -m difflab.book.zoo {profile.name}",
    )


def profile_pipelines(
    profile: Profile, sources: tuple[str, ...], local_files_only: bool = True
) -> dict[str, NetDenoiser]:
    """The released pipelines a reader named, by source, to stand beside a chapter's models: at the
    `paper` profile only (the released ones are CIFAR-10's) and only of the profile's image shape."""
    if sources and profile.name != "paper":
        raise ValueError(
            f"pretrained={list(sources)} is not allowed at profile {profile.name!r}; allowed: "
            f"() (the default), or released pipelines at profile 'paper'"
        )
    pipelines = {
        source: load_pipeline(source, profile.device, local_files_only) for source in sources
    }
    shape = (CHANNELS[profile.dataset], profile.resolution, profile.resolution)
    for source, denoiser in pipelines.items():
        if tuple(denoiser.sample_shape) != shape:
            raise ValueError(
                f"pretrained={source!r} makes images of shape {tuple(denoiser.sample_shape)}; "
                f"allowed: the profile's {shape}"
            )
    return pipelines


def _depth(config: TrainConfig) -> int:
    return 0 if config.parent is None else 1 + _depth(config.parent)


def shard(models: dict[str, TrainConfig], index: int, count: int) -> list[str]:
    """The names that task `index` of `count` (from 1) trains: every distinct model once, a
    fine-tuned model in its parent's task and after it (a family), whole families dealt largest
    first to the task with the fewest training steps so far, so that the tasks end together."""
    if not (isinstance(count, int) and isinstance(index, int) and 1 <= index <= count):
        raise ValueError(
            f"shard {index!r}/{count!r} is not allowed; allowed: I/N with integers 1 <= I <= N"
        )
    families = {}
    for name in distinct(models):
        root = models[name]
        while root.parent is not None:
            root = root.parent
        families.setdefault(repr(root), []).append(name)
    steps = lambda family: sum(models[name].steps for name in family)
    loads, tasks = [0] * count, [[] for _ in range(count)]
    for family in sorted(families.values(), key=steps, reverse=True):
        task = loads.index(min(loads))
        tasks[task] += sorted(family, key=lambda name: _depth(models[name]))
        loads[task] += steps(family)
    return tasks[index - 1]


def distinct(models: dict[str, TrainConfig]) -> dict[str, TrainConfig]:
    """The models by their first name: "standard" and "U-Net S" are one model, trained once."""
    first = {}
    for name, config in models.items():
        first.setdefault(repr(config), name)
    return {name: models[name] for name in first.values()}


def plan(
    models: dict[str, TrainConfig], device: str, steps: int = 3, batch_size: int | None = None
) -> pd.DataFrame:
    """Each distinct model's parameters, training steps and hours on `device`, from a step timed
    there once per network and batch (`training.seconds_per_step`; `batch_size`: timed at that
    batch and scaled): the cost of a profile before training it. Beside it, the time a step took
    when a model in the cache was trained (its manifest; on whatever machine trained it)."""
    timed, rows = {}, []
    for name, config in distinct(models).items():
        shape = (config.arch, config.dataset, config.resolution, config.batch_size)
        if shape not in timed:
            timed[shape] = seconds_per_step(config, device, steps, batch_size)
        rows.append(
            {
                "model": name,
                "network": config.arch,
                "parameters (M)": parameters_of(
                    config.arch, CHANNELS[config.dataset], config.resolution
                )
                / 1e6,
                "steps": config.steps,
                "batch": config.batch_size,
                "s / step": timed[shape],
                "hours": config.steps * timed[shape] / 3600,
                "s / step when trained": _trained_step_time(config),
            }
        )
    return pd.DataFrame(rows).set_index("model")


def _trained_step_time(config: TrainConfig) -> float:
    manifest = manifest_path(config)
    if not manifest.exists():
        return float("nan")
    record = json.loads(manifest.read_text())
    return record["wall_time_s"] / record["steps"]


def device_name(device: str) -> str:
    """The device's name as a reader would look it up."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def parse_shard(text: str) -> tuple[int, int]:
    """ "I/N" as (I, N)."""
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError(
            f"--shard={text!r} is not allowed; allowed: I/N with integers 1 <= I <= N, such as 3/8"
        )
    return int(match[1]), int(match[2])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("profile", nargs="?", default="ci")
    parser.add_argument("names", nargs="*", help="only these models, in this order (default: all)")
    parser.add_argument(
        "--shard",
        help="I/N: only the I-th of N disjoint shards, a job array's task (the "
        "classifier with the first)",
    )
    parser.add_argument(
        "--plan",
        action="store_true",
        help="train nothing: print each model's parameters, "
        "steps and hours on this device, from a few timed steps",
    )
    parser.add_argument(
        "--plan-batch",
        type=int,
        help="with --plan: time at this batch size and scale "
        "(for a slow device; default: the model's own batch)",
    )
    args = parser.parse_intermixed_args()  # names may follow options
    profile = get_profile(args.profile)
    models = zoo(profile)
    unknown = set(args.names) - set(models)
    if unknown:
        parser.error(f"unknown model(s) {sorted(unknown)}; allowed: {sorted(models)}")
    if args.shard and args.names:
        parser.error("--shard and model names are not allowed together; allowed: one of them")
    try:
        index, count = parse_shard(args.shard) if args.shard else (1, 1)
    except ValueError as error:
        parser.error(str(error))
    names = args.names or shard(models, index, count)
    if args.plan:
        device = parallel.device(profile.device)
        table = plan(
            {name: config for name, config in models.items() if name in names},
            device,
            batch_size=args.plan_batch,
        )
        if parallel.is_main():
            processes = parallel.summary().get("processes", 1)
            print(table.to_string(float_format=lambda v: f"{v:,.2f}"))
            print(
                f"total: {table['hours'].sum():,.1f} hours of {processes} x {device_name(device)} for "
                f"{len(table)} models (the classifier not included)"
            )
        return
    for name in names:
        config = models[name]
        if parallel.is_main():
            print(f"{name}: {config}", flush=True)
        store.get_denoiser(
            config,
            profile.device,
            command=f"python -m difflab.book.zoo {args.profile} '{name}'",
            allow_training=True,
        )
    if not args.names and index == 1:
        print("classifier", flush=True)
        profile_classifier(profile, allow_training=True)


if __name__ == "__main__":
    main()
