"""difflab.book.tables, glue.with_interval/with_rates, studies.seed_interval and the claims' side
of a bound: how an interval reaches a reader's table, sentence and verdict."""

import numpy as np
import pandas as pd
import pytest

from difflab.book import glue, tables
from difflab.book.claims import Claim
from difflab.book.studies import seed_interval, write_study
from difflab.core import intervals
from difflab.core.intervals import Interval

ABOVE = Interval(0.3, 0.1, 0.5, 40, "noises", "percentile bootstrap")
ACROSS = Interval(0.05, -0.1, 0.2, 40, "noises", "percentile bootstrap")


def test_a_table_of_intervals_gives_its_estimates_and_its_text():
    frame = pd.DataFrame({"rate": [ABOVE, ACROSS], "name": ["a", "b"]})
    assert tables.estimates(frame)["rate"].tolist() == [0.3, 0.05]
    shown = tables.with_intervals(frame, ".1f")
    assert shown["rate"].tolist() == ["0.3 [0.1, 0.5]", "0.1 [-0.1, 0.2]"]
    assert shown["name"].tolist() == ["a", "b"]


def test_error_bars_are_the_distances_to_the_ends():
    centre, bars = tables.error_bars([ABOVE, ACROSS])
    assert centre.tolist() == [0.3, 0.05]
    assert np.allclose(bars, [[0.2, 0.15], [0.2, 0.15]])


def test_a_verdict_row_reads_the_interval_and_counts_what_would_decide_it():
    held = tables.verdict_row(ABOVE, "failed", beside={"worst seed": "-0.1"})
    assert held == {
        "difference [95% interval]": "0.300 [0.100, 0.500]",
        "worst seed": "-0.1",
        "point verdict": "failed",
        "verdict": "held",
        "would be decided by": "",
    }
    undecided = tables.verdict_row(ACROSS, "held")
    assert undecided["verdict"] == "undecided"
    assert undecided["would be decided by"] == f"{intervals.units_to_decide(ACROSS):,} noises"
    tie = ACROSS._replace(estimate=0.0)
    assert tables.to_decide(tie) == "no count: the difference is on the bound"
    assert tables.to_decide(ACROSS._replace(estimate=1e-4)) == "over 4,000 noises"


def test_decided_measures_all_the_noises_and_each_seed_alone():
    """Two seeds' noises in blocks: the statistic over all of them, and over each block."""
    table = {"hits": np.r_[np.ones(10), np.zeros(10)], "pair": np.ones((3, 20))}
    interval, per_seed = tables.decided(lambda t: t["hits"].mean(-1) - 0.5, table, 2)
    assert interval.estimate == 0.0 and interval.n == 20 and per_seed == [0.5, -0.5]
    assert tables.seed_block(table, 1, 2)["pair"].shape == (3, 10)
    frame = tables.predictions_table({"the prediction": (interval, per_seed)})
    assert frame.loc["the prediction", "point verdict"] == "failed"  # one seed below
    assert frame.loc["the prediction", "worst seed"] == "-0.5"


def test_row_bands_give_each_rows_estimate_and_ends():
    values = np.array([np.ones(30), np.r_[np.ones(15), np.zeros(15)]])
    centre, low, high = tables.row_bands(values, intervals.proportion)
    assert centre.tolist() == [1.0, 0.5]
    assert low[1] < 0.5 < high[1] and high[0] == 1.0 and low[0] < 1.0


def test_glue_writes_an_interval_as_three_numbers_and_a_rate_with_wilsons():
    assert glue.with_interval("rp", ABOVE) == {"rp": 0.3, "rp_low": 0.1, "rp_high": 0.5}
    rated = glue.with_rates({"rp_min": 0.75, "n": 40}, 40, ["rp_min"])
    wilson = intervals.proportion(np.r_[np.ones(30), np.zeros(10)])
    assert rated["n"] == 40 and rated["rp_min"] == 0.75
    assert (rated["rp_min_low"], rated["rp_min_high"]) == pytest.approx(wilson[1:3])


def test_a_studys_seeds_give_the_mean_and_students_interval(tmp_data):
    rows = [{"seed": s, "sampler": "DDIM", "gain": g} for s, g in enumerate([2.0, 2.2, 1.8])]
    write_study("gains", {"rows": rows + [{"seed": 0, "sampler": "PNDM", "gain": 9.0}]})
    interval = seed_interval("gains", "gain", sampler="DDIM")
    assert interval == intervals.over_seeds([2.0, 2.2, 1.8]) and interval.n == 3
    unmeasured = seed_interval("gains", "gain", sampler="Heun")  # as spread: NaN, counted 0
    assert unmeasured.n == 0 and np.isnan(unmeasured[:3]).all()


@pytest.mark.parametrize(
    "side, low, high, where",
    [
        (">=", 0.6, 0.8, "on the claim's side"),
        (">=", 0.4, 0.8, "crosses the bound"),
        (">=", 0.2, 0.4, "on the other side"),
        ("<=", 0.2, 0.4, "on the claim's side"),
        ("<=", 0.4, 0.8, "crosses the bound"),
    ],
)
def test_a_claims_interval_lies_on_its_side_across_or_beyond(side, low, high, where):
    assert Claim("x", side, 0.5, "x").interval(low, high) == where
