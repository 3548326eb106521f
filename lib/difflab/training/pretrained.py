"""Released diffusers pipelines (a U-Net and a DDPM-family scheduler, such as google/ddpm-cifar10-32)
as the book's denoisers, for the `paper` profile only and only when a reader names them: nothing in
the default path loads or downloads one.
"""

from pathlib import Path

from diffusers import DiffusionPipeline, UNet2DModel
from torch import nn

from difflab.core.denoisers import NetDenoiser
from difflab.core.devices import checked
from difflab.core.models import UNetBackbone
from difflab.core.schedule import BETA_END, BETA_START, T

# the scheduler's prediction type, as the book's objective
OBJECTIVE = {"epsilon": "eps", "v_prediction": "v", "sample": "x0"}
# what the book's forward process is (difflab.core.schedule), as a scheduler's config says it
FORWARD_PROCESS = {
    "num_train_timesteps": T,
    "beta_schedule": "linear",
    "beta_start": BETA_START,
    "beta_end": BETA_END,
}


class PretrainedUNet(UNetBackbone):
    """A loaded UNet2DModel with the (x, t) -> tensor call of the book's U-Nets (UNetBackbone's)."""

    def __init__(self, unet: UNet2DModel):
        nn.Module.__init__(self)
        self.net = unet


def load_pipeline(source: str, device: str = "cpu", local_files_only: bool = True) -> NetDenoiser:
    """The U-Net of a diffusers pipeline saved with `save_pretrained` (a folder) or released on a hub
    (an id, downloaded only with local_files_only=False), as a denoiser of the book's forward process:
    a pipeline trained on another noise schedule is refused, naming the setting."""
    try:
        pipeline = DiffusionPipeline.from_pretrained(source, local_files_only=local_files_only)
    except (OSError, ValueError) as error:
        where = "folder" if Path(source).exists() else "id"
        raise ValueError(
            f"pretrained={source!r} could not be loaded as a diffusers pipeline ({where}; "
            f"local_files_only={local_files_only}): {error}; allowed: a folder written by "
            f"save_pretrained, or a hub id with local_files_only=False (downloads it)"
        ) from error
    unet, scheduler = getattr(pipeline, "unet", None), getattr(pipeline, "scheduler", None)
    config = dict(scheduler.config) if scheduler is not None else {}
    if not isinstance(unet, UNet2DModel):
        raise ValueError(
            f"pretrained={source!r} has no UNet2DModel; allowed: an unconditional pixel-space "
            f"pipeline such as DDPMPipeline or DDIMPipeline"
        )
    for name, value in FORWARD_PROCESS.items():
        if config.get(name) != value:
            raise ValueError(
                f"pretrained={source!r} was trained with {name}={config.get(name)!r}; allowed: "
                f"the book's forward process, {name}={value!r}"
            )
    prediction = config.get("prediction_type", "epsilon")
    if prediction not in OBJECTIVE:
        raise ValueError(
            f"pretrained={source!r} predicts {prediction!r}; allowed: {', '.join(map(repr, OBJECTIVE))}"
        )
    shape = (unet.config.in_channels, unet.config.sample_size, unet.config.sample_size)
    return NetDenoiser(PretrainedUNet(unet).eval(), OBJECTIVE[prediction], sample_shape=shape).to(
        checked(device)
    )
