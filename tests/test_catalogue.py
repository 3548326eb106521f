"""The catalogue: each experiment changes one thing at a time, every model has one role."""

from dataclasses import asdict

import pytest
import torch

from difflab.book import trained
from difflab.book.catalogue import (
    Role,
    catalogue,
    dip_sweep,
    disjoint_pairs,
    fine_tuning_models,
    fine_tuning_parent,
    labelled,
    memorization_sweep,
    reproducibility_models,
)
from difflab.book.profiles import get_profile
from difflab.core.models import ARCHITECTURES
from difflab.training.loop import training_images


def _differences(a, b) -> set[str]:
    return {k for k, v in asdict(a).items() if asdict(b)[k] != v}


@pytest.mark.parametrize("profile", ["ci", "paper"])
def test_reproducibility_models_each_change_one_thing(profile):
    models = reproducibility_models(get_profile(profile))
    base = models[Role.STANDARD]
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


def test_the_catalogue_names_every_model_once_by_its_roles_label():
    models = catalogue(get_profile("ci"))
    configs = list(models.values())
    assert models["standard"] == models[Role.STANDARD.label]
    assert len({repr(c) for c in configs}) == len(configs) - 1
    roles = [role for role in Role if role.label in models]
    assert len({role.label for role in Role}) == len(Role)  # one label a role
    assert set(Role) - set(roles) == {Role.PARENT}  # the parent is a sweep model


def test_a_table_shows_roles_by_their_labels():
    assert labelled({Role.DIT: 1, Role.RESNET: 2}) == {Role.DIT.label: 1, Role.RESNET.label: 2}
    tuning = fine_tuning_models(get_profile("ci"))
    assert tuning[Role.FINE_TUNED].parent == fine_tuning_parent(get_profile("ci"))


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


def test_the_model_table_reads_each_models_card_from_its_manifest():
    profile = get_profile("ci")
    configs = dict(list(memorization_sweep(profile).items())[:2])
    cards = trained.model_table(configs, "cpu")
    assert list(cards.index) == list(configs)
    (arch, n), config = next(iter(configs.items()))
    record = trained.manifest(config, "cpu")
    assert cards.loc[(arch, n), "images"] == n and cards.loc[(arch, n), "architecture"] == arch
    assert cards.loc[(arch, n), "epochs"] == round(config.steps * config.batch_size / n)
    assert cards.loc[(arch, n), "final loss"] == round(record["final_loss"], 4)
    roles = {Role.DIT: reproducibility_models(profile)[Role.DIT]}
    assert list(trained.model_table(roles, "cpu").index) == [Role.DIT.label]
