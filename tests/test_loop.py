"""The training loop (difflab.training.loop): deterministic, resumable to the same weights, refusing
a bad config by name, and timed for the plan."""

import pytest
import torch
from tiny_training import TINY, weights

from difflab.training import loop
from difflab.training.loop import TrainConfig, train


def test_training_is_deterministic_on_cpu(tmp_path):
    first, summary = train(TINY, tmp_path / "a.pt", progress=False)
    second, _ = train(TINY, tmp_path / "b.pt", progress=False)
    assert torch.equal(weights(first), weights(second))
    assert summary["final_loss"] > 0


def test_the_seed_changes_the_weights(tmp_path):
    first, _ = train(TINY, tmp_path / "a.pt", progress=False)
    other, _ = train(
        TrainConfig(**{**TINY.as_dict(), "seed": 1}), tmp_path / "b.pt", progress=False
    )
    assert not torch.equal(weights(first), weights(other))


@pytest.mark.parametrize(
    "arch, objective",
    [("mlp", "v"), ("mlp", "x0"), ("mlp", "edm"), ("dit-s", "eps"), ("resnet", "eps")],
)
def test_resume_after_a_crash_gives_the_same_weights(tmp_path, monkeypatch, arch, objective):
    config = TrainConfig(**{**TINY.as_dict(), "arch": arch, "objective": objective})
    uninterrupted, _ = train(config, tmp_path / "full.pt", progress=False, checkpoint_every=3)

    real_save = loop.save_state

    def save_then_crash(path, state):
        real_save(path, state)
        raise KeyboardInterrupt("simulated crash after the first checkpoint")

    monkeypatch.setattr(loop, "save_state", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "crashed.pt", progress=False, checkpoint_every=3)
    monkeypatch.setattr(loop, "save_state", real_save)
    assert torch.load(tmp_path / "crashed.pt", weights_only=False)["step"] == 3
    resumed, _ = train(config, tmp_path / "crashed.pt", progress=False, checkpoint_every=3)
    assert torch.equal(weights(uninterrupted), weights(resumed))


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path):
    train(TINY, tmp_path / "state.pt", progress=False)
    with pytest.raises(ValueError, match="was written for config"):
        train(TrainConfig(**{**TINY.as_dict(), "lr": 1e-4}), tmp_path / "state.pt", progress=False)


def test_training_reduces_the_loss(tmp_path):
    """A quick honest check that the loop learns: 300 steps of the MLP on 8x8 images."""
    _, short = train(
        TrainConfig(**{**TINY.as_dict(), "steps": 20}), tmp_path / "a.pt", progress=False
    )
    _, longer = train(
        TrainConfig(**{**TINY.as_dict(), "steps": 300}), tmp_path / "b.pt", progress=False
    )
    assert longer["final_loss"] < 0.8 * short["final_loss"]


def test_subset_parts_are_disjoint_data():
    a = loop.training_images(TrainConfig(resolution=8, subset=100, subset_part=0))
    b = loop.training_images(TrainConfig(resolution=8, subset=100, subset_part=1))
    assert torch.cdist(a.flatten(1), b.flatten(1)).min() > 0


@pytest.mark.parametrize(
    "change, message",
    [
        (
            dict(dataset="imagenet"),
            "dataset='imagenet' is unknown; allowed: 'fashion_mnist', 'cifar10'",
        ),
        (
            dict(arch="vit"),
            "arch='vit' is unknown; allowed: 'unet-xs', 'unet-s', 'unet-m', 'dit-s', 'resnet', 'mlp'",
        ),
        (dict(objective="score"), "objective='score' is unknown"),
        (dict(steps=0), "steps=0 is not allowed; allowed: integers >= 1"),
        (dict(subset=0), "subset=0 is not allowed"),
        (dict(lr=-1e-3), r"lr=-0.001 is not allowed; allowed: a number > 0"),
        (dict(lr=float("nan")), r"lr=nan is not allowed"),
        (dict(ema_decay=1.0), r"ema_decay=1.0 is not allowed; allowed: a number in \[0, 1\)"),
        (dict(grad_clip=0), "grad_clip=0 is not allowed"),
        (dict(seed=-1), "seed=-1 is not allowed; allowed: integers >= 0"),
    ],
)
def test_bad_config_names_the_parameter(change, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{**TINY.as_dict(), **change})


def test_until_stops_with_a_checkpoint_that_the_next_call_continues(tmp_path):
    whole, _ = train(TINY, tmp_path / "whole.pt", progress=False)
    train(TINY, tmp_path / "parts.pt", progress=False, until=2)
    assert torch.load(tmp_path / "parts.pt", weights_only=False)["step"] == 2
    parts, _ = train(TINY, tmp_path / "parts.pt", progress=False)
    assert torch.equal(weights(whole), weights(parts))
    with pytest.raises(
        ValueError,
        match=r"until=7 is not allowed; allowed: None \(all steps\) or an integer in 1..6",
    ):
        train(TINY, tmp_path / "other.pt", progress=False, until=7)


def test_edm_model_learns_and_denoises_in_vp_time(tmp_path):
    """The variance-exploding EDM model is used through the same interface as the VP ones."""
    config = TrainConfig(**{**TINY.as_dict(), "objective": "edm", "steps": 300})
    denoiser, summary = train(config, tmp_path / "s.pt", progress=False)
    images = loop.training_images(config)
    t = torch.full((len(images),), 300)
    a, s = denoiser.coefficients(t, images)
    x_t = a * images + s * torch.randn(images.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        error = (denoiser.x0(x_t, t) - images).pow(2).mean()
        baseline = (x_t / a - images).pow(2).mean()  # no denoising at all
    assert error < 0.5 * baseline


def test_a_step_is_timed_on_random_images_at_any_batch():
    config = TrainConfig(resolution=8, arch="unet-s-class", label_dropout=0.1, batch_size=64)
    assert 0 < loop.seconds_per_step(config, steps=1, batch_size=4) < 5
    with pytest.raises(ValueError, match="steps=0 is not allowed; allowed: an integer >= 1"):
        loop.seconds_per_step(config, steps=0)


def test_a_training_run_describes_itself_in_a_sentence():
    config = loop.TrainConfig(subset=64, only_class=7, seed=1)
    text = config.describe(12_345)
    assert text.startswith("A `unet-s` network (12,345 parameters) trained with the eps objective")
    assert "on 64 images of class 7 of Fashion-MNIST at 16x16" in text
    assert "4,000 steps in batches of 128" in text and text.endswith("seed 1.")
    assert "the whole training set" in loop.TrainConfig().describe(1)
