"""difflab.core.intervals: coverage on simulated data with a known answer, determinism, the
verdicts, and bad input. Coverage is counted over 300 simulated data sets: a 95% interval should
cover the truth in 285 of them, and a binomial count of 300 at 0.95 lies in 275-294 with
probability 0.99 (scipy.stats.binom), the tolerance used here."""

import warnings

import numpy as np
import pytest
import torch
from scipy import stats

from difflab.core import intervals

REPEATS = 300
COVERED = stats.binom(REPEATS, 0.95).ppf([0.005, 0.995])  # 275-294: 99% of the counts


def coverage(make, truth) -> int:
    """How many of REPEATS intervals from make(rng) contain `truth`."""
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(REPEATS):
        interval = make(rng)
        hits += interval.low <= truth <= interval.high
    return hits


@pytest.mark.parametrize("n", [16, 48])
def test_the_median_of_a_few_noises_is_covered_95_times_in_100(n):
    """Skewed values (lognormal, median 1), as r^2 and similarities are near their ceiling."""
    hits = coverage(lambda rng: intervals.median(np.exp(rng.standard_normal(n))), 1.0)
    assert COVERED[0] <= hits <= COVERED[1], hits


def test_a_difference_of_medians_on_the_same_noises_is_covered():
    """Two predictors of the same images: correlated through the noise, medians 0.1 apart."""

    def make(rng):
        shared = rng.standard_normal(24)
        return intervals.difference(shared + 0.1 + 0.3 * rng.standard_normal(24), shared)

    # the truth: median(shared + 0.1 + e) - median(shared) for e ~ N(0, 0.3^2), by simulation
    rng = np.random.default_rng(7)
    shared, extra = rng.standard_normal(2_000_000), 0.3 * rng.standard_normal(2_000_000)
    truth = np.median(shared + 0.1 + extra) - np.median(shared)
    hits = coverage(make, truth)
    assert COVERED[0] <= hits, hits  # conservative: 299 of 300 here, so verdicts lean undecided


def test_pairing_narrows_the_interval_of_a_difference():
    """Paired noises cancel what both arrays share: resampled apart, the interval would be wide."""
    rng = np.random.default_rng(0)
    shared = rng.standard_normal(30)
    paired = intervals.difference(shared + 0.1 + 0.01 * rng.standard_normal(30), shared)
    assert paired.low > 0.05 and paired.high < 0.15
    apart = stats.bootstrap(
        (shared + 0.1, shared),
        lambda a, b, axis: np.median(a, axis) - np.median(b, axis),
        method="percentile",
        random_state=np.random.default_rng(0),
    ).confidence_interval
    assert apart.high - apart.low > 5 * (paired.high - paired.low)


def test_the_wilson_interval_of_a_rate_is_covered():
    hits = coverage(lambda rng: intervals.proportion(rng.random(50) < 0.3), 0.3)
    assert COVERED[0] <= hits <= COVERED[1], hits


def test_the_t_interval_over_five_seeds_is_covered():
    hits = coverage(lambda rng: intervals.over_seeds(2 + 0.1 * rng.standard_normal(5)), 2.0)
    assert COVERED[0] <= hits <= COVERED[1], hits


def test_a_recorded_share_is_its_count_out_of_n():
    assert intervals.proportion_of(0.98, 250) == intervals.proportion(np.arange(250) < 245)
    median = 0.6713333333333334  # 2014 / 3000 as a median of means computes it
    assert intervals.proportion_of(median, 3000).estimate == median != 2014 / 3000
    with pytest.raises(ValueError, match="share=0.3333 is not a count out of n=250"):
        intervals.proportion_of(0.3333, 250)
    with pytest.raises(ValueError, match="n=0"):
        intervals.proportion_of(0.5, 0)


def test_a_rate_of_zero_or_one_still_has_an_interval():
    """Wilson's interval of 0 of 24 is not the point 0 (the Wald interval would be)."""
    zero, one = intervals.proportion(np.zeros(24, bool)), intervals.proportion(np.ones(24, bool))
    assert zero.low == 0 and 0.1 < zero.high < 0.2 and one.high == 1 and 0.8 < one.low < 0.9


def test_every_resample_the_same_gives_the_point():
    """A tie (all differences zero) is an interval of one point, not an error or NaN."""
    tie = intervals.median(np.zeros(16))
    assert (tie.estimate, tie.low, tie.high) == (0, 0, 0)
    assert intervals.over_seeds([0.5, 0.5, 0.5]) == (0.5, 0.5, 0.5, 3, "seeds", "Student t")


def test_same_seed_same_interval_and_another_seed_nearly_so():
    values = np.random.default_rng(3).standard_normal(24)
    first, again = intervals.mean(values), intervals.mean(values)
    assert first == again
    other = intervals.mean(values, seed=1)
    assert other.estimate == first.estimate and other != first
    assert abs(other.low - first.low) < 0.02 and abs(other.high - first.high) < 0.02


def test_the_estimate_is_the_statistic_of_the_data_and_lies_inside():
    values = np.random.default_rng(4).standard_normal(24)
    interval = intervals.median(values)
    assert interval.estimate == np.median(values) and interval.low < interval.estimate
    assert interval.estimate < interval.high and (interval.n, interval.unit) == (24, "noises")
    assert intervals.mean(values).estimate == pytest.approx(values.mean())


def test_a_statistic_of_several_arrays_resamples_them_together():
    """The smallest of three paired differences: every array resampled on the same noises."""
    rng = np.random.default_rng(5)
    base = rng.standard_normal(24)
    rows = [base + shift + 0.05 * rng.standard_normal(24) for shift in (0.3, 0.2, 0.4)]

    def smallest(a, b, c, reference, axis):
        medians = [np.median(x, axis=axis) for x in (a, b, c)]
        return np.min(medians, axis=0) - np.median(reference, axis=axis)

    interval = intervals.bootstrap(smallest, *rows, base)
    assert interval.estimate == pytest.approx(smallest(*rows, base, axis=-1))
    assert 0.1 < interval.low < 0.2 < interval.high < 0.3


def test_indices_resample_data_of_any_shape_together():
    """bootstrap_indices: the same resampled noises index every row of a table."""
    rng = np.random.default_rng(6)
    table = rng.standard_normal((3, 24)) + np.array([[0.0], [0.5], [1.0]])
    spread = lambda i: np.median(table[2][i], axis=-1) - np.median(table[0][i], axis=-1)
    by_index = intervals.bootstrap_indices(spread, 24)
    by_rows = intervals.difference(table[2], table[0])
    assert by_index[:3] == pytest.approx(by_rows[:3])


def test_a_statistic_in_whole_steps_gets_an_interval():
    """A statistic that returns integers (a step, a count of noises) is resampled as floats."""
    steps = np.random.default_rng(3).integers(0, 1000, size=(2, 40))
    latest = lambda t: t["steps"].max(0).max(-1) - 500  # integer arrays in, integers out
    interval = intervals.paired(latest, {"steps": steps})
    assert interval.estimate == steps.max() - 500 and interval.low <= interval.estimate


def test_paired_tables_resample_every_entry_at_the_same_noises():
    """A curve (steps x noises) and a 0/1 hit per noise, resampled together."""
    rng = np.random.default_rng(9)
    curve, hits = rng.standard_normal((5, 30)), rng.random(30) < 0.5
    statistic = lambda t: t["curve"].mean(-1).max(0) - t["hits"].mean(-1)
    interval = intervals.paired(statistic, {"curve": curve, "hits": hits})
    assert interval.estimate == pytest.approx(curve.mean(-1).max() - hits.mean())
    by_index = intervals.bootstrap_indices(
        lambda i: curve[:, i].mean(-1).max(0) - hits[i].mean(-1), 30
    )
    assert interval == by_index
    with pytest.raises(ValueError, match=r"values have \[29, 30\] noises"):
        intervals.paired(statistic, {"curve": curve, "hits": hits[:29]})


def test_the_lower_median_is_torchs():
    values = np.random.default_rng(8).standard_normal(24)
    assert intervals.lower_median(values) == torch.tensor(values).median().item()
    assert intervals.lower_median(values) != np.median(values)


def test_resamples_that_leave_a_statistic_undefined_are_left_out_and_counted():
    """The median of the values where a mask holds: a resample may draw none of them."""
    values, mask = np.arange(10.0), np.arange(10) < 2
    masked = lambda t: np.nanmedian(np.where(t["mask"], t["values"], np.nan), axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        interval = intervals.paired(masked, {"values": values, "mask": mask})
        none = intervals.paired(masked, {"values": values, "mask": np.zeros(10, bool)})
    assert np.isnan(none[:3]).all() and none.method == "undefined on the data"
    assert intervals.verdict(none) == "undecided"  # a toy profile may measure no such noise
    assert intervals.units_to_decide(none) is None
    assert interval.estimate == 0.5 and 0 <= interval.low <= interval.high <= 1
    assert "of resamples undefined, left out" in interval.method  # 0.8 ** 10: about 11%


def test_a_margin_below_a_bound_gives_back_the_value_and_its_interval():
    margin = intervals.Interval(0.05, -0.01, 0.08, 20, "noises", "percentile bootstrap")
    value = margin.subtracted_from(0.2)
    assert value[:3] == pytest.approx((0.15, 0.12, 0.21)) and value.low <= value.high
    assert value.shifted(0.1)[:3] == pytest.approx((0.25, 0.22, 0.31))


def test_format_reads_as_a_number_and_its_interval():
    interval = intervals.Interval(0.9213, 0.871, 0.9449, 24, "noises", "percentile bootstrap")
    assert f"{interval}" == str(interval) == "0.92 [0.87, 0.94]"
    assert f"{interval:.0%}" == "92% [87%, 94%]"
    assert f"{interval.shifted(-0.8):.2f}" == "0.12 [0.07, 0.14]"
    tie = intervals.Interval(-1e-12, -1e-12, 0.155, 24, "noises", "percentile bootstrap")
    assert f"{tie:.3f}" == "0.000 [0.000, 0.155]" and f"{tie:.0%}" == "0% [0%, 16%]"
    assert f"{tie.shifted(-0.0004):.3f}" == "0.000 [0.000, 0.155]"
    assert f"{tie:.3g}" == "-1e-12 [-1e-12, 0.155]"  # not zero at three significant digits


@pytest.mark.parametrize(
    "low, high, expected", [(0.01, 0.2, "held"), (-0.2, -0.01, "failed"), (-0.01, 0.2, "undecided")]
)
def test_verdicts_read_the_side_of_the_bound(low, high, expected):
    interval = intervals.Interval((low + high) / 2, low, high, 24, "noises", "test")
    assert intervals.verdict(interval) == expected
    assert intervals.verdict(interval.shifted(0.5), bound=0.5) == expected


def test_units_to_decide_scale_with_the_interval_squared():
    straddling = intervals.Interval(0.1, -0.1, 0.3, 24, "noises", "test")
    assert intervals.units_to_decide(straddling) == 96  # half-width 0.2 at a distance of 0.1
    decided = intervals.Interval(0.3, 0.1, 0.5, 24, "noises", "test")
    assert intervals.units_to_decide(decided) == 24
    lopsided = intervals.Interval(-0.1, -0.2, 0.3, 24, "noises", "test")  # reaches 0.4 up
    assert intervals.units_to_decide(lopsided) == 384
    assert intervals.units_to_decide(intervals.Interval(0, -1, 1, 24, "noises", "test")) is None


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: intervals.median([]), r"samples\[0\] of shape \(0,\)"),
        (lambda: intervals.median([0.3]), "at least 2 values"),
        (lambda: intervals.median([0.3, np.nan]), "non-finite"),
        (lambda: intervals.median(np.ones((3, 3))), r"shape \(3, 3\)"),
        (lambda: intervals.difference([1, 2, 3], [1, 2]), r"lengths \[3, 2\]"),
        (lambda: intervals.bootstrap(np.median), "samples is empty"),
        (lambda: intervals.proportion([]), "outcomes of shape"),
        (lambda: intervals.proportion([0.5, 1]), "other than 0 and 1"),
        (lambda: intervals.over_seeds([1.0]), "values of shape"),
        (lambda: intervals.over_seeds([1.0, np.inf]), "non-finite"),
    ],
)
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises(ValueError, match=message):
        call()
