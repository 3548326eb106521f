"""Switching models mid-trajectory, on closed-form denoisers of two halves of a small data set."""

import numpy as np
import pandas as pd
import pytest
import torch

from difflab.book.sample_cache import sample
from difflab.chapters import ch07_when_decided as switching
from difflab.core.denoisers import EmpiricalDenoiser, GaussianDenoiser

STEPS = 10


@pytest.fixture(scope="module")
def pair(fashion8):
    images = fashion8[0]
    return GaussianDenoiser.fit(images[:256]), EmpiricalDenoiser(images[256:])


@pytest.fixture(scope="module")
def noise():
    return torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def run(pair, noise):
    return switching.switched(*pair, noise, STEPS)


def test_switching_at_the_ends_gives_each_models_own_image_bit_for_bit(pair, noise, run):
    times, images = run
    assert times[0] == 999 and len(times) == STEPS and images.shape == (STEPS + 1, *noise.shape)
    assert torch.equal(images[0], sample(pair[1], noise, "ddim", STEPS))
    assert torch.equal(images[-1], sample(pair[0], noise, "ddim", STEPS))


def test_switching_needs_a_grid_whose_tails_are_grids(pair, noise):
    with pytest.raises(ValueError, match="steps=7"):
        switching.switched(*pair, noise, 7)


def test_the_birth_budget_sums_to_one_in_all_and_in_every_band(run):
    budget = switching.birth_budget(run[1])
    assert budget.shape == (STEPS, 16)
    assert torch.allclose(budget.sum(0), torch.ones(16, dtype=torch.float64), atol=1e-9)
    basis = torch.linalg.qr(
        torch.randn(64, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    )[0]
    assert torch.allclose(
        switching.birth_budget(run[1], basis).sum(0), torch.ones(16, dtype=torch.float64), atol=1e-9
    )
    identity = switching.birth_budget(run[1], torch.eye(64))
    assert torch.allclose(identity, budget, atol=1e-9)


def test_the_budget_of_two_identical_models_is_refused(pair, noise):
    same = switching.switched(pair[0], pair[0], noise[:2], STEPS)[1]
    with pytest.raises(ValueError, match="same image"):
        switching.birth_budget(same)


def test_born_by_reads_the_step_where_the_cumulative_share_passes():
    budget = torch.tensor([[0.1, 0.6], [0.3, 0.2], [0.6, 0.2]], dtype=torch.float64)
    assert switching.born_by([30, 20, 10], budget).tolist() == [10, 30]
    assert switching.born_by([30, 20, 10], budget, 0.35).tolist() == [20, 30]
    with pytest.raises(ValueError, match="share=1"):
        switching.born_by([30, 20, 10], budget, 1)


def test_commitment_is_one_at_the_own_image_and_minus_one_at_the_partners():
    own, partner = torch.randn(2, 3, 1, 4, 4, generator=torch.Generator().manual_seed(2))
    predictions = torch.stack([own, partner, (own + partner) / 2])
    c = switching.commitment(predictions, own, partner)
    assert torch.allclose(
        c, torch.tensor([[1.0] * 3, [-1.0] * 3, [0.0] * 3], dtype=torch.float64), atol=1e-12
    )


def test_early_share_and_replaceable_until_read_the_budget_and_the_curve(run):
    times, images = run
    budget = switching.birth_budget(images)
    assert torch.allclose(
        switching.early_share(times, budget, 0), torch.ones(16, dtype=torch.float64)
    )
    assert (switching.early_share(times, budget, 1000) == 0).all()
    curve = pd.DataFrame({"t": [999, 899, 799, 699], "same as B's own": [1.0, 0.95, 0.8, 0.92]})
    assert switching.replaceable_until(curve) == 899


def test_switching_curve_starts_at_the_same_image(run):
    curve = switching.switching_curve(*run, threshold=0.9)
    assert curve["t"].iloc[0] == 999 and curve["same as B's own"].iloc[0] == 1.0
    assert curve["median_similarity"].iloc[0] > 0.999


def test_first_time_is_the_first_grid_time_a_condition_holds_per_noise():
    reached = torch.tensor([[False, True, False], [True, True, False], [True, False, False]])
    assert switching.first_time([900, 500, 100], reached).tolist() == [
        500,
        900,
        900,
    ]  # never: the first time


def test_median_where_is_torchs_median_of_the_chosen_columns_and_nan_without_any():
    values = torch.tensor([[1.0, 5.0, 2.0, 4.0], [0.0, 1.0, 2.0, 3.0]])
    chosen = torch.tensor([True, False, True, True])
    assert (
        switching.median_where(values, chosen).tolist()
        == values[:, chosen].median(1).values.tolist()
        == [2.0, 2.0]
    )
    assert np.isnan(switching.median_where(values, torch.zeros(4, dtype=torch.bool))).all()


def test_early_born_splits_each_pairs_share_by_agreement():
    times = [900, 500, 100]
    budget = torch.tensor([[0.5, 0.1], [0.3, 0.2], [0.2, 0.7]], dtype=torch.float64)
    table = switching.early_born(
        times, {("p", 0): budget}, {("p", 0): torch.tensor([False, True])}, 500
    )
    assert table["noises"].tolist() == ["agree", "disagree"]
    assert table["median share"].tolist() == pytest.approx([0.8, 0.3])


TIMES = [999, 759, 639, 599, 399]  # a made-up grid with the times the predictions name


def _made_up_table() -> dict:
    """Per-noise arrays for every key the predictions read, 2 seeds of 5 noises, with known
    medians and shares."""
    n = 10
    flat = lambda value: np.full(n, float(value))
    rows = lambda *values: np.stack([flat(v) for v in values])
    runs, dit = "two runs", "U-Net vs DiT"
    disagree = np.array([True, False] * 5)
    table = {
        **{("kick", 0.0, t): flat(2.0) for t in (999, 759)},
        **{("kick", 1.0, t): flat(0.2) for t in (999, 759)},
        **{("knows", m): rows(0.0, 0.01, 0.02, 0.1, 0.05) for m in ("A", "B")},
        **{("commitment", p): rows(0.0, 0.1, 0.2, 0.3, 0.9) for p in (runs, dit)},
        **{("disagree", p): disagree for p in (runs, dit)},
        **{("same", p): np.ones((5, n), bool) for p in (runs, dit)},
        **{("early share", p): flat(0.1) for p in (runs, dit)},
        **{("bands", p): rows(700, 600, 500, 400) for p in (runs, dit)},
        **{("ancestor", m): np.ones((5, n), bool) for m in ("A", "B")},
        ("shared", "own"): np.ones(n, bool),
        ("shared", "shared"): np.ones(n, bool),
        "sensitivity": np.arange(n, dtype=float),
        "distance": np.arange(n, dtype=float) ** 2,
        **{("half born", size): flat(t) for size, t in ((16, 599), (16384, 639))},
        **{("optimal commits", size): flat(t) for size, t in ((16, 759), (16384, 0))},
        ("early share", "near Gaussian"): flat(0.05),
    }
    table["same", dit][2, :7] = False  # 3 of 10 kept at t = 639
    return table


def test_each_prediction_reads_its_deciding_difference_off_a_per_noise_table():
    openings = {"1-4": 800, "5-16": 650, "17-64": 550, "65-256": 450}
    margins = switching.margins(
        TIMES, {999: 2.0, 759: 2.5}, openings, ["two runs", "U-Net vs DiT"], ["A", "B"], (16, 16384)
    )
    assert set(margins) == set(switching.PREDICTIONS)
    found = switching.margin_intervals(_made_up_table(), margins, 2)
    value = {key: interval.estimate for key, (interval, _) in found.items()}
    assert value["kick_ode"] == pytest.approx(0.3 - 0.2)  # 2.0 against 2.5 at t = 759
    assert value["kick_sde_999"] == pytest.approx(0.15) and value["knows_early"] == pytest.approx(
        0.03
    )
    assert value["knows_peak"] == pytest.approx(0.08)  # 0.1 at t = 599 against 0.02 at t >= 639
    assert value["commit_runs"] == pytest.approx(0.2)  # 0.3 at t = 599 among the disagreeing
    assert value["switch_runs"] == pytest.approx(0.05) and value["switch_dit"] == pytest.approx(
        -0.65
    )
    assert value["early_dit"] == pytest.approx(0.1) and value["cascade"] == 100
    assert value["opening"] == 50 and value["ancestor"] == pytest.approx(0.1)
    assert value["shared"] == pytest.approx(0.02) and value["sensitivity"] == pytest.approx(0.8)
    assert value["memo_half"] == -40 and value["memo_commit"] == 359
    assert value["near_gaussian"] == pytest.approx(0.05)
    verdicts = switching.checks(found, {"exact": ("1e-9", True)})
    assert verdicts.loc["exact", "verdict"] == "held"
    assert list(verdicts.columns)[:2] == ["difference [95% interval]", "worst seed"]
    assert verdicts.loc[switching.PREDICTIONS["switch_dit"], "verdict"] == "failed"
    assert verdicts.loc[switching.PREDICTIONS["memo_half"], "point verdict"] == "failed"


def test_the_values_behind_the_margins_are_their_bounds_minus_the_margins():
    from difflab.core.intervals import Interval

    margin = lambda value: (Interval(value, value - 0.1, value + 0.1, 8, "noises", "test"), [])
    found = {"knows_early": margin(0.04), "early_runs": margin(-0.3), "early_dit": margin(0.05)}
    values = switching.measured(found)
    assert values["knows_early"][:3] == pytest.approx((0.01, -0.09, 0.11))
    assert values["early_share_runs"][:3] == pytest.approx((0.5, 0.4, 0.6))
    assert values["early_share_dit"].estimate == pytest.approx(0.15)


def test_pooled_curves_join_the_seeds_and_band_each_step():
    from difflab.core import intervals

    hits = {("A", 0): np.ones((2, 4), bool), ("A", 1): np.zeros((2, 4), bool)}
    lines, bands = switching.pooled_curves([999, 0], hits, intervals.proportion)
    assert lines[0][0] == "A" and lines[0][2].tolist() == [0.5, 0.5]
    low, high = bands["A"]
    assert (low < 0.5).all() and (high > 0.5).all()
    assert switching.joined({0: torch.zeros(2, 3), 1: np.ones((2, 1))}).shape == (2, 4)
