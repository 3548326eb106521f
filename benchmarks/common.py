"""What every benchmark shares: interleaved timing and a JSON record of the result.

Two ways of doing the same work are timed in alternation, several rounds each, and compared by
their medians: a slow spell of a shared machine then hits both, and the ratio stays honest."""

import json
import platform
import statistics
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parents[1] / "_build" / "benchmarks"


def time_side_by_side(contenders: dict, rounds: int = 5) -> dict[str, float]:
    """Median seconds of each zero-argument callable, timed in alternation after one warm-up each."""
    for run in contenders.values():
        run()
    seconds = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in seconds.items()}


def gemm_gflops(size: int = 2048, rounds: int = 5) -> float:
    """This CPU's measured fp32 matrix-product rate: the peak any network here can approach."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    seconds = time_side_by_side({"gemm": lambda: a @ b}, rounds)["gemm"]
    return 2 * size**3 / seconds / 1e9


def report(name: str, result: dict) -> Path:
    """Print the result and write it, with the machine's facts, to _build/benchmarks/NAME.json."""
    result = {
        **result,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(name)
    for key, value in result.items():
        print(f"  {key}: {value:.4g}" if isinstance(value, float) else f"  {key}: {value}")
    return path
