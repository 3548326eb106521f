"""F-PNDM against a direct transcription of the second paper's sampler, on the Gaussian denoiser."""

import pytest
import torch

from difflab.book.sample_cache import sample
from difflab.core.denoisers import GaussianDenoiser
from difflab.core.pndm import FPNDM, transfer
from difflab.core.sampling import evaluations, time_grid
from difflab.core.schedule import alphas_cumprod


def paper_pndm(model, x, seq, alphas_cump):
    """Raya and Ambrogioni's `pndm_sampling_fn` with `gen_order_4`, `runge_kutta` and `transfer`
    line by line. Their alphas_cump[t + 1] is read here as PNDM's original table, a 1 and then
    alpha_bar_0..999 (so index t + 1 holds alpha_bar_t, and t = -1 the clean image's 1)."""

    def paper_transfer(x, t, t_next, et):
        at = alphas_cump[int(t) + 1]  # t.long(): truncation toward zero
        at_next = alphas_cump[int(t_next) + 1]
        x_delta = (at_next - at) * (
            (1 / (at.sqrt() * (at.sqrt() + at_next.sqrt()))) * x
            - 1 / (at.sqrt() * (((1 - at_next) * at).sqrt() + ((1 - at) * at_next).sqrt())) * et
        )
        return x + x_delta

    def runge_kutta(x, t_list, ets):
        e_1 = model(x, t_list[0])
        ets.append(e_1)
        x_2 = paper_transfer(x, t_list[0], t_list[1], e_1)
        e_2 = model(x_2, t_list[1])
        x_3 = paper_transfer(x, t_list[0], t_list[1], e_2)
        e_3 = model(x_3, t_list[1])
        x_4 = paper_transfer(x, t_list[0], t_list[2], e_3)
        e_4 = model(x_4, t_list[2])
        return (1 / 6) * (e_1 + 2 * e_2 + 2 * e_3 + e_4)

    ets, seq_next = [], [-1, *seq[:-1]]
    for t, t_next in zip(reversed(seq), reversed(seq_next)):
        if len(ets) > 2:
            ets.append(model(x, t))
            noise = (1 / 24) * (55 * ets[-1] - 59 * ets[-2] + 37 * ets[-3] - 9 * ets[-4])
        else:
            noise = runge_kutta(x, [t, (t + t_next) / 2, t_next], ets)
        x = paper_transfer(x, t, t_next, noise)
    return x


@pytest.fixture(scope="module")
def gaussian(fashion8):
    return GaussianDenoiser.fit(fashion8[0])


@pytest.mark.parametrize("steps,t_start", [(3, 998), (5, 600), (10, 998), (4, 7)])
def test_f_pndm_is_the_papers_sampler_on_the_gaussian_denoiser(gaussian, steps, t_start):
    x = torch.randn(6, 1, 8, 8, generator=torch.Generator().manual_seed(steps), dtype=torch.float64)
    table = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod().double()])
    # our denoisers take integer times from 0: the paper's fractional midpoints truncated, its t = -1 call at 0
    eps = lambda x, t: gaussian.eps(x, torch.full((len(x),), max(int(t), 0)))
    seq = time_grid(steps, t_start, "paper")[::-1]  # the paper's seq: 0, ..., t_start
    expected = paper_pndm(eps, x, seq, table)
    ours = sample(gaussian, x, "f-pndm", steps, t_start=t_start, grid="paper", cache=False)
    assert (ours - expected).abs().max() < 1e-12 * expected.abs().max()


class Counting(GaussianDenoiser):
    calls = 0

    def x0(self, x, t):
        Counting.calls += 1
        return super().x0(x, t)


@pytest.mark.parametrize(
    "sampler,steps,nfe",
    [("f-pndm", 3, 12), ("f-pndm", 5, 14), ("f-pndm", 10, 19), ("ddim", 5, 5), ("plms", 5, 6)],
)
def test_evaluations_are_the_denoisers_calls(fashion8, sampler, steps, nfe):
    """NFE: 4 per Runge-Kutta step, 1 per multistep step; diffusers' PLMS repeats its first time."""
    flat = fashion8[0].flatten(1).double()
    counting = Counting(flat.mean(0).view(1, 8, 8), torch.cov(flat.T))
    Counting.calls = 0
    sample(
        counting, torch.randn(2, 1, 8, 8), sampler, steps, t_start=998, grid="paper", cache=False
    )
    assert Counting.calls == evaluations(sampler, steps, 998, "paper") == nfe


def test_transfer_is_ddims_step():
    """PNDM's transfer is DDIM's x' = sqrt(a'/a) x + (sqrt(1 - a') - sqrt(a' (1 - a) / a)) eps."""
    x, eps = torch.randn(3, 4, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    a, a_next = 0.3, 0.7
    ddim = (a_next / a) ** 0.5 * x + ((1 - a_next) ** 0.5 - (a_next * (1 - a) / a) ** 0.5) * eps
    assert torch.allclose(transfer(x, eps, a, a_next), ddim, atol=1e-14)


def test_the_paper_grid_ends_at_zero_and_f_pndm_evaluates_at_its_midpoints():
    assert time_grid(10, 999, "paper") == [999, 888, 777, 666, 555, 444, 333, 222, 111, 0]
    assert time_grid(3, 400, "paper") == [400, 200, 0]
    assert FPNDM([400, 200, 0], alphas_cumprod()).times == [
        400,
        300,
        300,
        200,
        200,
        100,
        100,
        0,
        0,
        0,
        0,
        0,
    ]
    assert FPNDM(
        [
            999,
            499,
            0,
        ],
        alphas_cumprod(),
    ).times[:4] == [999, 749, 749, 499]
    assert FPNDM([9, 7, 5, 3, 1], alphas_cumprod()).times[12:] == [
        3,
        1,
    ]  # multistep: one call per step


@pytest.mark.parametrize(
    "grid,message", [([3, 5, 1], "largest first"), ([3, 1, -1], "distinct times >= 0")]
)
def test_a_bad_grid_is_named(grid, message):
    with pytest.raises(ValueError, match=message):
        FPNDM(grid, alphas_cumprod())
