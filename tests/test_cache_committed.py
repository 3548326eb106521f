"""The committed `ci` models must be current: a change of the training code or of a catalogue config
would otherwise make every build retrain them silently (minutes of CI)."""

import json
import subprocess
from pathlib import Path

import pytest

from difflab.book.catalogue import catalogue
from difflab.book.profiles import get_profile
from difflab.training import keys
from difflab.training.classifier import ClassifierConfig, classifier_dir_key
from difflab.training.loop import TrainConfig
from difflab.training.store import config_key, model_dir

MODELS = Path(__file__).resolve().parents[1] / "data" / "models"
REMAKE = "delete data/models/*, run `make models`, and commit data/models"


@pytest.mark.parametrize("name", catalogue(get_profile("ci")))
def test_every_ci_catalogue_model_is_committed(name, monkeypatch):
    monkeypatch.setenv("DIFFLAB_DATA", str(MODELS.parent))
    folder = model_dir(catalogue(get_profile("ci"))[name])
    assert (folder / "model.safetensors").exists(), (
        f"the ci model {name!r} is not in the cache: {REMAKE}"
    )


@pytest.mark.parametrize(
    "manifest", sorted(MODELS.glob("*/manifest.json")), ids=lambda p: p.parent.name
)
def test_committed_models_match_the_current_training_code(manifest):
    record = json.loads(manifest.read_text())
    is_classifier = manifest.parent.name.startswith("classifier-")
    key = (
        classifier_dir_key(ClassifierConfig(**record["config"]))
        if is_classifier
        else config_key(TrainConfig(**record["config"]))
    )
    assert record["key"] == key, (
        f"{manifest.parent.name} was trained by older training code: {REMAKE}"
    )
    assert manifest.parent.name == keys.folder_name(record)


TREE_LIMIT = 58e6  # DEVELOPERS.md: the tracked tree travels to a GPU machine (64 MiB with a check)


def test_the_tracked_tree_stays_small():
    """Every tracked file (the committed models the larger part), in bytes as checked out."""
    root = MODELS.parents[1]
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True)
    files = [root / name for name in listed.stdout.decode().split("\0") if name]
    size = sum(f.stat().st_size for f in files if f.is_file())
    assert size < TREE_LIMIT, (
        f"the tracked tree holds {size / 1e6:.1f} MB; the limit is {TREE_LIMIT / 1e6:.0f} MB"
    )
