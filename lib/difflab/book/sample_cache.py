"""A build-scoped cache of deterministic samples, shared by the chapters executed in one build.

Some samples appear in several chapters (the standard model from seeds 0-2 with DDIM).
`scripts/build_book.py` points DIFFLAB_SAMPLE_CACHE at a folder under _build/ that it empties at
the start of every build; `sample` here (difflab.sample) looks there before it runs
difflab.core.sampling.run_sampler. With the variable unset (a chapter run on its own, the tests)
nothing is cached. Only eta = 0 runs are cached: they depend on nothing but
the denoiser, the noise and the sampler's settings, which the key hashes.
"""

import hashlib
import inspect
import os
import pickle
from pathlib import Path

import torch

from difflab.core import sampling

CACHE_ENV = "DIFFLAB_SAMPLE_CACHE"


def folder() -> Path | None:
    """The build's cache folder, or None when caching is off."""
    value = os.environ.get(CACHE_ENV, "")
    return Path(value) if value else None


def key(denoiser: torch.nn.Module, noise: torch.Tensor, **settings) -> str:
    """A hash of the denoiser (class, public attributes: scalars and containers of them, such as a
    local machine's patch-size schedule, by value; others such as the ONNX Runtime backend by
    type; every parameter and buffer), the noise and the sampler's settings: equal keys give
    bit-identical samples on one machine."""
    h = hashlib.sha256(repr((type(denoiser).__qualname__, sorted(settings.items()))).encode())
    attributes = {
        k: repr(v) if _plain(v) else type(v).__qualname__
        for k, v in vars(denoiser).items()
        if not k.startswith("_")
    }
    h.update(repr(sorted(attributes.items())).encode())
    tensors = [("noise", noise), *denoiser.named_parameters(), *denoiser.named_buffers()]
    for name, tensor in tensors:
        h.update(f"{name} {tensor.dtype} {tuple(tensor.shape)}".encode())
        h.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()[:32]


def _plain(value) -> bool:
    """A scalar, or a tuple, list or dict of plain values: its repr says all it holds."""
    if isinstance(value, (bool, int, float, str, type(None))):
        return True
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return isinstance(value, (tuple, list)) and all(map(_plain, value))


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


SETTINGS = inspect.signature(sampling.run_sampler)
UNHASHED = ("denoiser", "noise", "generator", "progress")  # no effect on an eta = 0 result


def sample(denoiser, noise: torch.Tensor, *args, cache: bool = True, **kwargs):
    """difflab.core.sampling.run_sampler (same arguments), from the build's cache when another chapter
    computed the same eta = 0 run; cache=False always computes."""
    settings = SETTINGS.bind(denoiser, noise, *args, **kwargs)
    settings.apply_defaults()
    options = settings.arguments
    if not cache or options["eta"] != 0 or folder() is None:
        return sampling.run_sampler(*settings.args, **settings.kwargs)
    hashed = {k: v for k, v in options.items() if k not in UNHASHED}
    hashed["labels"] = None if hashed["labels"] is None else hashed["labels"].tolist()
    name = key(denoiser, noise, **hashed)
    stored = load(name)
    if stored is None:
        result = sampling.run_sampler(*settings.args, **settings.kwargs)
        images, path = result if options["return_trajectory"] else (result, None)
        stored = {"images": images.cpu()}
        if path is not None:
            stored.update(t=path.t, x=path.x.cpu(), x0=path.x0.cpu())
        save(name, stored)
    images = stored["images"].to(noise.device)
    if not options["return_trajectory"]:
        return images
    return images, sampling.Trajectory(
        stored["t"], stored["x"].to(noise.device), stored["x0"].to(noise.device)
    )
