"""`difflab.sample` (DDIM) against diffusers' `DDIMPipeline` on the same U-Net and the same noise.

    python benchmarks/sampling.py

Both run the book's standard `ci` model for 25 DDIM steps from the same 500 noises (the pipeline
draws them from the same seeded generator); the outputs must agree within 1e-5 in [0, 1] pixels.
"""

import torch
from diffusers import DDIMPipeline, DDIMScheduler

import difflab
from common import report, time_side_by_side

N, STEPS, SEED = 500, 25, 0


def main() -> None:
    settings = difflab.get_profile("ci")
    model = difflab.get_denoiser(difflab.standard(settings), "cpu")
    scheduler = DDIMScheduler(beta_schedule="linear", beta_start=1e-4, beta_end=0.02, clip_sample=False,
                              set_alpha_to_one=True, timestep_spacing="trailing")
    pipeline = DDIMPipeline(unet=model.net.net, scheduler=scheduler)
    pipeline.set_progress_bar_config(disable=True)
    shape = (N, 1, settings.resolution, settings.resolution)

    def theirs():
        return pipeline(batch_size=N, generator=torch.Generator().manual_seed(SEED), num_inference_steps=STEPS,
                        eta=0.0, output_type="np").images

    def ours():
        noise = torch.randn(shape, generator=torch.Generator().manual_seed(SEED))
        images = difflab.sample(model, noise, "ddim", STEPS)
        return (images / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy()

    difference = abs(ours() - theirs()).max().item()
    seconds = time_side_by_side({"difflab": ours, "DDIMPipeline": theirs}, rounds=3)
    report("sampling", {
        "images": N, "steps": STEPS, "max_pixel_difference": difference,
        "difflab_images_per_s": N / seconds["difflab"], "pipeline_images_per_s": N / seconds["DDIMPipeline"],
        "speedup": seconds["DDIMPipeline"] / seconds["difflab"], "goal": ">= 1.3, difference <= 1e-5"})
    if difference > 1e-5:
        raise SystemExit(f"the outputs differ by {difference:.2g} > 1e-5")


if __name__ == "__main__":
    main()
