"""The model cache's keys, computed with the standard library alone.

A trained model is found by a hash of what decides its weights: its config (as its manifest
stores it), the revision of the training code and the revision of its network architecture. No
source text, interpreter or package version enters a key, so Python 3.10 to 3.13 and newer torch
or diffusers releases name a committed model alike. What each revision stands for is held by
recorded digests: of short training runs (difflab.training.digests, tests/test_training_digest.py) and of
each network's output on a fixed probe input (difflab.training.probes, tests/test_probes.py). A change of
behaviour fails there until its revision is raised here, which gives new keys (the model retrains).

    python lib/difflab/training/keys.py data/models/*/manifest.json   # each model's folder name, any Python
"""

import hashlib
import json
import sys
from pathlib import Path

TRAINING_REVISION = 1  # what training.train computes
CLASSIFIER_REVISION = 1  # what classifier.train_classifier computes
# what each network of models.ARCHITECTURES computes from its weights
NETWORK_REVISIONS = {
    "unet-xs": 1,
    "unet-s": 1,
    "unet-m": 1,
    "dit-s": 1,
    "resnet": 1,
    "mlp": 1,
    "unet-s-class": 1,
    "dit-s-class": 1,
    "unet-s-conv": 1,
    "ddpm": 1,
    "ddpm-class": 1,
    "ddpm-conv": 1,
    "ddpmpp-64": 1,
    "ddpmpp-128": 1,
    "ddpmpp-256": 1,
}
CLASSIFIER_PREFIX = "classifier"


def fingerprint(parts: list) -> str:
    """A short hash of JSON-able parts."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def model_key(config: dict) -> str:
    """The key of the diffusion model trained for `config` (TrainConfig.as_dict())."""
    arch = config.get("arch")
    if arch not in NETWORK_REVISIONS:
        raise ValueError(
            f"arch={arch!r} has no network revision; allowed: {', '.join(map(repr, NETWORK_REVISIONS))}"
        )
    return fingerprint(
        [
            {
                "config": config,
                "training_revision": TRAINING_REVISION,
                "network": [arch, NETWORK_REVISIONS[arch]],
            }
        ]
    )


def classifier_key(config: dict) -> str:
    """The key of the classifier trained for `config` (dataclasses.asdict of a ClassifierConfig)."""
    return fingerprint([config, {"revision": CLASSIFIER_REVISION}])


def folder_name(manifest: dict) -> str:
    """The cache folder of the model a manifest describes: ARCH-KEY, or classifier-KEY."""
    config = manifest["config"]
    if "arch" not in config:
        return f"{CLASSIFIER_PREFIX}-{classifier_key(config)}"
    return f"{config['arch']}-{model_key(config)}"


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(folder_name(json.loads(Path(path).read_text())))
