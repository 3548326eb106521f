"""`difflab.sample` (DDIM) against diffusers' `DDIMPipeline` on the same U-Net and the same noise.

    python benchmarks/sampling.py

Both run the book's standard `ci` model for 25 DDIM steps from the same 500 noises (the pipeline
draws them from the same seeded generator). difflab runs the U-Net through ONNX Runtime
(`difflab.core.runtime`), the pipeline through torch: both are float32 roundings of one computation, so
each is also compared with the same sampler run in float64, the exact value they both approximate.
"""

import copy

import torch
from common import report, time_side_by_side
from diffusers import DDIMPipeline, DDIMScheduler

import difflab

N, STEPS, SEED = 500, 25, 0


def main() -> None:
    settings = difflab.get_profile("ci")
    model = difflab.get_denoiser(difflab.standard(settings), "cpu")
    scheduler = DDIMScheduler(
        beta_schedule="linear",
        beta_start=1e-4,
        beta_end=0.02,
        clip_sample=False,
        set_alpha_to_one=True,
        timestep_spacing="trailing",
    )
    pipeline = DDIMPipeline(unet=model.net.net, scheduler=scheduler)
    pipeline.set_progress_bar_config(disable=True)
    shape = (N, 1, settings.resolution, settings.resolution)

    def theirs():
        return pipeline(
            batch_size=N,
            generator=torch.Generator().manual_seed(SEED),
            num_inference_steps=STEPS,
            eta=0.0,
            output_type="np",
        ).images

    def ours():
        noise = torch.randn(shape, generator=torch.Generator().manual_seed(SEED))
        images = difflab.sample(model, noise, "ddim", STEPS)
        return (images / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy()

    def exact():  # float64 network and sampler, through torch
        network = copy.deepcopy(model.net).double()
        noise = torch.randn(shape, generator=torch.Generator().manual_seed(SEED)).double()
        images = difflab.sample(difflab.NetDenoiser(network), noise, "ddim", STEPS)
        return (images / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy()

    reference = exact()
    difference = abs(ours() - theirs()).max().item()
    seconds = time_side_by_side({"difflab": ours, "DDIMPipeline": theirs}, rounds=3)
    report(
        "sampling",
        {
            "images": N,
            "steps": STEPS,
            "max_pixel_difference": difference,
            "difflab_vs_float64": abs(ours() - reference).max().item(),
            "pipeline_vs_float64": abs(theirs() - reference).max().item(),
            "difflab_images_per_s": N / seconds["difflab"],
            "pipeline_images_per_s": N / seconds["DDIMPipeline"],
            "speedup": seconds["DDIMPipeline"] / seconds["difflab"],
            "goal": ">= 1.3, difference <= 1e-5",
        },
    )


if __name__ == "__main__":
    main()
