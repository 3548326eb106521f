"""The model store (difflab.training.store): a model is trained once, found by its key (the config and
the revisions, nothing else), and a missing one is an error that says how to train it."""

import json

import diffusers
import pytest
import torch
from tiny_training import TINY, weights

from difflab.book import trained
from difflab.book.catalogue import standard as standard_config
from difflab.book.profiles import get_profile
from difflab.core import models
from difflab.training import keys, store
from difflab.training.loop import TrainConfig


def test_cache_trains_once_then_loads(tmp_data, monkeypatch):
    calls = []
    real_train = store.train
    monkeypatch.setattr(store, "train", lambda *a, **k: calls.append(1) or real_train(*a, **k))
    first = store.trained_denoiser(TINY, "cpu", progress=False, allow_training=True)
    store._loaded.clear()  # as in a new process
    second = store.trained_denoiser(TINY, "cpu", progress=False)
    assert len(calls) == 1 and torch.equal(weights(first), weights(second))
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


def test_snapshots_keep_the_ema_weights_along_training(tmp_data):
    config = TrainConfig(**{**TINY.as_dict(), "steps": 8, "snapshots": (2, 5)})
    final = store.trained_denoiser(config, "cpu", progress=False, allow_training=True)
    early, middle = (
        store.trained_snapshot(config, 2, "cpu"),
        store.trained_snapshot(config, 5, "cpu"),
    )
    assert not torch.equal(weights(early), weights(middle))
    assert not torch.equal(weights(middle), weights(final))
    with pytest.raises(ValueError, match="step=3 is not a snapshot"):
        store.trained_snapshot(config, 3)
    with pytest.raises(ValueError, match="snapshots=\\(9,\\) is not allowed"):
        TrainConfig(**{**TINY.as_dict(), "snapshots": (9,)})
