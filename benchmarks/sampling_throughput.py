"""Denoiser evaluations per second of the standard `ci` model on this machine, by batch size.

    python benchmarks/sampling_throughput.py
"""

import time

import torch

import difflab


def main() -> None:
    model = difflab.get_denoiser(difflab.standard(difflab.get_profile("ci")), "cpu")
    t = torch.full((1,), 500)
    print(f"threads: {torch.get_num_threads()}")
    for batch in (100, 250, 500, 1000):
        x = torch.randn(batch, 1, 16, 16)
        with torch.no_grad():
            model.eps(x, t.expand(batch))
            start = time.perf_counter()
            for _ in range(5):
                model.eps(x, t.expand(batch))
        per_image = (time.perf_counter() - start) / (5 * batch)
        print(f"batch {batch:5d}: {1e3 * per_image:.3f} ms per image-evaluation, "
              f"{1000 * per_image:.2f} s per 1000 images x 1 step")


if __name__ == "__main__":
    main()
