import json
import re

import diffusers
import pytest
import torch

from difflab.book import trained
from difflab.book.catalogue import standard as standard_config
from difflab.book.profiles import get_profile
from difflab.core import models
from difflab.training import checkpoints, keys, loop, store
from difflab.training.loop import TrainConfig, train

TINY = TrainConfig(resolution=8, subset=64, arch="mlp", steps=6, batch_size=16)


def _weights(denoiser):
    return torch.cat([p.detach().flatten() for p in denoiser.net.parameters()])


def test_training_is_deterministic_on_cpu(tmp_path):
    first, summary = train(TINY, tmp_path / "a.pt", progress=False)
    second, _ = train(TINY, tmp_path / "b.pt", progress=False)
    assert torch.equal(_weights(first), _weights(second))
    assert summary["final_loss"] > 0


def test_the_seed_changes_the_weights(tmp_path):
    first, _ = train(TINY, tmp_path / "a.pt", progress=False)
    other, _ = train(
        TrainConfig(**{**TINY.as_dict(), "seed": 1}), tmp_path / "b.pt", progress=False
    )
    assert not torch.equal(_weights(first), _weights(other))


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
    assert torch.equal(_weights(uninterrupted), _weights(resumed))


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


@pytest.mark.parametrize("damage", [lambda b: b[: len(b) // 2], lambda b: b"\xff" * 16 + b[16:]])
def test_a_damaged_weights_file_names_itself_and_the_way_back(tmp_path, damage):
    path = tmp_path / "model.safetensors"
    checkpoints.save_weights(path, {"w": torch.ones(300)}, {"note": "x"})
    path.write_bytes(damage(path.read_bytes()))  # truncated, or its header overwritten
    with pytest.raises(
        ValueError,
        match=rf"the weights file {re.escape(str(path))} is damaged .*git checkout -- .*make models",
    ):
        checkpoints.load_weights(path)


def test_a_damaged_training_state_says_to_start_over(tmp_path):
    path = tmp_path / "train_state.pt"
    checkpoints.save_state(path, {"step": 3, "w": torch.ones(300)})
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(
        ValueError,
        match=rf"the training state {re.escape(str(path))} is damaged .* delete it to train from the start",
    ):
        checkpoints.load_state(path)


def test_until_stops_with_a_checkpoint_that_the_next_call_continues(tmp_path):
    whole, _ = train(TINY, tmp_path / "whole.pt", progress=False)
    train(TINY, tmp_path / "parts.pt", progress=False, until=2)
    assert torch.load(tmp_path / "parts.pt", weights_only=False)["step"] == 2
    parts, _ = train(TINY, tmp_path / "parts.pt", progress=False)
    assert torch.equal(_weights(whole), _weights(parts))
    with pytest.raises(
        ValueError,
        match=r"until=7 is not allowed; allowed: None \(all steps\) or an integer in 1..6",
    ):
        train(TINY, tmp_path / "other.pt", progress=False, until=7)


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    checkpoints.save_weights(path, {"w": torch.ones(3)}, {"note": "first"})

    def broken_save(tensors, filename, metadata):
        open(filename, "wb").write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints, "save_file", broken_save)
    with pytest.raises(OSError):
        checkpoints.save_weights(path, {"w": torch.zeros(3)}, {"note": "second"})
    state, metadata = checkpoints.load_weights(path)
    assert torch.equal(state["w"], torch.ones(3)) and metadata == {"note": "first"}


def test_cache_trains_once_then_loads(tmp_data, monkeypatch):
    calls = []
    real_train = store.train
    monkeypatch.setattr(store, "train", lambda *a, **k: calls.append(1) or real_train(*a, **k))
    first = store.trained_denoiser(TINY, "cpu", progress=False, allow_training=True)
    store._loaded.clear()  # as in a new process
    second = store.trained_denoiser(TINY, "cpu", progress=False)
    assert len(calls) == 1 and torch.equal(_weights(first), _weights(second))
    folder = store.model_dir(TINY)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["key"] == store.config_key(TINY) and manifest["config"] == TINY.as_dict()
    assert {"final_loss", "wall_time_s", "command", "steps", "parameters"} <= set(manifest)
    assert not (folder / "train_state.pt").exists()


@pytest.mark.parametrize(
    "field, value",
    [
        ("dataset", "cifar10"),
        ("resolution", 16),
        ("subset", 128),
        ("subset_part", 1),
        ("subset_seed", 1),
        ("arch", "unet-s"),
        ("objective", "v"),
        ("objective", "edm"),
        ("snapshots", (2,)),
        ("steps", 7),
        ("batch_size", 8),
        ("lr", 1e-4),
        ("ema_decay", 0.99),
        ("grad_clip", 0.5),
        ("seed", 1),
    ],
)
def test_every_config_field_changes_the_key(field, value):
    assert store.config_key(TrainConfig(**{**TINY.as_dict(), field: value})) != store.config_key(
        TINY
    )


def test_the_training_revision_changes_the_key(monkeypatch):
    before = store.config_key(TINY)
    monkeypatch.setattr(keys, "TRAINING_REVISION", keys.TRAINING_REVISION + 1)
    assert store.config_key(TINY) != before


def test_a_network_revision_misses_the_cache_only_for_that_architecture(monkeypatch):
    """Changing one architecture must not retrain the models of the others."""
    unet = TrainConfig(**{**TINY.as_dict(), "arch": "unet-s"})
    before = {"mlp": store.config_key(TINY), "unet": store.config_key(unet)}
    monkeypatch.setitem(keys.NETWORK_REVISIONS, "mlp", keys.NETWORK_REVISIONS["mlp"] + 1)
    assert store.config_key(TINY) != before["mlp"] and store.config_key(unet) == before["unet"]


def test_the_key_depends_on_nothing_but_the_config_and_the_revisions(monkeypatch):
    """No package version, source text or random stream: the key of a committed model is the same
    with every release of torch and diffusers (tests/test_keys.py: and under every Python)."""
    before = store.config_key(TINY)
    monkeypatch.setattr(torch, "__version__", "9.9.9")
    monkeypatch.setattr(diffusers, "__version__", "9.9.9")
    monkeypatch.setitem(
        models.ARCHITECTURES, "mlp", lambda c, r: models.MLPBackbone((c, r, r), width=128)
    )
    torch.manual_seed(0)
    assert store.config_key(TINY) == before
    after_key = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(after_key, torch.rand(3))


def test_a_missing_model_is_an_error_that_says_how_to_train_it(tmp_data, monkeypatch):
    """Never a silent retrain (hours on a Colab CPU): the error names the model and the command."""
    monkeypatch.delenv("DIFFLAB_TRAIN", raising=False)
    monkeypatch.setattr(
        store, "train", lambda *a, **k: pytest.fail("trained without being asked to")
    )
    standard = standard_config(get_profile("ci"))
    stale = tmp_data / "models" / "unet-s-0123456789abcdef"
    stale.mkdir(parents=True)
    (stale / "manifest.json").write_text(json.dumps({"config": standard.as_dict()}))
    with pytest.raises(
        store.NotTrainedError,
        match=(
            r"The unet-s model of \{.*\} is not in the model cache: .*unet-s-\w+ is missing\. "
            r"A model of the same config is cached as unet-s-0123456789abcdef, under another key: the revision "
            r"of the training code or of the network here \(difflab.training.keys\) differs .* "
            r"Train it with `python -m difflab.book.zoo ci 'standard'`.* DIFFLAB_TRAIN=1"
        ),
    ):
        trained.get_denoiser(standard, "cpu")
    monkeypatch.setenv("DIFFLAB_TRAIN", "0")
    with pytest.raises(
        store.NotTrainedError, match=r"difflab.get_denoiser\(config, allow_training=True\)"
    ):
        store.trained_denoiser(TINY, "cpu")  # not a zoo model


def test_opting_in_trains(tmp_data, monkeypatch):
    monkeypatch.setenv("DIFFLAB_TRAIN", "1")
    store.trained_denoiser(TINY, "cpu", progress=False)
    assert (store.model_dir(TINY) / "model.safetensors").exists()
    store._loaded.clear()
    monkeypatch.delenv("DIFFLAB_TRAIN")
    store.trained_denoiser(TINY, "cpu")  # cached now: no opt-in needed


def test_a_new_training_revision_misses_the_cache(tmp_data, monkeypatch):
    store.trained_denoiser(TINY, "cpu", progress=False, allow_training=True)
    monkeypatch.setattr(keys, "TRAINING_REVISION", keys.TRAINING_REVISION + 1)
    assert not (store.model_dir(TINY) / "model.safetensors").exists()


def test_loading_weights_of_another_config_is_refused(tmp_data):
    store.trained_denoiser(TINY, "cpu", progress=False, allow_training=True)
    weights = store.model_dir(TINY) / "model.safetensors"
    with pytest.raises(ValueError, match="does not match its config"):
        store.load_denoiser(weights, TrainConfig(**{**TINY.as_dict(), "seed": 5}))


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


def test_snapshots_keep_the_ema_weights_along_training(tmp_data):
    config = TrainConfig(**{**TINY.as_dict(), "steps": 8, "snapshots": (2, 5)})
    final = store.trained_denoiser(config, "cpu", progress=False, allow_training=True)
    early, middle = (
        store.trained_snapshot(config, 2, "cpu"),
        store.trained_snapshot(config, 5, "cpu"),
    )
    assert not torch.equal(_weights(early), _weights(middle))
    assert not torch.equal(_weights(middle), _weights(final))
    with pytest.raises(ValueError, match="step=3 is not a snapshot"):
        store.trained_snapshot(config, 3)
    with pytest.raises(ValueError, match="snapshots=\\(9,\\) is not allowed"):
        TrainConfig(**{**TINY.as_dict(), "snapshots": (9,)})


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
