import pytest
import torch

from difflab.book.catalogue import catalogue
from difflab.book.papers import NETWORK_PARAMETERS
from difflab.book.profiles import get_profile
from difflab.core.models import ARCHITECTURES, CONDITIONAL, build_network, parameters_of


@pytest.mark.parametrize("arch", sorted(NETWORK_PARAMETERS))
def test_paper_scale_networks_have_the_papers_parameter_counts(arch):
    """CIFAR-10 at 32x32: within 6% of the papers' (our DDPM++ lacks its skip scaling and filters)."""
    assert parameters_of(arch, 3, 32) == pytest.approx(NETWORK_PARAMETERS[arch], rel=0.06)


def test_the_paper_profile_trains_the_papers_networks_and_ci_keeps_its_own():
    paper = {config.arch for config in catalogue(get_profile("paper")).values()}
    assert {"ddpm", "ddpm-class", "ddpmpp-64", "ddpmpp-128", "ddpmpp-256"} <= paper
    ci = {config.arch for config in catalogue(get_profile("ci")).values()}
    assert not ci & {"ddpm", "ddpm-class", *NETWORK_PARAMETERS}


@pytest.mark.parametrize("arch", ["ddpm", "ddpm-class", "ddpmpp-64"])
def test_paper_scale_networks_run_at_32x32_with_dropout_in_training_only(arch):
    torch.manual_seed(0)
    net = build_network(arch, 3, 32)
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([10, 500])
    call = (
        (lambda: net(x, t, torch.tensor([1, 10]))) if arch in CONDITIONAL else (lambda: net(x, t))
    )
    with torch.no_grad():
        net.eval()
        assert call().shape == x.shape and torch.equal(call(), call())
        net.train()
        assert not torch.equal(call(), call())  # dropout 0.1 / 0.13, as the papers trained


def test_every_architecture_counts_its_parameters_without_building_weights():
    for arch in ARCHITECTURES:
        assert parameters_of(arch, 1, 16) > 0
