"""The command line that trains the catalogue's models, and what they cost before training them.

python -m difflab.book.zoo ci [NAME ...]      # train (or find) them, and with no NAME the classifier;
                                         # `make models` does all of `ci`
python -m difflab.book.zoo paper --shard I/N  # only the I-th of N disjoint shards: one task of a job array
python -m difflab.book.zoo paper --plan       # what it costs, in seconds on any machine: each model's
                                         # FLOPs, and its hours at a named GPU's peak
python -m difflab.book.zoo paper --plan --time  # ... and a few steps timed on this device
"""

import argparse
import json
import platform
import re

import pandas as pd
import torch

from difflab.book.catalogue import catalogue
from difflab.book.profiles import get_profile
from difflab.book.trained import profile_classifier
from difflab.core import parallel
from difflab.core.data import CHANNELS
from difflab.core.models import parameters_of, training_flops
from difflab.training import store
from difflab.training.loop import TrainConfig, seconds_per_step
from difflab.training.store import manifest_path

# Dense TF32 tensor-core peaks (the vendor's data sheets): training runs float32 with TF32 allowed.
GPUS = {"A100": 156e12, "H100": 495e12}


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
    """The models by their first name: the standard one has two names (its role's label too) and is
    trained once."""
    first = {}
    for name, config in models.items():
        first.setdefault(repr(config), name)
    return {name: models[name] for name in first.values()}


def plan(models: dict[str, TrainConfig], gpu: str = "A100") -> pd.DataFrame:
    """Each distinct model's parameters, training steps, FLOPs a step (models.training_flops) and
    hours at `gpu`'s peak (GPUS): a lower bound, computed in seconds on any machine, since no
    training reaches the peak. Beside it, the time a step took when a model in the cache was
    trained (its manifest; on whatever machine trained it)."""
    if gpu not in GPUS:
        raise ValueError(f"gpu={gpu!r} is unknown; allowed: {', '.join(map(repr, GPUS))}")
    counted, rows = {}, []
    for name, config in distinct(models).items():
        shape = (config.arch, CHANNELS[config.dataset], config.resolution, config.batch_size)
        if shape not in counted:
            counted[shape] = training_flops(*shape)
        rows.append(
            {
                "model": name,
                "network": config.arch,
                "parameters (M)": parameters_of(*shape[:3]) / 1e6,
                "steps": config.steps,
                "batch": config.batch_size,
                "TFLOP / step": counted[shape] / 1e12,
                f"hours at {gpu} peak": config.steps * counted[shape] / GPUS[gpu] / 3600,
                "s / step when trained": _trained_step_time(config),
            }
        )
    return pd.DataFrame(rows).set_index("model")


def timed(
    table: pd.DataFrame,
    models: dict[str, TrainConfig],
    device: str,
    steps: int = 3,
    batch_size: int | None = None,
) -> pd.DataFrame:
    """`plan`'s table with a step timed on `device` once per network and batch
    (`training.seconds_per_step`; `batch_size`: timed at that batch and scaled), and the hours it
    gives."""
    seconds = {}
    for name in table.index:
        config = models[name]
        shape = (config.arch, CHANNELS[config.dataset], config.resolution, config.batch_size)
        if shape not in seconds:
            seconds[shape] = seconds_per_step(config, device, steps, batch_size)
        table.loc[name, "s / step here"] = seconds[shape]
    table["hours here"] = table["steps"] * table["s / step here"] / 3600
    return table


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


def _print_plan(table: pd.DataFrame, gpu: str, device: str | None) -> None:
    print(table.to_string(float_format=lambda v: f"{v:,.2f}", na_rep="-"))
    hours = table[f"hours at {gpu} peak"].sum()
    print(
        f"total: {hours:,.1f} hours at the peak of one {gpu} ({GPUS[gpu] / 1e12:.0f} TFLOP/s, "
        f"TF32 dense) for {len(table)} models, the classifier not included: a lower bound (training "
        f"reaches a fraction of the peak; --time measures steps on this device)"
    )
    if device is not None:
        processes = parallel.summary().get("processes", 1)
        print(
            f"timed here: {table['hours here'].sum():,.1f} hours of {processes} x "
            f"{device_name(device)}"
        )


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
        help="train nothing: print each model's parameters, steps, FLOPs and hours at a GPU's peak",
    )
    parser.add_argument("--gpu", default="A100", choices=sorted(GPUS), help="with --plan")
    parser.add_argument(
        "--time",
        action="store_true",
        help="with --plan: also time a few steps of each network on the profile's device",
    )
    parser.add_argument(
        "--plan-batch",
        type=int,
        help="with --time: time at this batch size and scale "
        "(for a slow device; default: the model's own batch)",
    )
    args = parser.parse_intermixed_args()  # names may follow options
    profile = get_profile(args.profile)
    models = catalogue(profile)
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
    if (args.time or args.plan_batch) and not args.plan:
        parser.error("--time and --plan-batch are allowed only with --plan")
    if args.plan:
        table = plan({name: config for name, config in models.items() if name in names}, args.gpu)
        device = parallel.device(profile.device) if args.time else None
        if device is not None:
            table = timed(table, models, device, batch_size=args.plan_batch)
        if parallel.is_main():
            _print_plan(table, args.gpu, device)
        return
    for name in names:
        config = models[name]
        if parallel.is_main():
            print(f"{name}: {config}", flush=True)
        store.trained_denoiser(
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
