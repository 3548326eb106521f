import copy

import pytest
import torch
from diffusers import DDIMPipeline, DDIMScheduler

import difflab
from difflab.book.sample_cache import sample
from difflab.core.denoisers import Denoiser, EmpiricalDenoiser, GaussianMixtureDenoiser, NetDenoiser
from difflab.core.models import build_network
from difflab.core.sampling import SAMPLERS, run_sampler, time_grid

GRID = {"f-pndm": "paper"}  # the samplers that run on one grid only


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return build_network("unet-s", 1, 8).eval()


@pytest.mark.parametrize("steps", [10, 25, 50])
def test_ddim_matches_diffusers_pipeline(unet, steps):
    """Against a plain diffusers DDIM set-up (trailing spacing, which starts at t = 999)."""
    scheduler = DDIMScheduler(
        beta_schedule="linear",
        beta_start=1e-4,
        beta_end=0.02,
        clip_sample=False,
        set_alpha_to_one=True,
        timestep_spacing="trailing",
    )
    expected = DDIMPipeline(unet=unet.net, scheduler=scheduler)(
        batch_size=4,
        generator=torch.Generator().manual_seed(0),
        num_inference_steps=steps,
        eta=0.0,
        output_type="np",
    ).images
    noise = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    ours = ((sample(NetDenoiser(unet), noise, "ddim", steps) / 2 + 0.5).clamp(0, 1)).permute(
        0, 2, 3, 1
    )
    assert abs(ours.numpy() - expected).max() < 1e-5


def test_time_grid():
    assert time_grid(10, 999) == [999, 899, 799, 699, 599, 499, 399, 299, 199, 99]
    assert time_grid(3, 400) == [400, 266, 133]
    assert time_grid(5, 4) == [4, 3, 2, 1, 0]


@pytest.mark.parametrize(
    "args, message",
    [
        ((5, 999, "foo"), r"grid='foo' is unknown; allowed: 'even', 'paper'"),
        ((0, 999), r"steps=0 is not allowed; allowed: integers 1\.\.t_start\+1 = 1000"),
        ((5, 3), r"steps=5 is not allowed; allowed: integers 1\.\.t_start\+1 = 4"),
        ((2, 1000), r"t_start=1000 is out of range; allowed: integers 0\.\.999"),
        ((2, -1), r"t_start=-1 is out of range; allowed: integers 0\.\.999"),
        ((1, 999, "paper"), r"steps=1 is not allowed with grid='paper' .*; allowed: steps >= 2"),
    ],
)
def test_a_time_grid_it_cannot_make_is_named(args, message):
    """Before: grid='foo' gave the even grid, steps=0 a ZeroDivisionError, steps > t_start + 1
    repeated times, t_start out of range times that are no DDPM times, and one paper step the time
    0 instead of t_start."""
    with pytest.raises(ValueError, match=message):
        time_grid(*args)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_sampler_is_deterministic(unet, sampler):
    noise = torch.randn(3, 1, 8, 8)
    first = sample(NetDenoiser(unet), noise, sampler, 6, grid=GRID.get(sampler, "even"))
    assert torch.equal(
        first, sample(NetDenoiser(unet), noise, sampler, 6, grid=GRID.get(sampler, "even"))
    )
    assert torch.isfinite(first).all()


class ConstantImage(Denoiser):
    """Predicts the same clean image everywhere: the ODE is then linear and every solver
    must end exactly on that image, unless its last step stops short of t = 0."""

    def __init__(self, image):
        super().__init__()
        self.image = image

    def x0(self, x, t):
        return self.image.expand_as(x)


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize(
    "t_start, steps", [(999, 10), (999, 3), (400, 7), (123, 5), (7, 8), (0, 1)]
)
def test_late_start_begins_at_t_start_and_ends_clean(sampler, t_start, steps, fashion8):
    image = fashion8[0][:1]
    x_t = torch.randn(4, 1, 8, 8)
    grid = GRID.get(sampler, "even")
    if grid == "paper" and steps == 1:
        pytest.skip("the paper's grid has at least two times")
    images, path = sample(
        ConstantImage(image),
        x_t,
        sampler,
        steps,
        t_start=t_start,
        return_trajectory=True,
        grid=grid,
    )
    assert path.t[0] == t_start and path.t == sorted(path.t, reverse=True)
    # exact for DDIM, Euler, DPM-Solver++ and Heun; PLMS's multistep mix of eps leaves < 3e-4. F-PNDM's last
    # Runge-Kutta call, at the clean image (at t = 0 here), is a sixth of its last eps, which enters scaled by
    # sqrt(1 - alpha_bar_0) = 0.01: < 1e-2. Stopping at t = 0 instead of a clean image would leave 0.01 |z| ~ 0.03.
    assert (images - image).abs().max() < (1e-2 if sampler == "f-pndm" else 1e-3)


@pytest.mark.parametrize("sampler", ["ddim", "dpm++", "euler", "heun"])
def test_late_start_of_the_optimal_denoiser_returns_training_images(sampler, fashion8):
    train = fashion8[0][:50]
    denoiser = EmpiricalDenoiser(train)
    a, s = denoiser.coefficients(torch.tensor([300]), train)
    x_t = a * train[:8] + s * torch.randn(8, 1, 8, 8)
    images = sample(denoiser, x_t, sampler, 20, t_start=300)
    assert torch.cdist(images.flatten(1), train.flatten(1)).min(1).values.max() < 0.02


def test_trajectory_records_states_and_predictions(unet):
    noise = torch.randn(5, 1, 8, 8)
    images, path = sample(NetDenoiser(unet), noise, "ddim", 4, return_trajectory=True, batch_size=2)
    assert path.x.shape == path.x0.shape == (4, 5, 1, 8, 8)
    assert torch.equal(path.x[0], noise)
    assert torch.allclose(path.x0[-1], images, atol=1e-5)  # the last DDIM step returns its x0 guess
    # other batching changes only the last float digits
    assert torch.allclose(images, sample(NetDenoiser(unet), noise, "ddim", 4), rtol=1e-4, atol=1e-3)


def test_eta_one_is_random_but_seeded(unet):
    noise = torch.randn(2, 1, 8, 8)
    run = lambda seed: sample(
        NetDenoiser(unet), noise, "ddim", 5, eta=1.0, generator=torch.Generator().manual_seed(seed)
    )
    assert torch.equal(run(0), run(0)) and not torch.equal(run(0), run(1))


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(sampler="ddpm"), "sampler='ddpm' is unknown; allowed: 'ddim', 'plms'"),
        (dict(sampler="pndm"), "sampler='pndm' is ambiguous .* allowed: 'plms' .* or 'f-pndm'"),
        (
            dict(sampler="f-pndm"),
            "grid='even' is not allowed with sampler='f-pndm'; allowed: 'paper'",
        ),
        (dict(grid="linear"), "grid='linear' is unknown; allowed: 'even', 'paper'"),
        (dict(grid="paper", steps=1), "steps=1 is not allowed with grid='paper'"),
        (dict(steps=0), "steps=0 is not allowed; allowed: integers 1..t_start"),
        (dict(t_start=1000), "t_start=1000 is out of range; allowed: integers 0..999"),
        (dict(t_start=-1), "t_start=-1 is out of range"),
        (dict(t_start=5, steps=7), "steps=7 is not allowed; allowed: integers 1..t_start\\+1 = 6"),
        (dict(sampler="heun", eta=1.0), "eta=1.0 is only for sampler='ddim'"),
        (dict(eta=2.0), "eta=2.0 is out of range"),
    ],
)
def test_bad_sampler_input_names_the_parameter(unet, options, message):
    with pytest.raises(ValueError, match=message):
        sample(NetDenoiser(unet), torch.randn(1, 1, 8, 8), **options)


@pytest.mark.parametrize(
    "noise, message",
    [
        (
            torch.randn(2, 1, 28, 28),
            r"noise has shape \(2, 1, 28, 28\); allowed: \(batch, 1, 8, 8\)",
        ),
        (torch.randn(2, 3, 8, 8), r"noise has shape \(2, 3, 8, 8\); allowed: \(batch, 1, 8, 8\)"),
        (torch.randn(1, 8, 8), r"noise has shape \(1, 8, 8\); allowed: \(batch, 1, 8, 8\)"),
        (
            torch.randn(0, 1, 8, 8),
            r"noise has shape \(0, 1, 8, 8\); allowed: a batch \(batch, ...\) of at least one",
        ),
        (
            torch.randn(2, 1, 8, 8, dtype=torch.float64),
            r"noise is a Tensor of dtype torch.float64; allowed: tensors of dtype torch.float32",
        ),
        (
            torch.full((2, 1, 8, 8), float("nan")),
            r"noise holds 128 non-finite values \(NaN or inf\); allowed: finite values",
        ),
        ([[0.0]], r"noise is a list of dtype None"),
    ],
)
def test_noise_a_model_cannot_take_is_named(unet, noise, message):
    """Before: a 28x28 noise gave 28x28 images from a 16x16 model and NaN noise NaN images, silently."""
    with pytest.raises(ValueError, match=message):
        sample(NetDenoiser(unet, sample_shape=(1, 8, 8)), noise, "ddim", 2)


def test_closed_form_denoisers_take_their_data_shape_and_precision(fashion8):
    mixture = GaussianMixtureDenoiser(fashion8[0][:3], 0.1)
    assert (
        sample(mixture, torch.randn(3, 1, 8, 8, dtype=torch.float64), "ddim", 2).dtype
        == torch.float64
    )
    denoiser = EmpiricalDenoiser(fashion8[0][:50])
    with pytest.raises(
        ValueError,
        match=r"noise is a Tensor of dtype torch.float64; allowed: tensors of dtype torch.float32",
    ):
        sample(denoiser, torch.randn(3, 1, 8, 8, dtype=torch.float64), "ddim", 2)
    with pytest.raises(ValueError, match=r"noise has shape \(3, 64\); allowed: \(batch, 1, 8, 8\)"):
        sample(denoiser, torch.randn(3, 64), "ddim", 2)


def test_seeded_noise_is_the_seed_s_normal_draw():
    assert torch.equal(
        difflab.seeded_noise(3, 4, (1, 2, 2)),
        torch.randn(4, 1, 2, 2, generator=torch.Generator().manual_seed(3)),
    )
    assert not torch.equal(
        difflab.seeded_noise(3, 4, (1, 2, 2)), difflab.seeded_noise(4, 4, (1, 2, 2))
    )
    for seed in (-(2**63), 2**64 - 1):  # torch's whole range of seeds
        assert torch.equal(
            difflab.seeded_noise(seed, 2, (3,)),
            torch.randn(2, 3, generator=torch.Generator().manual_seed(seed)),
        )


@pytest.mark.parametrize(
    "args, message",
    [
        ((0, -3, (1, 2, 2)), r"n=-3 is not allowed; allowed: an integer >= 1"),
        ((0, 0, (1, 2, 2)), r"n=0 is not allowed; allowed: an integer >= 1"),
        ((0, 2.0, (1, 2, 2)), r"n=2\.0 is not allowed; allowed: an integer >= 1"),
        (
            (2**64, 2, (1, 2, 2)),
            r"seed=18446744073709551616 is not allowed; allowed: an integer in -2\*\*63\.\.2\*\*64-1",
        ),
        (
            (1.5, 2, (1, 2, 2)),
            r"seed=1\.5 is not allowed; allowed: an integer in -2\*\*63\.\.2\*\*64-1",
        ),
        (
            (0, 2, (1, -2, 2)),
            r"shape=\(1, -2, 2\) is not allowed; allowed: a tuple of integers >= 1",
        ),
        ((0, 2, 5), r"shape=5 is not allowed; allowed: a tuple of integers >= 1"),
    ],
)
def test_noise_it_cannot_draw_is_named(args, message):
    """Before: n=-3, seed=2**64 and a negative side were a raw RuntimeError, n=0 an empty set."""
    with pytest.raises(ValueError, match=message):
        difflab.seeded_noise(*args)


@pytest.mark.parametrize("batch_size", [0, -2, 2.5])
def test_a_batch_size_sample_cannot_take_is_named(unet, batch_size):
    """Before: batch_size=0 was a ZeroDivisionError, a negative one a raw RuntimeError."""
    with pytest.raises(
        ValueError,
        match=rf"batch_size={batch_size!r} is not allowed; allowed: an integer >= 1",
    ):
        run_sampler(NetDenoiser(unet), torch.randn(2, 1, 8, 8), batch_size=batch_size)


def test_a_trajectory_applies_another_function_at_each_of_its_states(unet):
    model = NetDenoiser(unet)
    _, path = sample(model, torch.randn(3, 1, 8, 8), "ddim", 5, return_trajectory=True, cache=False)
    assert torch.allclose(path.apply(model.x0), path.x0, atol=1e-5)  # its own predictions again
    times = path.apply(lambda x, t: t.float().view(-1, 1).expand(len(x), 2))
    assert times.shape == (5, 3, 2) and times[:, 0, 0].tolist() == path.t


def test_a_network_made_float64_takes_float64_noise(unet):
    """benchmarks/sampling.py's exact reference: the same sampler with the network in float64."""
    noise = torch.randn(2, 1, 8, 8)
    exact = sample(NetDenoiser(copy.deepcopy(unet).double()), noise.double(), "ddim", 4)
    assert exact.dtype == torch.float64
    assert (
        exact.float() - sample(NetDenoiser(unet), noise, "ddim", 4)
    ).abs().max() < 1e-4 * exact.abs().max()
