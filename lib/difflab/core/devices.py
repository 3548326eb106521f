"""Where the book computes, and how exactly.

The device: a GPU where torch sees one (`default_device`), unless DIFFLAB_DEVICE names another.
A device torch cannot use is an error that says what to do (`checked`), never a silent move to the
CPU: the `paper` profile names CUDA and trains for days, so without a GPU it stops; asking for
the CPU (DIFFLAB_DEVICE=cpu) runs it there anyway.

The precision: difflab computes float32 as float32 on a GPU, without TF32 (which cuDNN uses for
convolutions by default on Ampere and later GPUs, ~1e-3 relative): each chapter's first cell
sets it (`set_float32_precision(exact=True)`; no import changes it), so sampling and metrics on
a GPU differ from the CPU's by rounding only. Training may use TF32 where the GPU has it (`training.train` runs under
`float32_precision(exact=False)`): its speed is worth more there than the last bits, and a GPU's
weights differ from a CPU's anyway. On a CPU none of this changes a bit.
"""

import contextlib
import os

import torch

DEVICE_ENV = "DIFFLAB_DEVICE"


def default_device() -> str:
    """DIFFLAB_DEVICE if set, else "cuda" where torch sees a GPU, else "cpu"."""
    return os.environ.get(DEVICE_ENV) or ("cuda" if torch.cuda.is_available() else "cpu")


def checked(device: str | torch.device) -> str:
    """`device` as a string, if torch can compute there; else an error that names it and the way out."""
    name = str(device)
    try:
        kind = torch.device(name).type
    except RuntimeError:
        raise ValueError(
            f"device={name!r} is not a device; allowed: 'cpu', 'cuda', 'cuda:N'"
        ) from None
    if kind == "cuda" and not torch.cuda.is_available():
        build = f"a CUDA {torch.version.cuda} build" if torch.version.cuda else "a CPU-only build"
        raise RuntimeError(
            f"device={name!r} is not available: torch {torch.__version__} ({build}) sees no GPU here. The "
            f"`paper` profile trains the papers' networks for days on GPUs; allowed here: profile 'auto' or 'ci' "
            f"(the committed models, minutes on a CPU), or the CPU anyway with the environment variable "
            f"{DEVICE_ENV}=cpu (`python -m difflab.book.zoo paper --plan` says for how long)."
        )
    return name


def describe(device: str) -> str:
    """The device in words, for a reader: 'cuda (NVIDIA H100 80GB HBM3)', 'cpu (2 threads)'."""
    if torch.device(device).type == "cuda" and torch.cuda.is_available():
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    if torch.device(device).type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return f"{device} (not available here)"


# float32 products and convolutions on a GPU: full float32 (False) or TF32 (True). torch's
# allow_tf32 flags, which torch 2.2 to 2.13 read and write alike (torch 2.9's fp32_precision API,
# once set, makes a later read of these flags by any library an error).
_FLAGS = [(torch.backends.cuda.matmul, "allow_tf32"), (torch.backends.cudnn, "allow_tf32")]


def set_float32_precision(exact: bool) -> None:
    """Full float32 (exact=True) or TF32 (exact=False) for products and convolutions on a GPU."""
    for owner, name in _FLAGS:
        setattr(owner, name, not exact)


@contextlib.contextmanager
def float32_precision(exact: bool):
    """A block run with full float32 or TF32 on a GPU, the previous setting restored after it."""
    saved = [getattr(owner, name) for owner, name in _FLAGS]
    set_float32_precision(exact)
    try:
        yield
    finally:
        for (owner, name), value in zip(_FLAGS, saved):
            setattr(owner, name, value)


def exact_float32() -> bool:
    """Whether float32 is computed as float32 on a GPU now (no TF32)."""
    return not any(getattr(owner, name) for owner, name in _FLAGS)
