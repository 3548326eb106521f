"""The zoo's command line: shards of the catalogue, and its cost before training it."""

import math
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from difflab.book import zoo
from difflab.book.catalogue import Role, catalogue, standard
from difflab.book.profiles import get_profile
from difflab.book.zoo import parse_shard, plan, shard
from difflab.core.models import parameters_of, training_flops


@pytest.mark.parametrize("profile,count", [("ci", 1), ("ci", 4), ("paper", 8), ("paper", 60)])
def test_shards_train_every_model_once_and_a_fine_tuned_one_after_its_parent(profile, count):
    models = catalogue(get_profile(profile))
    tasks = [shard(models, index, count) for index in range(1, count + 1)]
    names = [name for task in tasks for name in task]
    assert sorted({repr(models[name]) for name in names}) == sorted(
        {repr(c) for c in models.values()}
    )
    assert len(names) == len(
        {repr(models[name]) for name in names}
    )  # "standard" is the standard role
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


def test_the_plan_counts_each_network_once_and_multiplies_by_the_steps(monkeypatch):
    counted = []
    monkeypatch.setattr(zoo, "training_flops", lambda arch, *shape: counted.append(arch) or 3.6e12)
    base = standard(get_profile("ci"))
    models = {
        "a": base,
        "same as a": base,
        "a, seed 1": replace(base, seed=1),
        "wider": replace(base, arch="unet-m", steps=36_000, snapshots=()),
    }
    table = plan(models, "A100")
    assert list(table.index) == ["a", "a, seed 1", "wider"] and counted == ["unet-s", "unet-m"]
    assert table.loc["wider", "hours at A100 peak"] == pytest.approx(
        36_000 * 3.6e12 / 156e12 / 3600
    )
    assert table.loc["wider", "parameters (M)"] == parameters_of("unet-m", 1, 16) / 1e6
    trained = table["s / step when trained"]  # the committed standard model's manifest
    assert 0 < trained["a"] < 1 and math.isnan(trained["wider"])  # never trained
    with pytest.raises(ValueError, match=r"gpu='V100' is unknown; allowed: 'A100', 'H100'"):
        plan(models, "V100")


def test_a_training_step_costs_three_forward_passes_of_the_network():
    # DDPM's CIFAR-10 network: 6.1 GMAC a forward pass of one image (Ho et al.'s count),
    # x 2 FLOP a MAC, x 3 with the backward pass, x 128 images
    assert training_flops("ddpm", 3, 32, 128) == pytest.approx(6.1e9 * 2 * 3 * 128, rel=0.05)
    assert training_flops("unet-s", 1, 16, 8) == pytest.approx(
        training_flops("unet-s", 1, 16, 4) * 2
    )


def _zoo(*args: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-m", "difflab.book.zoo", *args],
        capture_output=True,
        text=True,
        check=True,
        env={**__import__("os").environ, **env},
    )


def test_the_paper_plan_answers_in_seconds_without_a_gpu():
    start = time.perf_counter()
    run = _zoo("paper", "--plan", DIFFLAB_DEVICE="cpu")
    assert time.perf_counter() - start < 60 and not run.stderr  # no runpy warning
    lines = run.stdout.splitlines()
    assert "TFLOP / step" in lines[1] and "hours at A100 peak" in lines[1]
    assert lines[-1].startswith("total: ") and "at the peak of one A100" in lines[-1]


def test_the_plan_command_times_the_named_models_when_asked(monkeypatch, capsys):
    argv = [
        "zoo",
        "ci",
        "--plan",
        "--time",
        "--plan-batch",
        "8",
        Role.DIT.label,
        "sweep unet-xs n=16",
    ]
    monkeypatch.setattr(sys, "argv", argv)
    zoo.main()
    lines = capsys.readouterr().out.splitlines()
    assert "s / step when trained" in lines[0] and "hours here" in "".join(lines[:2])
    assert [line.split()[0] for line in lines[2:4]] == [Role.DIT.label.split()[0], "sweep"]
    assert "for 2 models" in lines[-2] and lines[-1].startswith("timed here: ")
    assert "hours of 1 x " in lines[-1]


def test_the_timing_options_need_the_plan(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["zoo", "ci", "--time"])
    with pytest.raises(SystemExit):
        zoo.main()
    assert "--time and --plan-batch are allowed only with --plan" in capsys.readouterr().err
