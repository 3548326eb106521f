"""The GPU path, tested without a GPU: every tensor of a denoiser follows it to a device (here the
meta device, which holds shapes and no data, so nothing is computed), every random draw comes from
a CPU generator, a device torch cannot use is refused with the way out, float32 is exact outside
training, and under accelerate the classifier is trained by one process."""

import contextlib
import re
import unittest.mock
from pathlib import Path

import pytest
import torch

from difflab.book.catalogue import catalogue
from difflab.book.profiles import get_profile
from difflab.chapters.ch07_when_decided import Nudged
from difflab.core import devices, parallel
from difflab.core.denoisers import EmpiricalDenoiser, GaussianDenoiser, GaussianMixtureDenoiser
from difflab.core.inverse import Inpainting, ProjectedDenoiser
from difflab.core.local import (
    BorderedLocalScoreMachine,
    EquivariantLocalScoreMachine,
    LocalScoreMachine,
)
from difflab.training import checkpoints, classifier, loop, store

LIB = Path(__file__).resolve().parents[1] / "lib" / "difflab"


def stray_tensors(module: torch.nn.Module, device: str) -> list[str]:
    """The tensors reachable from `module` that are not on `device`: parameters, buffers, and tensors
    held as plain attributes (which .to() does not move: the way a tensor gets left behind)."""
    stray = []
    for prefix, sub in module.named_modules():
        for name, value in vars(sub).items():
            if name in ("_parameters", "_buffers"):
                held = {k: v for k, v in value.items() if v is not None}
            elif torch.is_tensor(value):
                held = {name: value}
            else:
                continue
            stray += [
                f"{prefix}.{k}".lstrip(".") for k, v in held.items() if v.device.type != device
            ]
    return stray


def one_model_per_architecture() -> dict:
    models = catalogue(get_profile("ci"))
    return {config.arch: models[name] for name, config in reversed(models.items())}


@pytest.mark.parametrize("arch", one_model_per_architecture())
def test_a_cached_model_comes_wholly_on_the_device_asked_for(arch):
    denoiser = store.trained_denoiser(one_model_per_architecture()[arch], "meta")
    assert not stray_tensors(denoiser, "meta")
    assert (
        denoiser.alphas_cumprod.device.type == "meta"
    )  # the buffer chapter 1 crashed on, on a GPU
    store._loaded.pop((store.model_dir(one_model_per_architecture()[arch]), "meta"))


def closed_form_denoisers() -> dict:
    images = torch.rand(16, 1, 4, 4) * 2 - 1
    gaussian = GaussianDenoiser.fit(images)
    known = Inpainting.lower_half((1, 4, 4))
    return {
        "empirical": EmpiricalDenoiser(images),
        "gaussian": gaussian,
        "mixture": GaussianMixtureDenoiser(images[:3].flatten(1), 0.1),
        "nudged": Nudged(gaussian, 500, images[0]),
        "projected": ProjectedDenoiser(gaussian, known, known(images[:2])),
        "local": LocalScoreMachine(images, 3),
        "equivariant local": EquivariantLocalScoreMachine(images, 3),
        "bordered local": BorderedLocalScoreMachine(images, 3),
    }


@pytest.mark.parametrize("name", closed_form_denoisers())
def test_every_denoiser_moves_whole(name):
    denoiser = closed_form_denoisers()[name]
    assert not stray_tensors(denoiser, "cpu")
    assert not stray_tensors(denoiser.to("meta"), "meta")


def test_a_tensor_left_behind_is_caught():
    """A tensor kept as a plain attribute stays on the CPU when the denoiser moves: found by name."""
    planted = EmpiricalDenoiser(torch.zeros(4, 1, 4, 4))
    planted.table = torch.ones(3)
    assert stray_tensors(planted.to("meta"), "meta") == ["table"]


def test_every_random_draw_comes_from_a_cpu_generator():
    """A CUDA generator draws another stream than the CPU's for the same seed: none in the library,
    and no draw made on a device from a generator."""
    for path in sorted(LIB.glob("*.py")):
        source = path.read_text()
        assert not re.search(r"torch\.Generator\([^)]", source), (
            f"{path.name} makes a generator on a device"
        )
        assert not re.search(r"generator=\w+, device=", source), f"{path.name} draws on a device"


def test_a_device_torch_cannot_use_is_refused_with_the_way_out(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv(devices.DEVICE_ENV, raising=False)
    with pytest.raises(
        RuntimeError,
        match=r"device='cuda' is not available: torch .* sees no GPU here.*"
        r"DIFFLAB_DEVICE=cpu",
    ):
        store.trained_denoiser(one_model_per_architecture()["unet-s"], "cuda")
    with pytest.raises(ValueError, match=r"device='gpu' is not a device; allowed: 'cpu', 'cuda'"):
        devices.checked("gpu")


def test_paper_names_cuda_and_auto_says_where_it_runs(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv(devices.DEVICE_ENV, raising=False)
    assert (
        get_profile("paper").device == "cuda"
    )  # no silent move to the CPU: refused at its first model
    assert "profile paper: the paper scale on cuda (not available here)" in capsys.readouterr().out
    assert get_profile("auto").device == "cpu"
    assert "profile auto: the ci scale on cpu (" in capsys.readouterr().out
    get_profile("ci")
    assert capsys.readouterr().out == ""  # the book's build prints nothing
    monkeypatch.setenv(devices.DEVICE_ENV, "cpu")  # asked for: the paper scale on the CPU
    assert (
        get_profile("paper").device == "cpu" and get_profile("ci", device="meta").device == "meta"
    )


def test_float32_is_exact_outside_training_and_training_may_use_tf32(tmp_path, monkeypatch):
    import difflab  # noqa: F401  (importing sets the precision)

    assert devices.exact_float32()
    seen = []
    step = loop.Run.step
    monkeypatch.setattr(
        loop.Run, "step", lambda run, k: seen.append(devices.exact_float32()) or step(run, k)
    )
    loop.train(
        loop.TrainConfig(resolution=8, subset=64, arch="mlp", steps=2, batch_size=4),
        tmp_path / "s.pt",
        progress=False,
    )
    assert seen == [False, False] and devices.exact_float32()


def test_a_checkpoint_is_read_onto_the_cpu(tmp_path, monkeypatch):
    """Whatever device wrote it (a multi-GPU run's EMA weights on cuda:0), the run moves its tensors."""
    checkpoints.save_state(tmp_path / "s.pt", {"x": torch.ones(2)})
    asked = []
    load = torch.load
    monkeypatch.setattr(
        torch, "load", lambda *a, **k: asked.append(k.get("map_location")) or load(*a, **k)
    )
    checkpoints.load_state(tmp_path / "s.pt")
    assert asked == ["cpu"]


class _Accelerator:
    """accelerate's Accelerator as one process of two sees it: main_process_first lets the main
    process run the block first (here: `before` stands for its work, done when another enters)."""

    def __init__(self, main: bool, before=lambda: None):
        self.is_main_process, self.before, self.barriers = main, before, 0

    @contextlib.contextmanager
    def main_process_first(self):
        if not self.is_main_process:
            self.before()
        yield

    def wait_for_everyone(self):
        self.barriers += 1


@pytest.mark.parametrize("main", [True, False])
def test_under_accelerate_one_process_trains_the_classifier(main, tmp_data, monkeypatch):
    config = classifier.ClassifierConfig(resolution=8, width=8, epochs=1, batch_size=500)
    trained = []

    def fit(config, state_path, *args, **kwargs):  # an untrained net, at once
        trained.append(1)
        state_path.parent.mkdir(parents=True, exist_ok=True)
        state_path.touch()
        return classifier._build(config), {"test_accuracy": 0.5, "wall_time_s": 0.0}

    monkeypatch.setattr(classifier, "train_classifier", fit)
    main_process = lambda: classifier.get_classifier(
        config, "cpu", progress=False, allow_training=True
    )
    accelerator = _Accelerator(main, before=lambda: _as_main(main_process))
    monkeypatch.setattr(parallel, "accelerator", lambda: accelerator)
    net = classifier.get_classifier(config, "cpu", progress=False, allow_training=True)
    assert trained == [1] and accelerator.barriers == 0  # trained once, by the main process
    assert isinstance(net, classifier.Classifier)


def _as_main(work):
    """Run `work` as the main process would (no accelerator), before another process enters."""
    with unittest.mock.patch.object(parallel, "accelerator", lambda: None):
        work()
