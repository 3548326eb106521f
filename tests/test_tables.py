"""difflab.book.tables, glue.with_interval/with_rates, studies.seed_interval and the claims' side
of a bound: how an interval reaches a reader's table, sentence and verdict."""

import numpy as np
import pandas as pd
import pytest

from difflab.book import glue, tables
from difflab.book.claims import Claim
from difflab.book.studies import seed_interval, seed_table, write_study
from difflab.core import intervals
from difflab.core.intervals import Interval

ABOVE = Interval(0.3, 0.1, 0.5, 40, "noises", "percentile bootstrap")
ACROSS = Interval(0.05, -0.1, 0.2, 40, "noises", "percentile bootstrap")


def test_a_table_of_intervals_gives_its_estimates_and_its_text():
    frame = pd.DataFrame({"rate": [ABOVE, ACROSS], "name": ["a", "b"]})
    assert tables.estimates(frame)["rate"].tolist() == [0.3, 0.05]
    shown = tables.for_readers(frame, digits=1).data
    assert shown["rate"].tolist() == ["0.3 [0.1, 0.5]", "0.1 [-0.1, 0.2]"]
    assert shown["name"].tolist() == ["a", "b"]


def test_a_readers_table_has_words_for_headers_and_no_index_of_its_own():
    frame = pd.DataFrame(
        {"rp": [0.9213, 0.5], "median_similarity": [0.81234, 0.7]},
        index=pd.Index(["ddim", "heun"], name="sampler"),
    )
    frame.columns.name = "score"  # would be a header row of its own
    shown = tables.for_readers(frame)
    assert list(shown.data.columns) == ["sampler", "RP", "median similarity"]
    assert shown.data["sampler"].tolist() == ["ddim", "heun"]
    html = shown.to_html()
    assert html.count("<tr>") == 3 and ">score<" not in html  # one header row, no index column
    counted = tables.for_readers(pd.DataFrame({"images": [10.0, 125.0]})).data  # RangeIndex
    assert list(counted.columns) == ["images"] and counted["images"].tolist() == ["10", "125"]
    steps = pd.DataFrame(
        {"error": [0.5, 0.25]}, index=range(100, 300, 100)
    )  # a RangeIndex of steps
    assert tables.for_readers(steps).data.iloc[:, 0].tolist() == ["100", "200"]


def test_a_readers_table_gives_each_column_three_significant_digits():
    frame = pd.DataFrame(
        {
            "step": [600.31, 12.0],
            "share": [0.92134, 0.5],
            "gain": [-0.0001, 0.3],
            "error": [3.1e-6, 2e-5],
            "kept": [True, False],
        }
    )
    shown = tables.for_readers(frame).data
    assert shown["step"].tolist() == ["600", "12"]
    assert shown["share"].tolist() == ["0.921", "0.500"]
    assert shown["gain"].tolist() == ["0.000", "0.300"]  # no "-0.000"
    assert shown["error"].tolist() == ["3.1e-06", "2.0e-05"]
    assert shown["kept"].tolist() == ["yes", "no"]
    assert tables.for_readers(frame, digits=2).data["share"].tolist() == ["0.92", "0.50"]
    assert tables.decimals([0.9213]) == 3 and tables.decimals([12.34]) == 1
    assert tables.decimals([600.31]) == 0 and tables.decimals([0.0]) == 0


def test_a_readers_table_refuses_an_empty_cell_or_an_identifier():
    with pytest.raises(ValueError, match="column 'a' has an empty cell"):
        tables.for_readers(pd.DataFrame({"a": [1.0, np.nan]}))
    shown = tables.for_readers(pd.DataFrame({"a": [1.5, np.nan]}), missing="-").data
    assert shown["a"].tolist() == ["1.50", "-"]
    with pytest.raises(ValueError, match=r"\['rp_min'\] are identifiers"):
        tables.for_readers(pd.DataFrame({"rp_min": [0.5]}))
    with pytest.raises(ValueError, match=r"\['rp_min'\] are identifiers"):  # a row label too
        tables.for_readers(pd.DataFrame({"value": [0.5]}, index=["rp_min"]))
    words = tables.for_readers(pd.DataFrame({"rp_min": [0.5]}), headers={"rp_min": "worst RP"})
    assert list(words.data.columns) == ["worst RP"]


def test_a_readers_table_keeps_grouped_headers_in_words():
    columns = pd.MultiIndex.from_product([["ODE", "stochastic"], ["min", "max"]])
    frame = pd.DataFrame(np.ones((2, 4)), columns=columns, index=pd.Index([999, 39], name="t"))
    shown = tables.for_readers(frame).data
    assert isinstance(shown.columns, pd.MultiIndex)  # two header rows, not tuples as text
    assert list(shown.columns) == [("t", ""), *columns]
    assert shown[("t", "")].tolist() == ["999", "39"]


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
    table = seed_table("gains", {"gain": "FID gain"}, sampler="DDIM")
    assert table.loc["FID gain", "seeds"] == 3 and table.loc["FID gain", "highest"] == 2.2
    shown = tables.for_readers(seed_table("gains", {"gain": "FID gain"}, sampler="Heun")).data
    assert shown.iloc[0].tolist() == [
        "FID gain",
        "not measured",
        "not measured",
        "0",
        "not measured",
    ]
    undefined = pd.DataFrame({"median": [unmeasured, ABOVE]})  # an interval of nothing is missing
    with pytest.raises(ValueError, match="empty cell"):
        tables.for_readers(undefined)
    assert tables.for_readers(undefined, missing="-").data["median"].tolist()[0] == "-"


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


def test_a_span_prints_one_number_where_its_ends_print_alike():
    assert glue.span(639, 639, ".0f") == "639"
    assert glue.span(599.2, 639.0, ".0f") == "599-639"
    assert glue.span(0.501, 0.499, ".2f") == "0.50"
