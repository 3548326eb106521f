"""Checkpoints written atomically (a temporary file, then a rename) so a crash never leaves half a file."""

import json
import os
import pickle
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def save_weights(path: Path, state: dict[str, torch.Tensor], metadata: dict) -> None:
    """Weights as safetensors (in the dtype they come in), with JSON-able metadata in the header."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    _atomic(
        path,
        lambda p: save_file(
            tensors, str(p), metadata={k: json.dumps(v) for k, v in metadata.items()}
        ),
    )


def load_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """The weights (floats as float32, whatever their stored precision) and the metadata of a
    safetensors file; a damaged file is an error that names it and the way back, not a bare header error."""
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = {k: json.loads(v) for k, v in (f.metadata() or {}).items()}
        return {
            k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()
        }, metadata
    except (SafetensorError, ValueError) as error:
        raise ValueError(
            f"the weights file {path} is damaged ({error}). If it is committed, restore it with "
            f"`git checkout -- {path}`; otherwise delete {path.parent} and train it again "
            f"(`make models`, or the command in its manifest.json)"
        ) from None


def save_state(path: Path, state: dict) -> None:
    """Everything needed to resume training (optimizer, EMA, RNG, step)."""
    _atomic(path, lambda p: torch.save(state, p))


def load_state(path: Path) -> dict:
    """A training state to resume from, its tensors on the CPU (whatever device wrote them: the
    caller moves them where it trains); a damaged one says so and how to start over."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as error:
        raise ValueError(
            f"the training state {path} is damaged ({error}); delete it to train from the start"
        ) from None


def save_json(path: Path, data: dict) -> None:
    _atomic(path, lambda p: p.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))


def load_record(path: Path, module: str) -> dict:
    """A record of what this code computes, committed under data/ (difflab.training.digests, difflab.training.probes);
    a missing or damaged one names the way to restore it or to record it again."""
    return load_json(
        path,
        f"restore it with `git checkout -- {path.name}` in data/, "
        f"or record this code's with `python -m {module} --write`",
    )


def load_json(path: Path, fix: str) -> dict:
    """A JSON record the book depends on; a missing or damaged one names the file and `fix`."""
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError) as error:
        raise FileNotFoundError(f"{path} is missing or damaged ({error}); {fix}") from None
