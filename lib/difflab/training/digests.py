"""Digests of short training runs, recorded per revision of the training code: what lets a model's
cache key name a revision of the training code (keys.TRAINING_REVISION, keys.CLASSIFIER_REVISION).

A refactor that keeps what training computes keeps the digests, the keys and the committed models;
a change of behaviour changes a digest, and tests/test_training_digest.py fails until the revision
is raised (a new key: `make models` retrains) or the change is reverted. The runs use pinned
numerics (one thread, ATen's portable kernels, MKL's compatible mode, no oneDNN), so that one
vendor's CPUs with other vector units give the same bits; Intel's and AMD's still differ, so each
vendor has its own record, and a machine of a vendor with none skips the check.

    python -m difflab.training.digests            # this code's digests, computed with pinned numerics
    python -m difflab.training.digests --write    # record them in data/training_digests.json
"""

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import diffusers
import torch

from difflab.core.paths import data_dir
from difflab.training import classifier, keys
from difflab.training import loop as training
from difflab.training.checkpoints import load_record, load_weights, save_json

PINNED = {
    "ATEN_CPU_CAPABILITY": "default",
    "MKL_CBWR": "COMPATIBLE",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
_TINY = dict(resolution=8, subset=64, arch="mlp", steps=6, batch_size=16, snapshots=(2,))
CASES = {
    f"{arch} {objective}": training.TrainConfig(**{**_TINY, "arch": arch, "objective": objective})
    for arch, objective in [
        ("mlp", "eps"),
        ("mlp", "v"),
        ("mlp", "x0"),
        ("mlp", "edm"),
        ("dit-s", "eps"),
        ("resnet", "eps"),
    ]
}
CASES["unet-xs eps"] = training.TrainConfig(
    resolution=16, subset=64, arch="unet-xs", steps=4, batch_size=8, snapshots=(2,)
)
CASES["unet-s-class edm"] = training.TrainConfig(
    resolution=8,
    subset=64,
    arch="unet-s-class",
    objective="edm",
    label_dropout=0.25,
    steps=4,
    batch_size=8,
)
CASES["mlp eps fine-tuned on one class"] = training.TrainConfig(
    **{**_TINY, "parent": CASES["mlp eps"], "only_class": 7, "subset": None, "stored_as": "float16"}
)
CLASSIFIER = classifier.ClassifierConfig(resolution=8, width=8, epochs=1, batch_size=500)


def digests_path() -> Path:
    return data_dir() / "training_digests.json"


def _hash_tensors(state: dict[str, torch.Tensor], h) -> None:
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].detach().cpu().contiguous().numpy().tobytes())


def train_digest(config: training.TrainConfig, folder: Path) -> str:
    """Train `config` for half its steps, resume to the end, and hash the EMA weights, every
    snapshot's and the losses: a digest of what the training code computes. A fine-tuning case
    trains its parent first."""
    state_path = folder / "train_state.pt"
    parent = (
        None
        if config.parent is None
        else training.train(config.parent, folder / "parent.pt", progress=False)[0]
    )
    weights = dict(parent_weights=None if parent is None else parent.net.state_dict())
    training.train(
        config, state_path, progress=False, checkpoint_every=2, until=config.steps // 2, **weights
    )
    denoiser, _ = training.train(config, state_path, progress=False, checkpoint_every=2, **weights)
    h = hashlib.sha256()
    _hash_tensors(denoiser.net.state_dict(), h)
    for step in config.snapshots:
        _hash_tensors(load_weights(training.snapshot_path(state_path, step))[0], h)
    h.update(json.dumps(torch.load(state_path, weights_only=False)["losses"]).encode())
    return h.hexdigest()[:16]


def classifier_digest(config: classifier.ClassifierConfig, folder: Path) -> str:
    """Hash the classifier's weights after training `config` and its test accuracy."""
    net, summary = classifier.train_classifier(config, folder / "state.pt", progress=False)
    h = hashlib.sha256()
    _hash_tensors(net.state_dict(), h)
    h.update(repr(summary["test_accuracy"]).encode())
    return h.hexdigest()[:16]


def cpu_vendor() -> str:
    """Whose CPU this is (GenuineIntel, AuthenticAMD, ...): pinned numerics give bit-identical
    training on one vendor's CPUs but not across vendors (MKL takes other paths), so digests are
    recorded per vendor."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    return next(
        (line.split(":", 1)[1].strip() for line in lines if line.startswith("vendor_id")),
        platform.machine(),
    )


def versions() -> dict:
    """What besides the code decides the bits: the revisions and the packages."""
    return {
        "training_revision": keys.TRAINING_REVISION,
        "classifier_revision": keys.CLASSIFIER_REVISION,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
    }


def _compute() -> dict:
    missing = {k: v for k, v in PINNED.items() if os.environ.get(k) != v}
    if missing:
        raise RuntimeError(
            f"digests need pinned numerics; set {missing} in the environment (pinned_digests() does)"
        )
    torch.set_num_threads(1)
    torch.backends.mkldnn.enabled = False
    with tempfile.TemporaryDirectory() as tmp:
        digests = {name: train_digest(config, Path(tmp) / name) for name, config in CASES.items()}
        digests["classifier"] = classifier_digest(CLASSIFIER, Path(tmp) / "classifier")
    configs = {
        **{name: config.as_dict() for name, config in CASES.items()},
        "classifier": asdict(CLASSIFIER),
    }
    return {
        **versions(),
        "cpu": cpu_vendor(),
        "cases": {name: {"config": configs[name], "digest": digests[name]} for name in configs},
    }


def with_this_cpu(previous: dict | None, now: dict) -> dict:
    """The record to write: this CPU vendor's digests beside the other vendors' where the versions and
    revisions of the `previous` record are the same (else only this vendor's: the others are out of
    date)."""
    kept = (
        previous["cases_by_cpu"]
        if previous and all(previous[k] == v for k, v in versions().items())
        else {}
    )
    return {**versions(), "cases_by_cpu": {**kept, now["cpu"]: now["cases"]}}


def pinned_digests() -> dict:
    """This code's digests, computed in a fresh process with pinned numerics."""
    run = subprocess.run(
        [sys.executable, "-m", "difflab.training.digests", "--json"],
        env={**os.environ, **PINNED},
        capture_output=True,
        text=True,
    )
    if run.returncode:
        raise RuntimeError(f"computing the training digests failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout)


def recorded_digests() -> dict:
    return load_record(digests_path(), "difflab.training.digests")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--write", action="store_true", help="record the digests in data/training_digests.json"
    )
    parser.add_argument(
        "--json", action="store_true", help="compute in this process (numerics must be pinned)"
    )
    args = parser.parse_args()
    if args.json:
        print(json.dumps(_compute()))
        return
    result = pinned_digests()
    if args.write:
        save_json(
            digests_path(),
            with_this_cpu(recorded_digests() if digests_path().exists() else None, result),
        )
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
