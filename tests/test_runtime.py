import pytest
import torch

from difflab.book.sample_cache import sample
from difflab.core.denoisers import NetDenoiser
from difflab.core.models import build_network
from difflab.core.runtime import CHUNK, OnnxRuntimeNetwork, chunks


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return build_network("unet-xs", 1, 8).eval()


@pytest.mark.parametrize("objective", ["eps", "v", "edm"])
def test_onnx_runtime_agrees_with_torch_at_any_batch_size(unet, objective):
    fast, plain = NetDenoiser(unet, objective, runtime=True), NetDenoiser(unet, objective)
    for batch in (7, 3):  # exported at the first batch size, run at another
        x, t = torch.randn(batch, 1, 8, 8), torch.randint(0, 1000, (batch,))
        with torch.no_grad():
            assert torch.allclose(fast.eps(x, t), plain.eps(x, t), atol=1e-5)
    assert fast.runtime.sessions, "the runtime was not used"


def test_onnx_runtime_samples_are_deterministic_and_close_to_torch(unet):
    noise = torch.randn(6, 1, 8, 8)
    fast = sample(NetDenoiser(unet, runtime=True), noise, "ddim", 10)
    assert torch.equal(fast, sample(NetDenoiser(unet, runtime=True), noise, "ddim", 10))
    plain = sample(NetDenoiser(unet), noise, "ddim", 10)
    # an untrained net's "images" reach ~500: float32 agreement, relative to their scale
    assert (fast - plain).abs().max() <= 1e-5 * plain.abs().max()


def test_gradients_go_through_torch(unet):
    denoiser = NetDenoiser(unet, runtime=True)
    x = torch.randn(2, 1, 8, 8, requires_grad=True)
    denoiser.x0(x, torch.tensor([500, 500])).sum().backward()
    assert x.grad is not None and not denoiser.runtime.sessions


def test_large_batches_run_in_chunks_one_per_thread_with_the_same_output(unet):
    assert (chunks(500, 2), chunks(250, 2), chunks(100, 2), chunks(99, 2), chunks(500, 1)) == (
        10,
        4,
        2,
        1,
        10,
    )
    runtime = OnnxRuntimeNetwork(unet)
    batch = 2 * CHUNK + 7  # two chunks on two threads
    x, t = torch.randn(batch, 1, 8, 8), torch.randint(0, 1000, (batch,))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        chunked = runtime(x, t)
        alone = torch.cat([runtime(x[i : i + 1], t[i : i + 1]) for i in range(batch)])
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(chunked, alone)  # ONNX Runtime computes each image on its own
