"""Released pipelines, tested offline on a tiny one written by save_pretrained."""

import pytest
import torch
from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

from difflab import sample
from difflab.book.profiles import get_profile
from difflab.book.trained import profile_pipelines
from difflab.training.pretrained import load_pipeline


def _save(folder, **scheduler):
    torch.manual_seed(0)
    unet = UNet2DModel(
        sample_size=8,
        in_channels=3,
        out_channels=3,
        block_out_channels=(8, 16),
        layers_per_block=1,
        norm_num_groups=8,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
    )
    config = (
        dict(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear")
        | scheduler
    )
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler(**config)).save_pretrained(folder)
    return unet.eval()


def test_a_saved_pipeline_is_the_books_denoiser_of_its_unet(tmp_path):
    unet = _save(tmp_path)
    denoiser = load_pipeline(str(tmp_path))
    x, t = torch.randn(2, 3, 8, 8), torch.tensor([10, 900])
    with torch.no_grad():
        assert torch.equal(denoiser.eps(x, t), unet(x, t).sample)
    assert sample(denoiser, torch.randn(2, 3, 8, 8), "ddim", 3).shape == (2, 3, 8, 8)


def test_a_v_prediction_pipeline_is_read_as_such(tmp_path):
    _save(tmp_path, prediction_type="v_prediction")
    assert load_pipeline(str(tmp_path)).objective.name == "v"


@pytest.mark.parametrize(
    "scheduler, message",
    [
        (
            dict(beta_end=0.012),
            r"was trained with beta_end=0.012; allowed: the book's forward process, beta_end=0.02",
        ),
        (dict(beta_schedule="squaredcos_cap_v2"), r"beta_schedule='squaredcos_cap_v2'"),
        (
            dict(prediction_type="flow"),
            r"predicts 'flow'; allowed: 'epsilon', 'v_prediction', 'sample'",
        ),
    ],
)
def test_a_pipeline_of_another_process_is_refused(tmp_path, scheduler, message):
    _save(tmp_path, **scheduler)
    with pytest.raises(ValueError, match=message):
        load_pipeline(str(tmp_path))


def test_a_missing_pipeline_is_named_and_nothing_is_downloaded(tmp_path):
    with pytest.raises(
        ValueError, match=r"pretrained='.*nothing' could not be loaded .*local_files_only=True"
    ):
        load_pipeline(str(tmp_path / "nothing"))
    with pytest.raises(
        ValueError,
        match=r"pretrained='someone/no-such-model' could not be loaded as a diffusers pipeline \(id;",
    ):
        load_pipeline("someone/no-such-model")


def test_pipelines_stand_beside_a_chapter_at_the_paper_profile_only(tmp_path):
    _save(tmp_path)
    assert profile_pipelines(get_profile("ci"), ()) == {}
    with pytest.raises(
        ValueError, match=r"pretrained=\[.*\] is not allowed at profile 'ci'; allowed: \(\)"
    ):
        profile_pipelines(get_profile("ci"), (str(tmp_path),))
    with pytest.raises(
        ValueError, match=r"makes images of shape \(3, 8, 8\); allowed: the profile's \(3, 32, 32\)"
    ):
        profile_pipelines(get_profile("paper", device="cpu"), (str(tmp_path),))
