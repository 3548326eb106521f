"""The optimal denoiser of 60,000 images against its own matrix products (the GEMM bound).

    python benchmarks/empirical_denoiser.py

D*(x_t) needs the products x Y^T (every logit) and W Y (the weighted mean) over the whole training
set Y; everything else (the softmax) should cost little beside them. Goal: at most 2x the products.
"""

import torch
from common import report, time_side_by_side

import difflab


def main(batch: int = 250) -> None:
    train, _ = difflab.load_images("fashion_mnist", 16)
    denoiser = difflab.EmpiricalDenoiser(train)
    x = torch.randn(batch, *train.shape[1:], generator=torch.Generator().manual_seed(0))
    t = torch.full((batch,), 500)
    images, flat = denoiser.images.contiguous(), x.flatten(1)
    weights = torch.rand(batch, len(images))

    def products():
        flat @ images.T
        weights @ images

    with torch.inference_mode():
        seconds = time_side_by_side({"denoiser": lambda: denoiser.x0(x, t), "products": products})
    report(
        "empirical_denoiser",
        {
            "training_images": len(train),
            "batch": batch,
            "denoiser_s": seconds["denoiser"],
            "products_s": seconds["products"],
            "ratio_to_gemm_bound": seconds["denoiser"] / seconds["products"],
            "goal": "<= 2",
        },
    )


if __name__ == "__main__":
    main()
