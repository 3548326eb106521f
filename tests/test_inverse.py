"""Inverse-problem solvers (difflab.core.inverse) and chapter 6's experiment around them
(difflab.chapters.ch06_beyond_unconditional), on the closed-form Gaussian denoiser: cheap, exact and
deterministic."""

import pandas as pd
import pytest
import torch

from difflab.book.sample_cache import sample
from difflab.chapters import ch06_beyond_unconditional as ch06
from difflab.core import inverse, sampling
from difflab.core.denoisers import GaussianDenoiser

OPERATORS = {
    "inpainting": inverse.Inpainting.lower_half((1, 8, 8)),
    "super-resolution": inverse.Downsampling(4),
}


@pytest.fixture(scope="module")
def gaussian(fashion8):
    return GaussianDenoiser.fit(fashion8[0])


@pytest.fixture(scope="module")
def truth(fashion8):
    return fashion8[0][:12]


def _noise(n, seed=0):
    return torch.randn(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", OPERATORS)
def test_operators_have_a_right_inverse_and_split_an_image_in_two(name, truth):
    A = OPERATORS[name]
    y = A(truth)
    assert torch.allclose(A(A.pinv(y)), y, atol=1e-6)  # A A+ = I
    open_part = A.unseen(truth)
    assert A(open_part).abs().max() < 1e-6  # invisible to the measurement
    assert torch.allclose(A.unseen(open_part), open_part, atol=1e-6)  # a projection


@pytest.mark.parametrize("name", OPERATORS)
def test_projection_meets_the_measurement_to_float_precision_and_is_deterministic(
    name, gaussian, truth
):
    A = OPERATORS[name]
    y = A(truth)
    x = inverse.project(gaussian, A, y, _noise(len(truth)), steps=20)
    assert inverse.residual(A, x, y).max() < 1e-5
    assert torch.equal(x, inverse.project(gaussian, A, y, _noise(len(truth)), steps=20))
    assert A.unseen(x).abs().mean() > 0.01  # it filled in the open part


def test_projection_with_everything_known_returns_the_measurement(gaussian, truth):
    everything = inverse.Inpainting(torch.ones(1, 8, 8, dtype=torch.bool))
    x = inverse.project(gaussian, everything, truth, _noise(len(truth)), steps=10)
    assert torch.allclose(x, truth, atol=1e-5)


@pytest.mark.parametrize("name", OPERATORS)
def test_dps_moves_toward_the_measurement_and_is_deterministic(name, gaussian, truth):
    A = OPERATORS[name]
    y, noise = A(truth), _noise(len(truth), seed=1)
    free = inverse.residual(A, sample(gaussian, noise, "dpm++", 20), y)
    guided = inverse.dps(gaussian, A, y, noise, steps=20, step_size=1.0)
    assert inverse.residual(A, guided, y).median() < 0.5 * free.median()
    assert torch.equal(guided, inverse.dps(gaussian, A, y, noise, steps=20, step_size=1.0))
    unguided = inverse.dps(
        gaussian, A, y, noise, steps=20, step_size=0.0
    )  # no guidance: the plain sampler
    assert torch.allclose(unguided, sample(gaussian, noise, "dpm++", 20), atol=1e-5)


@pytest.mark.parametrize("sampler", inverse.DPS_SAMPLERS)
def test_dps_without_guidance_is_the_plain_sampler_bit_for_bit(sampler, gaussian, truth):
    """step_size = 0 leaves DPS the sampler's own loop: start, scale_model_input and step as
    difflab.core.sampling runs them (euler's start and scale_model_input are not the identity)."""
    A = OPERATORS["super-resolution"]
    y, noise = A(truth), _noise(len(truth), seed=2)
    plain = sampling.run_sampler(gaussian, noise, sampler, 12)
    assert torch.equal(inverse.dps(gaussian, A, y, noise, 12, 0.0, sampler), plain)
    guided = inverse.dps(gaussian, A, y, noise, 12, 1.0, sampler)  # and guidance guides
    assert inverse.residual(A, guided, y).median() < inverse.residual(A, plain, y).median()


@pytest.mark.parametrize("skipped", ["start", "scale_model_input"])
def test_dps_without_a_step_of_the_protocol_is_caught(skipped, gaussian, truth, monkeypatch):
    """The mutants the check above catches: euler's run with `start` or `scale_model_input` made
    the identity is another run."""
    A, noise = OPERATORS["super-resolution"], _noise(len(truth), seed=2)
    plain = sampling.run_sampler(gaussian, noise, "euler", 12)
    identity = {"start": lambda self, x: x, "scale_model_input": lambda self, x, index: x}
    monkeypatch.setattr(sampling.GridScheduler, skipped, identity[skipped])
    mutant = inverse.dps(gaussian, A, A(truth), noise, 12, 0.0, "euler")
    assert not torch.allclose(mutant, plain, atol=1e-3)


def test_dps_steps_with_the_samplers_that_call_the_denoiser_once_per_step(gaussian, truth):
    once = {
        name
        for name, spec in sampling.SAMPLERS.items()
        if sampling.evaluations(name, 10, grid=spec.grids[0]) == 10
    }
    assert set(inverse.DPS_SAMPLERS) == once == {"dpm++", "ddim", "euler"}
    A = OPERATORS["super-resolution"]
    for sampler in sorted(set(sampling.SAMPLERS) - once) + ["ddpm"]:
        with pytest.raises(
            ValueError,
            match=rf"sampler='{sampler}' is not allowed; allowed: 'dpm\+\+', 'ddim', 'euler'",
        ):
            inverse.dps(gaussian, A, A(truth), _noise(len(truth)), 10, 1.0, sampler)


def test_bad_input_names_what_is_allowed(gaussian, truth):
    with pytest.raises(ValueError, match="y has shape"):
        inverse.project(
            gaussian, inverse.Downsampling(4), truth, _noise(len(truth))
        )  # not measured
    with pytest.raises(ValueError, match="y has shape"):
        inverse.project(
            gaussian,
            inverse.Downsampling(4),
            inverse.Downsampling(4)(truth[:3]),
            _noise(len(truth)),
        )
    with pytest.raises(ValueError, match="do not tile"):
        inverse.Downsampling(3)(truth)
    with pytest.raises(ValueError, match="factor=1"):
        inverse.Downsampling(1)
    with pytest.raises(ValueError, match="allowed: a bool tensor"):
        inverse.Inpainting(torch.ones(16, 16))
    with pytest.raises(ValueError, match="do not fit a mask"):
        inverse.Inpainting.lower_half((1, 16, 16))(truth)
    with pytest.raises(ValueError, match="step_size=-1"):
        inverse.dps(
            gaussian,
            inverse.Downsampling(4),
            inverse.Downsampling(4)(truth),
            _noise(len(truth)),
            step_size=-1,
        )
    with pytest.raises(ValueError, match="non-finite"):
        y = inverse.Downsampling(4)(truth)
        y[0, 0, 0, 0] = float("nan")
        inverse.project(gaussian, inverse.Downsampling(4), y, _noise(len(truth)))


def test_solve_names_its_solvers(gaussian, truth):
    A = OPERATORS["super-resolution"]
    y, noise = A(truth), _noise(len(truth))
    assert torch.equal(
        ch06.solve(gaussian, A, y, noise, "projection", 10),
        inverse.project(gaussian, A, y, noise, 10),
    )
    assert torch.equal(
        ch06.solve(gaussian, A, y, noise, "dps", 10, 0.5),
        inverse.dps(gaussian, A, y, noise, 10, 0.5),
    )
    with pytest.raises(ValueError, match="solver='ddnm' is unknown"):
        ch06.solve(gaussian, A, y, noise, "ddnm")


def test_agreement_is_scored_against_the_same_measurement_with_other_noise(gaussian, fashion8):
    A, truth = OPERATORS["inpainting"], fashion8[0][:200]
    y = A(truth)
    first = inverse.project(gaussian, A, y, _noise(200, 0), 10)
    other = inverse.project(gaussian, A, y, _noise(200, 1), 10)
    same = ch06.solution_agreement(first, first, other, truth, A)
    assert same["rp"] == 1 and same["median_similarity"] == pytest.approx(1)
    assert same["threshold"] < 1 and same["truth_median"] < 1
    unrelated = ch06.solution_agreement(
        first, first.roll(1, 0), other, truth, A
    )  # other measurements
    assert unrelated["rp"] < 0.2


def test_solve_and_compare_scores_the_first_prior_against_each_other_one(gaussian, fashion8):
    A, truth = OPERATORS["super-resolution"], fashion8[0][:100]
    mirrored = GaussianDenoiser.fit(fashion8[0].flip(-1))  # another prior: mirrored images'
    priors = {"first": gaussian, "twin": gaussian, "mirrored": mirrored}
    images, rows = ch06.solve_and_compare(
        priors, A, truth, _noise(100, 0), _noise(100, 1), "projection", 10
    )
    assert torch.equal(images["first"], images["twin"]) and [r["partner"] for r in rows] == [
        "twin",
        "mirrored",
    ]
    assert rows[0]["rp"] == 1 and rows[0]["largest residual"] < 1e-5
    assert rows[1]["median_similarity"] < rows[0]["median_similarity"]
    table = pd.DataFrame(
        [
            {"task": t, "solver": s, "seed": 0, **row}
            for t in ("inpainting", "down-sampling")
            for s in ch06.SOLVERS
            for row in rows
        ]
    )
    margins = ch06.inverse_claims(table, "twin", "mirrored", "mirrored")
    assert margins["projection_seed_rp_min"] == 1 and margins["projection_residual_max"] < 1e-5
    assert margins["projection_baseline_margin_min"] == 0  # the baseline is one of the pair here
    assert margins["dps_inpainting_seed_rp_max"] == 1


def test_the_inverse_experiment_solves_every_task_and_solver_at_every_seed(gaussian, fashion8):
    tasks = {"down-sampling": OPERATORS["super-resolution"]}
    noise = {0: _noise(20, 0), 1: _noise(20, 1)}
    priors = {"first": gaussian, "twin": gaussian}
    solutions, table = ch06.inverse_experiment(priors, tasks, fashion8[0], noise, [0, 1], 10, 5)
    assert set(solutions) == {("down-sampling", s, seed) for s in ch06.SOLVERS for seed in (0, 1)}
    assert len(table) == 4 and set(table["partner"]) == {"twin"} and (table["rp"] == 1).all()
    _, rows = ch06.solve_and_compare(
        priors,
        tasks["down-sampling"],
        fashion8[0][10:20],
        noise[1][:10],
        noise[0][:10],
        "projection",
        5,
    )
    assert table.query("seed == 1 and solver == 'projection'")["rp"].tolist() == [rows[0]["rp"]]
