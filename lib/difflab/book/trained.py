"""The catalogue's models trained: found in the model store (or trained where asked), with the
command that trains a missing one; their cards; the book's classifier and released pipelines."""

import json

import pandas as pd

from difflab.book.catalogue import Role, catalogue, time_runs
from difflab.book.profiles import PROFILES, Profile, get_profile
from difflab.core.data import CHANNELS
from difflab.core.denoisers import NetDenoiser
from difflab.training import store
from difflab.training.classifier import Classifier, ClassifierConfig, get_classifier
from difflab.training.loop import TrainConfig
from difflab.training.pretrained import load_pipeline
from difflab.training.store import manifest_path


def how_to_train(config: TrainConfig) -> str:
    """The command that trains `config`: its name in the catalogue where it has one, chapter 9's
    study for its long runs."""
    for name in PROFILES:
        for entry_name, entry in catalogue(get_profile(name)).items():
            if entry == config:
                return f"python -m difflab.book.zoo {name} '{entry_name}'"
        if config in time_runs(get_profile(name)).values():
            return f"python studies/training_time.py --profile {name}"
    return store.GENERIC_COMMAND


def get_denoiser(
    config: TrainConfig,
    device: str | None = None,
    progress: bool = True,
    allow_training: bool | None = None,
) -> NetDenoiser:
    """The trained model of `config` (difflab.training.store.trained_denoiser); a missing one is an
    error that names the zoo command that trains it."""
    return store.trained_denoiser(
        config, device, progress, lambda: how_to_train(config), allow_training
    )


def get_snapshot(
    config: TrainConfig, step: int, device: str | None = None, allow_training: bool | None = None
) -> NetDenoiser:
    """The EMA model of `config` after `step` training steps, as store.trained_snapshot gives it."""
    return store.trained_snapshot(
        config, step, device, allow_training, lambda: how_to_train(config)
    )


def manifest(config: TrainConfig, device: str | None = None) -> dict:
    """A trained model's manifest (its parameters, loss, training time, machine), the model being
    found or trained first as `get_denoiser` would (a fresh `paper` build has none yet)."""
    get_denoiser(config, device)
    return json.loads(manifest_path(config).read_text())


def model_table(configs: dict, device: str | None = None) -> pd.DataFrame:
    """Each model's card, by its key in `configs` (a role by its label), from its config and
    manifest (the model found or trained first): network, objective, seed, training images (None:
    the whole set), steps, epochs over the images, parameters, final loss and training time."""
    rows = {}
    for key, config in configs.items():
        trained = manifest(config, device)
        rows[key.label if isinstance(key, Role) else key] = {
            "architecture": config.arch,
            "objective": config.objective,
            "seed": config.seed,
            "images": config.subset,
            "steps": config.steps,
            "epochs": round(config.steps * config.batch_size / config.subset)
            if config.subset
            else None,
            "parameters": f"{trained['parameters']:,}",
            "final loss": round(trained["final_loss"], 4),
            "training (s)": round(trained["wall_time_s"]),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def profile_config(profile: Profile) -> ClassifierConfig:
    """The classifier of a profile's dataset and resolution, the one `make models` trains for it."""
    return ClassifierConfig(profile.dataset, profile.resolution)


def profile_classifier(
    profile: Profile,
    device: str | None = None,
    progress: bool = True,
    allow_training: bool | None = None,
) -> Classifier:
    """The book's classifier for a profile (chapters 4 and 5 judge and score images with it), on
    the profile's device unless another is given."""
    return get_classifier(
        profile_config(profile),
        device or profile.device,
        progress,
        allow_training,
        command=f"python -m difflab.book.zoo {profile.name}",
    )


def profile_pipelines(
    profile: Profile, sources: tuple[str, ...], local_files_only: bool = True
) -> dict[str, NetDenoiser]:
    """The released pipelines a reader named, by source, to stand beside a chapter's models: where
    the profile allows them (`pretrained`: the released ones are CIFAR-10's) and only of the
    profile's image shape."""
    if sources and not profile.pretrained:
        raise ValueError(
            f"pretrained={list(sources)} is not allowed at profile {profile.name!r}; allowed: "
            f"() (the default), or released pipelines at a profile with pretrained=True ('paper')"
        )
    pipelines = {
        source: load_pipeline(source, profile.device, local_files_only) for source in sources
    }
    shape = (CHANNELS[profile.dataset], profile.resolution, profile.resolution)
    for source, denoiser in pipelines.items():
        if tuple(denoiser.sample_shape) != shape:
            raise ValueError(
                f"pretrained={source!r} makes images of shape {tuple(denoiser.sample_shape)}; "
                f"allowed: the profile's {shape}"
            )
    return pipelines
