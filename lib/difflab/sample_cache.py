"""A build-scoped cache of deterministic samples, shared by the chapters executed in one build.

Some samples appear in several chapters (the standard model from seeds 0-2 with DDIM).
`scripts/build_book.py` points DIFFLAB_SAMPLE_CACHE at a folder under _build/ that it empties at
the start of every build; `sample` looks there first. With the variable unset (a chapter run on
its own, the tests) nothing is cached. Only eta = 0 runs are cached: they depend on nothing but
the denoiser, the noise and the sampler's settings, which the key hashes.
"""

import hashlib
import os
import pickle
from pathlib import Path

import torch

ENV = "DIFFLAB_SAMPLE_CACHE"


def folder() -> Path | None:
    """The build's cache folder, or None when caching is off."""
    value = os.environ.get(ENV, "")
    return Path(value) if value else None


def key(denoiser: torch.nn.Module, noise: torch.Tensor, **settings) -> str:
    """A hash of the denoiser (class, public attributes: scalars by value, others such as the ONNX
    Runtime backend by type; every parameter and buffer), the noise and the sampler's settings:
    equal keys give bit-identical samples on one machine."""
    h = hashlib.sha256(repr((type(denoiser).__qualname__, sorted(settings.items()))).encode())
    attributes = {k: v if isinstance(v, (bool, int, float, str)) else type(v).__qualname__
                  for k, v in vars(denoiser).items() if not k.startswith("_")}
    h.update(repr(sorted(attributes.items())).encode())
    tensors = [("noise", noise), *denoiser.named_parameters(), *denoiser.named_buffers()]
    for name, tensor in tensors:
        h.update(f"{name} {tensor.dtype} {tuple(tensor.shape)}".encode())
        h.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()[:32]


def load(name: str) -> dict | None:
    """The stored result, or None when absent or unreadable (it is then computed again)."""
    path = folder() / f"{name}.pt"
    try:
        return torch.load(path, weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError):
        return None


def save(name: str, result: dict) -> None:
    """Store atomically: a chapter interrupted while writing leaves no half file behind."""
    path = folder() / f"{name}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    torch.save(result, partial)
    os.replace(partial, path)
