import pytest
import torch

from difflab.book.profiles import get_profile


def test_overrides_and_defaults():
    p = get_profile("ci", n_samples=16, train_steps=None)
    assert p.n_samples == 16 and p.train_steps == get_profile("ci").train_steps
    assert p.device == "cpu" and p.dataset == "fashion_mnist" and p.resolution == 16


def test_chapter_knobs_live_in_the_profile():
    """A chapter's parameters cell passes None for the profile's count, or the reader's own."""
    assert (
        get_profile("ci", clones=None).clones == 250 and get_profile("ci", clones=100).clones == 100
    )
    assert get_profile("paper").late_table_fid_samples == 50_000


def test_paper_profile_names_the_gpu_and_the_cpu_only_when_asked(monkeypatch):
    """No silent move to the CPU (days of training): without a GPU, its first model is refused
    (tests/test_devices.py) unless DIFFLAB_DEVICE=cpu asks for the CPU."""
    monkeypatch.delenv("DIFFLAB_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    p = get_profile("paper")
    assert p.dataset == "cifar10" and p.resolution == 32 and p.device == "cuda"
    monkeypatch.setenv("DIFFLAB_DEVICE", "cpu")
    assert get_profile("paper").device == "cpu"


@pytest.mark.parametrize("gpu", [False, True])
def test_auto_is_the_ci_scale_on_the_best_device(gpu, monkeypatch):
    """On a Colab GPU `auto` must not start the paper's days of training."""
    monkeypatch.delenv("DIFFLAB_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "a GPU")
    p = get_profile("auto")
    assert p.name == "ci" and p.device == ("cuda" if gpu else "cpu")
    assert p.train_steps == get_profile("ci").train_steps and p.dataset == "fashion_mnist"
    assert get_profile("auto", device="cpu").device == "cpu"  # an explicit device wins


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: get_profile("fast"), "profile='fast' is unknown; allowed: 'auto', 'ci', 'paper'"),
        (lambda: get_profile("ci", samples=3), r"unknown profile knob\(s\) \['samples'\]"),
        (lambda: get_profile("ci", clones=0), r"clones=0 is not allowed; allowed: an integer >= 1"),
        (
            lambda: get_profile("ci", n_samples=2.5),
            r"n_samples=2.5 is not allowed; allowed: an integer >= 1",
        ),
    ],
)
def test_bad_profile_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "knobs, message",
    [
        (dict(standard_arch="unet-l"), r"standard_arch='unet-l' is unknown; allowed: 'unet-xs'"),
        (dict(sweep_archs=("unet-xs", "big")), r"sweep_archs\[1\]='big' is unknown"),
        (
            dict(standard_arch="unet-m"),
            r"standard_arch='unet-m' has no class-conditional twin 'unet-m-class'; "
            r"allowed: 'unet-s', 'dit-s', 'ddpm'",
        ),
    ],
)
def test_bad_architectures_are_named(knobs, message):
    with pytest.raises(ValueError, match=message):
        get_profile("ci", **knobs)


def test_the_smoke_profile_is_the_paper_profile_at_a_toy_scale():
    smoke, paper = get_profile("smoke"), get_profile("paper")
    assert (
        smoke.device == "cpu"
        and smoke.dataset == "toy_rgb"
        and smoke.n_samples < 20
        and smoke.train_steps < 100
    )
    assert (
        smoke.sample_steps == get_profile("ci").sample_steps
    )  # chapter 7's checks pick steps of 25
    assert set(smoke.dip_sizes) <= set(smoke.sweep_sizes) and len(smoke.sweep_archs) == len(
        paper.sweep_archs
    )


def test_a_profile_describes_itself_in_a_sentence():
    text = get_profile("ci").describe()
    assert text.startswith("Profile `ci` on cpu")
    assert "Fashion-MNIST at 16x16 pixels" in text and "4,000 steps in batches of 128" in text
    assert "Profile(" not in text and "made-up RGB images" in get_profile("smoke").describe()
