"""The model cache: a chapter asks for a model by its TrainConfig and gets it trained once.

A model's folder is named by its key (difflab.training.keys): a hash of the full config, the training
code's revision and its network's revision, so changing any of them misses the cache and retrains
instead of loading stale weights, while a refactor that keeps the behaviour keeps the key, on any
Python and with any release of torch or diffusers. Changing one architecture keeps the key of the others.
"""

import contextlib
import json
import os
import platform
from collections.abc import Callable
from pathlib import Path

import diffusers
import torch

from difflab.core import parallel, runtime
from difflab.core.data import CHANNELS
from difflab.core.denoisers import NetDenoiser
from difflab.core.devices import checked, default_device
from difflab.core.models import build_network, count_parameters
from difflab.core.paths import data_dir
from difflab.training import keys
from difflab.training.checkpoints import load_weights, save_json, save_weights
from difflab.training.loop import TrainConfig, snapshot_path, train

_loaded: dict[tuple[Path, str], NetDenoiser] = {}


def config_key(config: TrainConfig) -> str:
    return keys.model_key(config.as_dict())


def model_dir(config: TrainConfig) -> Path:
    return data_dir() / "models" / f"{config.arch}-{config_key(config)}"


def manifest_path(config: TrainConfig) -> Path:
    """Where a trained model's manifest is (or will be): parameters, loss, training time, machine."""
    return model_dir(config) / "manifest.json"


def load_denoiser(path: Path, config: TrainConfig, device: str = "cpu") -> NetDenoiser:
    """The weights at `path`, after checking they were trained for `config` (the folder's name,
    the key, says by which revision of the training code)."""
    return _denoiser(config, checked_weights(path, config.as_dict()), device)


def checked_weights(path: Path, config: dict) -> dict[str, torch.Tensor]:
    """The state dict at `path`, after checking that its metadata names `config`."""
    state, metadata = load_weights(path)
    if metadata.get("config") != config:
        raise ValueError(
            f"checkpoint {path} does not match its config: it was trained for "
            f"{json.dumps(metadata.get('config'))}, not {json.dumps(config)}"
        )
    return state


def _denoiser(config: TrainConfig, state: dict, device: str) -> NetDenoiser:
    """The network of `config` with `state`, as one denoiser wholly on `device`."""
    device = checked(device)
    net = build_network(config.arch, CHANNELS[config.dataset], config.resolution)
    net.load_state_dict(state)
    fast = (
        device == "cpu" and config.arch in runtime.ONNX_ARCHITECTURES
    )  # ONNX Runtime for sampling
    return NetDenoiser(
        net.eval(),
        config.objective,
        runtime=fast,
        sample_shape=(CHANNELS[config.dataset], config.resolution, config.resolution),
        conditional=config.label_dropout is not None,
    ).to(device)


Command = str | Callable[[], str] | None
GENERIC_COMMAND = "difflab.get_denoiser(config, allow_training=True)"


def _command(command: Command) -> str:
    """The command that trains a missing model: as given, found now, or the generic call."""
    return (command() if callable(command) else command) or GENERIC_COMMAND


class NotTrainedError(RuntimeError):
    """A model is not in the cache and training was not asked for."""


def training_allowed(allow_training: bool | None = None) -> bool:
    """`allow_training` if given, else whether the reader opted in with DIFFLAB_TRAIN=1."""
    if allow_training is not None:
        return allow_training
    return os.environ.get("DIFFLAB_TRAIN", "0") not in ("", "0")


def require_training(
    what: str, config_dict: dict, folder: Path, command: str, allow_training: bool | None
) -> None:
    """Refuse to train `what` silently: say which model is missing, why, and how to make it."""
    if training_allowed(allow_training):
        return
    stale = [
        m.parent.name
        for m in sorted(folder.parent.glob("*/manifest.json"))
        if json.loads(m.read_text()).get("config") == config_dict
    ]
    why = (
        f" A model of the same config is cached as {', '.join(stale)}, under another key: the revision "
        f"of the training code or of the network here (difflab.training.keys) differs from the one it was trained "
        f"with (its manifest.json)."
        if stale
        else ""
    )
    raise NotTrainedError(
        f"{what} is not in the model cache: {folder} is missing.{why} Train it with `{command}` "
        f"(`make models` trains every ci model), or opt in to training where it is used with the "
        f"environment variable DIFFLAB_TRAIN=1 (in a notebook: os.environ['DIFFLAB_TRAIN'] = '1')."
    )


def trained_snapshot(
    config: TrainConfig,
    step: int,
    device: str | None = None,
    allow_training: bool | None = None,
    command: Command = None,
) -> NetDenoiser:
    """The EMA model of `config` as it was after `step` training steps (one of config.snapshots)."""
    if step not in config.snapshots:
        raise ValueError(
            f"step={step} is not a snapshot of this config; allowed: {list(config.snapshots)}"
        )
    trained_denoiser(
        config, device, command=command, allow_training=allow_training
    )  # trains it (and its snapshots) if asked
    state, _ = load_weights(snapshot_path(model_dir(config) / "train_state.pt", step))
    return _denoiser(config, state, device or default_device())


def trained_denoiser(
    config: TrainConfig,
    device: str | None = None,
    progress: bool = True,
    command: Command = None,
    allow_training: bool | None = None,
) -> NetDenoiser:
    """The trained model of `config`: from memory, from the cache folder, or trained now (resuming)
    when `allow_training` is True or DIFFLAB_TRAIN=1; otherwise a missing model is a NotTrainedError
    that says how to train it.

    `command` (a string, or a function that finds it only when needed; difflab.book.trained names the
    zoo's) is what the error names and the manifest records as the way to make it again."""
    device = checked(device or default_device())
    folder = model_dir(config)
    if (folder, device) not in _loaded:

        def fit(state_path):
            denoiser, summary = train(
                config,
                state_path,
                device=device,
                progress=progress,
                parent_weights=_parent_weights(config, device, allow_training),
            )
            return config.stored(denoiser.net.state_dict()), {
                "training_revision": keys.TRAINING_REVISION,
                "parameters": count_parameters(denoiser.net),
                "network_revision": keys.NETWORK_REVISIONS[config.arch],
                "steps": config.steps,
                **summary,
            }

        state = cached_weights(
            folder,
            config.as_dict(),
            f"The {config.arch} model of {config.as_dict()}",
            lambda: _command(command),
            fit,
            device,
            allow_training,
        )
        _loaded[folder, device] = _denoiser(config, state, device)
    return _loaded[folder, device]


def _parent_weights(config: TrainConfig, device: str, allow_training: bool | None) -> dict | None:
    """A fine-tuning config's starting point: its parent's trained weights (trained first if need be)."""
    if config.parent is None:
        return None
    trained_denoiser(config.parent, device, allow_training=allow_training)
    return checked_weights(model_dir(config.parent) / "model.safetensors", config.parent.as_dict())


def cached_weights(
    folder: Path,
    config: dict,
    what: str,
    how_to_make,
    fit,
    device: str,
    allow_training: bool | None,
    shared: bool = True,
) -> dict[str, torch.Tensor]:
    """The weights cached in `folder` (named by the config's key), checked against `config`. A
    missing model is trained by `fit(state_path)` -> (state dict, manifest entries), resuming from
    state_path, and written with its manifest (and the command `how_to_make()` names), if training
    is allowed; else a NotTrainedError that names that command. Under accelerate a `shared` fit runs
    in every process (data-parallel training); another runs in the main process only, the others
    reading what it wrote."""
    weights = folder / "model.safetensors"
    with contextlib.nullcontext() if shared else parallel.main_first():
        if not weights.exists():
            command = how_to_make()
            require_training(what, config, folder, command, allow_training)
            state, entries = fit(folder / "train_state.pt")
            key = folder.name.rsplit("-", 1)[-1]
            if parallel.is_main():  # one writer when accelerate runs several processes
                save_weights(weights, state, {"config": config, "key": key})
                save_json(
                    folder / "manifest.json",
                    {
                        "config": config,
                        "key": key,
                        **entries,
                        "device": device,
                        "cpu_threads": torch.get_num_threads(),
                        "machine": platform.machine(),
                        "torch": torch.__version__,
                        "diffusers": diffusers.__version__,
                        "command": command,
                    },
                )
                (folder / "train_state.pt").unlink()
            if shared:
                parallel.wait()
    return checked_weights(weights, config)
