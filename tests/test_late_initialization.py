"""The Gaussian of the noised data: its moments are those of actually noised images."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from difflab.chapters.ch05_late_initialization import (
    BASELINE,
    CLAIMED,
    EQUAL_NFE,
    PREDICTIONS,
    best_starts,
    checks,
    claim_margins,
    entropy_intervals,
    fid_ratio,
    fit_check,
    generate,
    improvement_intervals,
    losing_starts,
    paper_start,
    score_table,
    seed_margins,
    seed_tables,
    start_sweep,
    sweep_curve,
    sweep_ratios,
    sweep_seed_claims,
    sweep_table,
    table_claims,
    table_starts,
)
from difflab.core.denoisers import GaussianDenoiser
from difflab.core.gaussian import DataMoments, NoisedGaussian
from difflab.core.schedule import alphas_cumprod


def test_fit_matches_the_moments_of_noised_data(fashion8):
    data = fashion8[0]
    t = 600
    fitted = NoisedGaussian.fit(data, t)
    a = alphas_cumprod().double()[t].sqrt()
    g = torch.Generator().manual_seed(0)
    noised = torch.cat(
        [
            a * data.flatten(1).double()
            + (1 - a**2).sqrt()
            * torch.randn(data.flatten(1).shape, generator=g, dtype=torch.float64)
            for _ in range(80)
        ]
    )
    assert torch.allclose(fitted.mean, noised.mean(0), atol=0.025)  # 5 standard errors
    assert (fitted.cov - torch.cov(noised.T)).abs().max() < 0.03  # 80 noisings of 512 images


def test_samples_have_the_fitted_moments_and_shape(fashion8):
    fitted = NoisedGaussian.fit(fashion8[0], 400)
    draws = fitted.sample(40_000, torch.Generator().manual_seed(1))
    assert draws.shape == (40_000, *fashion8[0].shape[1:]) and draws.dtype == torch.float32
    flat = draws.flatten(1).double()
    assert torch.allclose(flat.mean(0), fitted.mean, atol=0.03)
    assert (torch.cov(flat.T) - fitted.cov).abs().max() < 0.05
    assert (
        fitted.eigenvalues.min() >= 1 - alphas_cumprod().double()[400] - 1e-12
    )  # never below the noise


def test_bad_input_names_the_parameter(fashion8):
    with pytest.raises(ValueError, match="t=1000 is out of range"):
        NoisedGaussian.fit(fashion8[0][:10], 1000)
    with pytest.raises(ValueError, match="data holds 1 image"):
        NoisedGaussian.fit(fashion8[0][:1], 500)


def test_generate_starts_from_noise_or_from_the_fitted_gaussian(fashion8):
    data = fashion8[0]
    moments = DataMoments.of(data)
    gaussian = GaussianDenoiser.fit(data)  # exact for Gaussian data: a cheap stand-in network
    from_noise = generate(gaussian, moments, "DDIM", 5, 64, seed=3)
    late = generate(gaussian, moments, "DDIM", 5, 64, seed=3, t_start=400)
    assert from_noise.shape == late.shape == (64, *data.shape[1:])
    assert torch.equal(
        late, generate(gaussian, moments, "DDIM", 5, 64, seed=3, t_start=400)
    )  # one seed, one answer
    assert not torch.equal(
        late, generate(gaussian, moments, "DDPM (η = 1)", 5, 64, seed=3, t_start=400)
    )
    with pytest.raises(ValueError, match="sampler='ddim' is unknown; allowed: 'DDIM'"):
        generate(gaussian, moments, "ddim", 5, 4, seed=0)


def test_start_sweep_scores_every_start_with_the_same_seed(fashion8):
    data = fashion8[0]
    moments, gaussian = DataMoments.of(data), GaussianDenoiser.fit(data)
    gap = lambda images: (images.mean(0) - data.mean(0)).abs().mean().item()
    mean_gap = SimpleNamespace(fid=gap)  # a stand-in for quality.FeatureDistance
    fid = start_sweep(gaussian, moments, mean_gap, "DDIM", 3, [300, 600], 256, seed=1, grid="even")
    assert list(fid) == [None, 300, 600]
    assert fid[600] == gap(generate(gaussian, moments, "DDIM", 3, 256, 1, 600, grid="even"))
    assert fid[600] != gap(
        generate(gaussian, moments, "DDIM", 3, 256, 1, 600)
    )  # DDIM's own: the paper's grid
    table = sweep_table(gaussian, moments, mean_gap, [3], [300, 600], 256, seed=1)
    assert list(table.columns) == ["sampler", "steps", "start", "FID"] and len(table) == 3 * 3
    assert table[table.sampler == "DDIM"].FID.tolist() == list(fid.values())
    assert table.start.tolist()[:3] == [BASELINE, 300, 600]


def _scored(rows) -> pd.DataFrame:
    """A made-up score table: every (sampler, steps) row from both starts, gls better in both scores."""
    return pd.DataFrame(
        [
            {
                "sampler": s,
                "steps": k,
                "start": start,
                "FID": 10.0 if start == "baseline" else 5.0,
                "label entropy": 2.0 if start == "baseline" else 2.2,
            }
            for s, k in rows
            for start in ("baseline", "gls")
        ]
    )


def test_claim_margins_take_each_claim_at_its_worst_row():
    rows = {row for claim in CLAIMED.values() for row in claim}
    table = _scored(rows)
    table = table.set_index(["sampler", "steps", "start"]).sort_index()
    table.loc[("PNDM", 5, "gls"), "FID"] = 7.0
    table.loc[("DDPM (η = 1)", 3, "gls"), "label entropy"] = 2.05
    margins = claim_margins(table, train_entropy=2.3)
    assert margins["fid_ratio_max"] == pytest.approx(0.7)
    assert margins["entropy_gap_margin"] == pytest.approx(0.05)
    assert margins["gls3_over_base5_max"] == pytest.approx(0.5)  # 5 / 10 for every sampler


def test_fit_check_finds_a_gaussian_fit_to_gaussian_data_and_not_to_two_clusters():
    """For Gaussian data the noised data sit on the sampling floor of their fit at every step; for
    two clusters they leave it once the noise is small (the bifurcation)."""
    g = torch.Generator().manual_seed(0)
    gaussian = torch.randn(4000, 1, 4, 4, generator=g) * 0.5
    clusters = gaussian * 0.2 + torch.where(torch.rand(4000, 1, 1, 1, generator=g) < 0.5, -0.8, 0.8)
    for data, late_ratio in [(gaussian, lambda r: r < 3), (clusters, lambda r: r > 3)]:
        fits = fit_check(
            data, DataMoments.of(data), [900, 100], n_images=4000, n_draws=1000, n_directions=2
        )
        ratio = fits["SW2 data vs fit"] / fits["SW2 fit vs fit"]
        assert list(fits.index) == [900, 100] and ratio[900] < 3 and late_ratio(ratio[100])
        assert fits["mean error"].max() < 0.1
    again = fit_check(
        gaussian,
        DataMoments.of(gaussian),
        [900],
        n_images=1000,
        n_draws=500,
        n_directions=2,
        seed=0,
    )
    other = fit_check(
        gaussian,
        DataMoments.of(gaussian),
        [900],
        n_images=1000,
        n_draws=500,
        n_directions=2,
        seed=1,
    )
    assert again.equals(
        fit_check(
            gaussian, DataMoments.of(gaussian), [900], n_images=1000, n_draws=500, n_directions=2
        )
    )
    assert not again.equals(other)  # the seed picks other images and draws


def test_sweep_curves_best_starts_and_ratios():
    rows = [
        ("DDIM", 3, BASELINE, 10.0),
        ("DDIM", 3, 400, 4.0),
        ("DDIM", 3, 600, 5.0),
        ("PNDM", 3, BASELINE, 20.0),
        ("PNDM", 3, 400, 9.0),
        ("PNDM", 3, 600, 5.0),
    ]
    sweep = pd.DataFrame(rows, columns=["sampler", "steps", "start", "FID"])
    late, baseline = sweep_curve(sweep, "PNDM", 3)
    assert late.to_dict() == {400: 9.0, 600: 5.0} and baseline == 20.0
    best = best_starts(sweep)
    assert best == {("DDIM", 3): 400, ("PNDM", 3): 600}
    assert sweep_ratios(sweep, best) == {("DDIM", 3): 0.4, ("PNDM", 3): 0.25}
    assert losing_starts(sweep) == []
    late_and_early = pd.DataFrame(
        [
            ("DDIM", 3, BASELINE, 10.0),
            ("DDIM", 3, 200, 12.0),
            ("DDIM", 3, 400, 4.0),
            ("DDIM", 3, 800, 11.0),
        ],
        columns=["sampler", "steps", "start", "FID"],
    )
    assert losing_starts(late_and_early) == [200]  # 800 loses too, but it is an early start


def test_top_direction_and_the_side_of_it_an_image_lies_on():
    g = torch.Generator().manual_seed(5)
    data = torch.randn(2000, 1, 2, 2, generator=g) * torch.tensor([3.0, 1.0, 1.0, 1.0]).view(
        1, 1, 2, 2
    )
    moments = DataMoments.of(data)
    lam, e = moments.top
    assert lam == pytest.approx(9, rel=0.1) and abs(e[0].item()) == pytest.approx(1, abs=0.01)
    probe = moments.mean.view(1, 1, 2, 2) + torch.stack([e, -e]).view(2, 1, 2, 2)
    assert moments.side(probe.float()).tolist() == [True, False]


def test_sweep_seed_claims_read_the_worst_seed_of_each_claim():
    rows = [
        {"seed": seed, "sampler": sampler, "steps": steps, "best_start": start, "gain": gain}
        for seed, shift in [(0, 0), (1, 100)]
        for sampler, steps, start, gain in [
            ("PLMS", 3, 600, 9.0),
            ("PLMS", 5, 500, 2.0),
            ("DDIM", 3, 300, 3.0),
            ("DDIM", 5, 400, 2.0),
            ("DDIM", 10, 500, 1.5 + shift / 1000),
            ("DDPM (η = 1)", 3, 300 + shift, 4.0),
        ]
    ]
    claims = sweep_seed_claims(rows)
    assert claims == {
        "seeds": 2,
        "pndm_best_min": 500,
        "pndm_best_max": 600,
        "ddim_best_max": 500,
        "ddim10_gain_margin_min": pytest.approx(0.4),
    }


def test_the_table_starts_where_the_paper_did():
    assert [paper_start("DDIM", k) for k in (3, 5, 10, 12)] == [400, 500, 500, 500]
    assert (
        paper_start("DDPM (η = 1)", 3) == 400
        and paper_start("PNDM", 3) == paper_start("PNDM", 10) == 600
    )
    with pytest.raises(
        ValueError, match="sampler='PLMS' has no start in the paper; allowed: 'DDIM'"
    ):
        paper_start("PLMS", 3)
    starts = table_starts({("PLMS", 3): 700, ("PLMS", 5): 500, ("DDIM", 3): 300})
    assert (
        starts["PLMS", 3] == 700
        and starts["DDIM", 3] == 400
        and starts[EQUAL_NFE] == 500
        and len(starts) == 12
    )


class Uniform:
    """A stand-in classifier: one label per image from its mean's sign (two classes)."""

    head = torch.nn.Linear(1, 2)

    def predict(self, images):
        return torch.nn.functional.one_hot((images.flatten(1).mean(1) > 0).long(), 2).float()


def test_score_table_scores_both_starts_of_each_row_with_its_grid_and_nfe(fashion8):
    data = fashion8[0]
    moments, gaussian = DataMoments.of(data), GaussianDenoiser.fit(data)
    distance = lambda images: {
        "fid": (images.mean(0) - data.mean(0)).abs().mean().item(),
        "kid": 0.0,
    }
    table = score_table(
        gaussian,
        moments,
        distance,
        Uniform(),
        [("PNDM", 3), ("PLMS", 3)],
        {("PNDM", 3): 600, ("PLMS", 3): 500},
        32,
        seed=2,
    )
    assert list(table.index) == [
        ("PNDM", 3, "baseline"),
        ("PNDM", 3, "gls"),
        ("PLMS", 3, "baseline"),
        ("PLMS", 3, "gls"),
    ]
    assert (
        table["NFE"].tolist() == [12, 12, 4, 4]
        and table["grid"].tolist() == ["paper"] * 2 + ["even"] * 2
    )
    assert table["t_s"].tolist() == [999, 600, 999, 500]
    late = generate(gaussian, moments, "PNDM", 3, 32, 2, 600)
    assert table.loc[("PNDM", 3, "gls"), "FID"] == distance(late)["fid"]


def test_table_claims_read_the_papers_comparisons():
    rows = {*table_starts({("PLMS", 3): 600, ("PLMS", 5): 500})}
    table = _scored(rows)
    table = table.set_index(["sampler", "steps", "start"]).sort_index()
    table.loc[("PNDM", 3, "gls"), "FID"] = 4.0
    table.loc[(*EQUAL_NFE, "baseline"), "FID"] = 2.0
    claims = table_claims(table, train_entropy=2.3)
    assert claims["fid_ratio_max"] == pytest.approx(0.5) and claims[
        "pndm3_improvement"
    ] == pytest.approx(2.5)
    assert claims["pndm_gls3_over_base5"] == pytest.approx(0.4)
    assert claims["equal_nfe_gls"] == pytest.approx(1.25) and claims[
        "equal_nfe_baseline"
    ] == pytest.approx(0.2)
    assert (
        fid_ratio(table, CLAIMED["fid"]) == claims["fid_ratio_max"]
        and fid_ratio(table, [("PNDM", 3)]) == 0.4
    )


def _seeded_tables() -> dict[int, pd.DataFrame]:
    """Made-up final tables of three seeds: seed s's FIDs are seed 1's times 1 + (s - 1) / 100."""
    rows = {*table_starts({("PLMS", k): 500 for k in (3, 5, 10)})}
    first = _scored(rows).set_index(["sampler", "steps", "start"]).sort_index()
    first.loc[("DDIM", 10, "gls"), "FID"] = 8.0  # DDIM gains least at 10 steps
    tables = {}
    for seed in (1, 2, 3):
        table = first.copy()
        table["FID"] *= 1 + (seed - 1) / 100
        table.loc[("DDIM", 3, "gls"), "FID"] = 5.0 - seed / 10  # the improvement grows with seed
        tables[seed] = table
    return tables


def test_seed_tables_read_the_study_rows_back():
    tables = _seeded_tables()
    rows = [
        {"seed": s, "table": t.reset_index().to_dict(orient="records")} for s, t in tables.items()
    ]
    read = seed_tables(rows)
    assert list(read) == [1, 2, 3] and read[2].equals(tables[2])


def test_improvements_carry_their_interval_over_the_seeds():
    found = improvement_intervals(_seeded_tables())
    ddim3 = found["DDIM", 3]
    assert ddim3.n == 3 and ddim3.unit == "seeds"
    assert ddim3.estimate == pytest.approx(
        np.mean([10 * (1 + (s - 1) / 100) / (5 - s / 10) for s in (1, 2, 3)])
    )
    assert ddim3.low < ddim3.estimate < ddim3.high
    assert found["PNDM", 5] == (
        2.0,
        2.0,
        2.0,
        3,
        "seeds",
        "Student t",
    )  # the same ratio at every seed
    entropy = entropy_intervals(_seeded_tables())
    assert entropy.loc[("DDIM", 3), "gls"].estimate == pytest.approx(2.2)


def test_seed_margins_decide_each_prediction_per_seed():
    tables = _seeded_tables()
    fits = [{"seed": s, "sw_ratio_early_max": 1.2, "sw_ratio_400": 1.9 + s / 10} for s in range(3)]
    sweeps = [
        {"seed": s, "sampler": sampler, "steps": k, "best_start": start}
        for s in range(2)
        for sampler, start in (("DDIM", 400), ("PLMS", 500 + 100 * s))
        for k in (3, 5)
    ]
    critical = {"points formula": 621, "speciation": 563}
    margins = seed_margins(tables, 2.3, 0.6, fits, sweeps, critical)
    assert set(margins) == set(PREDICTIONS)
    assert margins["fid_ratio"][1] == pytest.approx(0.8 - 0.5)
    assert margins["ddim10_least"][1] == pytest.approx(2 - 1.25)
    moved = {s: 1 - (5 - s / 10) / 4.9 for s in (2, 3)}  # DDIM 3 gls moves most
    assert margins["seed_moves"].to_dict() == pytest.approx({s: 0.2 - m for s, m in moved.items()})
    assert margins["leave_400"].tolist() == pytest.approx([-0.1, 0.0, 0.1])
    assert margins["ddim_start"].tolist() == [221, 221]
    assert margins["plms_start"].tolist() == [37, 121]  # 500 - 463; 721 - 600
    frame = checks(margins)
    assert frame.loc[PREDICTIONS["leave_400"], "point verdict"] == "failed"
    assert frame.loc[PREDICTIONS["leave_400"], "verdict"] == "undecided"
    assert frame.loc[PREDICTIONS["fid_ratio"], "verdict"] == "held"
    assert frame.loc[PREDICTIONS["seed_moves"], "seeds"] == "2"
