import pytest

from difflab.profiles import get_profile


def test_overrides_and_defaults():
    p = get_profile("ci", n_samples=16, train_steps=None)
    assert p.n_samples == 16 and p.train_steps == get_profile("ci").train_steps
    assert p.device == "cpu" and p.dataset == "fashion_mnist" and p.resolution == 16


def test_paper_profile_falls_back_to_cpu_without_gpu():
    p = get_profile("paper")
    assert p.dataset == "cifar10" and p.resolution == 32 and p.device in ("cpu", "cuda")


def test_auto_picks_by_device():
    import torch
    assert get_profile("auto").name == ("paper" if torch.cuda.is_available() else "ci")


@pytest.mark.parametrize("call, message", [
    (lambda: get_profile("fast"), "profile='fast' is unknown; allowed: 'auto', 'ci', 'paper'"),
    (lambda: get_profile("ci", samples=3), r"unknown profile knob\(s\) \['samples'\]"),
])
def test_bad_profile_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
