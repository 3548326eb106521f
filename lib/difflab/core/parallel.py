"""Data-parallel training through Hugging Face accelerate.

A process started by `accelerate launch` (or torchrun) trains through one `Accelerator`: each of
P processes runs the network on its 1/P of every batch and DDP averages the gradients, which is
the gradient of the whole batch's loss, so P processes train the model one process would (up to
the order of float sums) and the cache key does not depend on P. Mixed precision is accelerate's
`--mixed_precision` (bf16 on GPUs that have it). Any other run trains without accelerate, as before.
"""

import contextlib
import functools
import os

import torch


def launched() -> bool:
    """Whether `accelerate launch` or torchrun started this process."""
    return "ACCELERATE_MIXED_PRECISION" in os.environ or int(os.environ.get("WORLD_SIZE", "1")) > 1


@functools.cache
def accelerator():
    """The run's Accelerator when launched, else None (accelerate is then not imported)."""
    if not launched():
        return None
    from accelerate import Accelerator

    return Accelerator()


def device(default: str) -> str:
    """Where this process trains: its accelerator's device when launched, else `default`."""
    return default if accelerator() is None else str(accelerator().device)


def is_main() -> bool:
    """Whether this process writes files (checkpoints, weights, manifests): one process does."""
    return accelerator() is None or accelerator().is_main_process


def wait() -> None:
    """Wait until every process reaches this point (after the main one wrote a file the others read)."""
    if accelerator() is not None:
        accelerator().wait_for_everyone()


@contextlib.contextmanager
def main_first():
    """A block the main process runs first and the others after it, for work that is not shared
    out (training the classifier, a download): the others then find what it wrote."""
    if accelerator() is None:
        yield
    else:
        with accelerator().main_process_first():
            yield


def rows(batch_size: int) -> slice:
    """This process's rows of every batch: all of them, or its 1/P."""
    if accelerator() is None:
        return slice(None)
    processes, rank = accelerator().num_processes, accelerator().process_index
    if batch_size % processes:
        raise ValueError(
            f"batch_size={batch_size} is not allowed with {processes} processes; "
            f"allowed: a multiple of the number of processes"
        )
    share = batch_size // processes
    return slice(rank * share, (rank + 1) * share)


def decorrelate(seed: int, step: int) -> None:
    """Give each process other than the first its own dropout masks for step `step`, drawn from a
    stream seeded by (seed, step, process), so that a resumed run draws the uninterrupted one's (the
    first process's stream is the one checkpoints save)."""
    if accelerator() is not None and accelerator().process_index > 0:
        torch.manual_seed(
            seed * 1_000_003 + step + accelerator().process_index * 2**40
        )  # no batch seed


def summary() -> dict:
    """What a manifest records of a launched run: processes and precision."""
    if accelerator() is None:
        return {}
    return {
        "processes": accelerator().num_processes,
        "mixed_precision": accelerator().mixed_precision,
    }
