"""Probes of what each network computes: what lets a model's cache key name a network revision
(keys.NETWORK_REVISIONS) instead of hashing its code.

A probe loads fixed weights (drawn from a seeded generator, whatever the constructor's own
initialisation) into a freshly built network, as loading a trained model does, and runs it on a
fixed input. A release of diffusers or torch, or a refactor here, that keeps the function keeps
the probe to float32 rounding; one that changes a layer, a default or the state dict's layout
does not, and tests/test_probes.py fails until the architecture's revision is raised (its models
retrain) or the change is reverted.

    python -m difflab.training.probes            # this code's probes
    python -m difflab.training.probes --write    # record them in data/network_probes.json
"""

import argparse
import hashlib
import json

import torch

from difflab.core.models import ARCHITECTURES, CONDITIONAL, NULL_LABEL, build_network
from difflab.core.paths import data_dir
from difflab.training import keys
from difflab.training.checkpoints import load_record, save_json

SHAPE = (
    2,
    3,
    8,
    8,
)  # two small images of every architecture's shape family (the paper networks' too)
TIMES = (10, 900)
RELATIVE_TOLERANCE = 1e-3  # of the output's spread: rounding moves it ~1e-6, a change of layer ~1


def probes_path():
    return data_dir() / "network_probes.json"


@torch.no_grad()
def probe(arch: str) -> dict:
    """The layout of `arch`'s state dict (a hash of names, shapes and dtypes) and its output on the
    probe input with the probe weights, as float64 values."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = build_network(arch, SHAPE[1], SHAPE[-1]).eval()
    g = torch.Generator().manual_seed(0)
    state = net.state_dict()
    layout = hashlib.sha256(
        repr([(k, tuple(v.shape), str(v.dtype)) for k, v in sorted(state.items())]).encode()
    )
    for name in sorted(state):
        tensor = state[name]
        if tensor.is_floating_point():
            fan_in = tensor[0].numel() if tensor.dim() > 1 else 1
            tensor.copy_(torch.randn(tensor.shape, generator=g) / fan_in**0.5)
    x = torch.randn(SHAPE, generator=g)
    t = torch.tensor(TIMES)
    labels = (torch.tensor([3, NULL_LABEL]),) if arch in CONDITIONAL else ()
    out = net(x, t, *labels).double()
    return {
        "revision": keys.NETWORK_REVISIONS[arch],
        "layout": layout.hexdigest()[:16],
        "output": [round(v, 9) for v in out.flatten().tolist()],
    }


def differences(recorded: dict, now: dict) -> list[str]:
    """What differs between a recorded probe and this code's, in words (empty: the same function)."""
    if recorded["layout"] != now["layout"]:
        return ["the state dict's layout (parameter names or shapes)"]
    old, new = torch.tensor(recorded["output"]), torch.tensor(now["output"])
    if old.shape != new.shape:
        return [f"the output's size ({len(old)} -> {len(new)})"]
    worst = (new - old).abs().max().item()
    if worst > RELATIVE_TOLERANCE * old.std().item():
        return [
            f"the output (moved by up to {worst:.3g}, {worst / old.std().item():.2g} of its spread)"
        ]
    return []


def recorded_probes() -> dict:
    return load_record(probes_path(), "difflab.training.probes")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--write", action="store_true", help="record the probes in data/network_probes.json"
    )
    args = parser.parse_args()
    probes = {arch: probe(arch) for arch in ARCHITECTURES}
    if args.write:
        save_json(probes_path(), probes)
    print(
        json.dumps(
            {arch: {k: v for k, v in p.items() if k != "output"} for arch, p in probes.items()},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
