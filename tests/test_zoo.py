"""The book's named models: each experiment changes one thing at a time."""

import math
import subprocess
import sys
from dataclasses import asdict, replace

import pytest
import torch

from difflab.book import zoo as zoo_module  # the module, not the function difflab.zoo
from difflab.book.profiles import get_profile
from difflab.book.zoo import (
    dip_sweep,
    disjoint_pairs,
    memorization_sweep,
    parse_shard,
    plan,
    reproducibility_models,
    shard,
    standard,
    zoo,
)
from difflab.core.models import ARCHITECTURES, parameters_of
from difflab.training.loop import training_images


def _differences(a, b) -> set[str]:
    return {k for k, v in asdict(a).items() if asdict(b)[k] != v}


@pytest.mark.parametrize("profile", ["ci", "paper"])
def test_reproducibility_models_each_change_one_thing(profile):
    models = reproducibility_models(get_profile(profile))
    base = models["U-Net S"]
    for name, config in models.items():
        assert len(_differences(config, base) - {"snapshots"}) <= 1, name


@pytest.mark.parametrize("profile", ["ci", "paper"])
def test_the_sweep_changes_only_size_and_width(profile):
    settings = get_profile(profile)
    sweep = memorization_sweep(settings)
    assert len(sweep) == len(settings.sweep_sizes) * len(settings.sweep_archs)
    first = next(iter(sweep.values()))
    for (arch, n), config in sweep.items():
        assert config.subset == n and config.arch == arch
        assert _differences(config, first) <= {"subset", "arch"}


def test_sweep_subsets_are_nested_and_disjoint_pairs_are_disjoint():
    settings = get_profile("ci")
    sweep = memorization_sweep(settings)
    arch = settings.sweep_archs[0]
    small, large = (training_images(sweep[arch, n]) for n in settings.sweep_sizes[:2])
    assert torch.equal(large[: len(small)], small)
    for n, (first, second) in disjoint_pairs(settings).items():
        assert first == sweep[arch, n] and _differences(first, second) == {"subset_part"}
        a, b = training_images(first), training_images(second)
        assert len(a) == len(b) == n
        if n <= 1024:  # (the pixel check is quadratic in n)
            assert torch.cdist(a.flatten(1), b.flatten(1)).min() > 0


def test_zoo_names_every_model_once():
    models = zoo(get_profile("ci"))
    configs = list(models.values())
    assert models["standard"] == models["U-Net S"]
    assert len({repr(c) for c in configs}) == len(configs) - 1


def test_the_dip_width_trains_like_the_sweep_at_sizes_inside_it():
    settings = get_profile("ci")
    sweep, small = memorization_sweep(settings), settings.sweep_archs[0]
    base_channels = lambda arch: (
        next(
            m for m in ARCHITECTURES[arch](1, 16).modules() if isinstance(m, torch.nn.Conv2d)
        ).out_channels
    )
    assert base_channels(settings.dip_arch) == 4 * base_channels(small)
    for (arch, n), config in dip_sweep(settings).items():
        assert n in settings.sweep_sizes and config.arch == arch == settings.dip_arch
        assert _differences(config, sweep[small, n]) == {"arch"}


@pytest.mark.parametrize("profile,count", [("ci", 1), ("ci", 4), ("paper", 8), ("paper", 60)])
def test_shards_train_every_model_once_and_a_fine_tuned_one_after_its_parent(profile, count):
    models = zoo(get_profile(profile))
    tasks = [shard(models, index, count) for index in range(1, count + 1)]
    names = [name for task in tasks for name in task]
    assert sorted({repr(models[name]) for name in names}) == sorted(
        {repr(c) for c in models.values()}
    )
    assert len(names) == len({repr(models[name]) for name in names})  # "standard" is "U-Net S"
    for task in tasks:
        for position, name in enumerate(task):
            parent = models[name].parent
            if parent is not None:  # its parent earlier, same task
                assert any(repr(models[other]) == repr(parent) for other in task[:position])
    steps = sorted(sum(models[name].steps for name in task) for task in tasks)
    largest_family = max(
        sum(models[n].steps for n in names if repr(models[n]) == repr(c) or models[n].parent == c)
        for c in models.values()
    )
    assert steps[-1] - steps[0] <= largest_family  # dealt largest first: loads within one family


@pytest.mark.parametrize("text", ["0/4", "5/4", "2", "a/b", "1/0", "-1/3"])
def test_a_bad_shard_is_named(text):
    with pytest.raises(ValueError, match=f"--shard={text!r} is not allowed; allowed: I/N"):
        parse_shard(text)
    assert parse_shard("3/8") == (3, 8)


def test_the_plan_times_each_network_once_and_multiplies_by_the_steps(monkeypatch):
    timed = []
    monkeypatch.setattr(
        zoo_module,
        "seconds_per_step",
        lambda config, device, steps, batch_size: timed.append(config.arch) or 0.5,
    )
    base = standard(get_profile("ci"))
    models = {
        "a": base,
        "same as a": base,
        "a, seed 1": replace(base, seed=1),
        "wider": replace(base, arch="unet-m", steps=36_000, snapshots=()),
    }
    table = plan(models, "cpu")
    assert list(table.index) == ["a", "a, seed 1", "wider"] and timed == ["unet-s", "unet-m"]
    assert table.loc["wider", "hours"] == 36_000 * 0.5 / 3600
    assert table.loc["wider", "parameters (M)"] == parameters_of("unet-m", 1, 16) / 1e6
    trained = table["s / step when trained"]  # the committed standard model's manifest
    assert 0 < trained["a"] < 1 and math.isnan(trained["wider"])  # never trained


def test_the_plan_command_prints_the_cost_of_the_named_models():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "difflab.book.zoo",
            "ci",
            "--plan",
            "--plan-batch",
            "8",
            "DiT",
            "sweep unet-xs n=16",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = out.splitlines()
    assert (
        lines[0].split()[:3] == ["network", "parameters", "(M)"]
        and "s / step when trained" in lines[0]
    )
    assert [line.split()[0] for line in lines[2:4]] == ["DiT", "sweep"]
    assert (
        lines[-1].startswith("total: ")
        and "hours of 1 x " in lines[-1]
        and "for 2 models" in lines[-1]
    )


def test_the_model_table_reads_each_models_card_from_its_manifest():
    profile = get_profile("ci")
    configs = dict(list(memorization_sweep(profile).items())[:2])
    cards = zoo_module.model_table(configs, "cpu")
    assert list(cards.index) == list(configs)
    (arch, n), config = next(iter(configs.items()))
    record = zoo_module.manifest(config, "cpu")
    assert cards.loc[(arch, n), "images"] == n and cards.loc[(arch, n), "architecture"] == arch
    assert cards.loc[(arch, n), "epochs"] == round(config.steps * config.batch_size / n)
    assert cards.loc[(arch, n), "final loss"] == round(record["final_loss"], 4)
