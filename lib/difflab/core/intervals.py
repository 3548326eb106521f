"""95% intervals for the numbers a reader compares, and the verdicts they give.

What is random in the book's measurements is the noise a sample starts from and, where a study ran
several, the seed. Three intervals, each from scipy.stats:

- `bootstrap`: a statistic of one or more arrays whose entries are paired by noise (entry i of
  every array comes from noise i, and a resample draws the same noises for all of them): a median,
  a mean, the difference of two medians on the same noises, the smallest such difference over
  several networks. The percentile bootstrap (scipy.stats.bootstrap, 9,999 resamples, seeded;
  resamples on which the statistic is undefined, a median of a subset they left empty, are left
  out and counted in the record's method): it
  stays defined where every resample gives the same value (a tie, a rate of 0 or 1), where BCa
  gives no interval, and it covers a median as well as BCa does at the book's 16-48 noises
  (95-96% of 300 simulated sets for both when this module was written; tests/test_intervals.py
  holds the percentile's).
- `proportion`: a share of noises (RP, GL, a rate of copies): Wilson's score interval
  (scipy.stats.binomtest). RP's threshold is taken as given.
- `over_seeds`: the mean of one value per seed: Student's t interval (scipy.stats.ttest_1samp),
  wider than a resampling of 3-10 values would pretend.

Each returns an Interval (estimate, low, high, n, unit, method) that formats as `0.92 [0.87, 0.94]`
(`f"{interval:.2f}"`). `verdict` reads a prediction off the interval of its deciding difference.
"""

import inspect
import math
import warnings
from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np
from scipy import stats

LEVEL = 0.95
RESAMPLES = 9_999
VERDICTS = ("held", "failed", "undecided")


class Interval(NamedTuple):
    """A number with its 95% interval: `n` units (`unit`: noises, seeds) resampled by `method`."""

    estimate: float
    low: float
    high: float
    n: int
    unit: str
    method: str

    def __format__(self, spec: str) -> str:
        spec = spec or ".2f"
        estimate, low, high = (unsigned_zero(value, spec) for value in self[:3])
        return f"{estimate} [{low}, {high}]"

    def __str__(self) -> str:
        return format(self)

    def shifted(self, offset: float) -> "Interval":
        """The interval of the estimate plus `offset` (a margin over a bound)."""
        return self._replace(
            estimate=self.estimate + offset, low=self.low + offset, high=self.high + offset
        )

    def subtracted_from(self, bound: float) -> "Interval":
        """The interval of `bound` minus the estimate: the measured value behind a margin that was
        written as bound - value."""
        return self._replace(
            estimate=bound - self.estimate, low=bound - self.high, high=bound - self.low
        )


def unsigned_zero(value: float, spec: str) -> str:
    """`value` formatted by `spec`, without the sign of a value that rounds to zero ("-0.000")."""
    text = f"{value:{spec}}"
    return text.lstrip("-") if set(text.lstrip("-")) <= set("0.%") else text


def _values(name: str, values, minimum: int = 2) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or len(array) < minimum:
        raise ValueError(
            f"{name} of shape {array.shape} is not allowed; allowed: a 1-D array of at least "
            f"{minimum} values, one per {'seed' if name == 'values' else 'noise'}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds non-finite values; allowed: finite numbers")
    return array


def bootstrap(statistic: Callable, *samples, unit: str = "noises", seed: int = 0) -> Interval:
    """The percentile-bootstrap 95% interval of `statistic(*samples, axis=-1)`, resampling the
    noises: every sample is a 1-D array of one value per noise, the same noises in the same order,
    and a resample draws the same noises for each. `statistic` takes the arrays and `axis`, as
    numpy's reductions do (it is called on a batch of resamples at once)."""
    if not samples:
        raise ValueError("samples is empty; allowed: one or more 1-D arrays, one value per noise")
    arrays = [_values(f"samples[{i}]", sample) for i, sample in enumerate(samples)]
    if len({len(a) for a in arrays}) > 1:
        raise ValueError(
            f"samples have lengths {[len(a) for a in arrays]}; allowed: one length, "
            "the same noises in each"
        )
    estimate = float(statistic(*arrays, axis=-1))
    if math.isnan(estimate):  # undefined on these noises (a median over none of them): no interval
        return Interval(estimate, math.nan, math.nan, len(arrays[0]), unit, "undefined on the data")
    generator = np.random.default_rng(seed)
    key = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"
    with warnings.catch_warnings():  # scipy warns of BCa on a tie even where it is not asked for
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        result = stats.bootstrap(
            arrays,
            lambda *resampled, axis: np.asarray(statistic(*resampled, axis=axis), dtype=float),
            n_resamples=RESAMPLES,
            batch=1_000,
            vectorized=True,
            paired=True,
            confidence_level=LEVEL,
            method="percentile",
            **{key: generator},
        )
    drawn = result.bootstrap_distribution
    undefined = np.isnan(drawn).mean()
    if undefined == 1:
        raise ValueError("the statistic is undefined (NaN) on every resample of the noises")
    low, high = np.nanpercentile(drawn, [50 * (1 - LEVEL), 50 * (1 + LEVEL)])
    method = "percentile bootstrap"
    if undefined:  # e.g. a median over a subset of the noises that a resample left empty
        method += f" ({undefined:.1%} of resamples undefined, left out)"
    return Interval(estimate, float(low), float(high), len(arrays[0]), unit, method)


def bootstrap_indices(statistic: Callable, n: int, unit: str = "noises", seed: int = 0) -> Interval:
    """The percentile-bootstrap 95% interval of `statistic(indices)`, a statistic that indexes its
    own data (any number of arrays, of any shape) by the units' indices: 0, ..., n - 1 for the
    estimate, and a batch of resampled indices, shape (resamples, n), for the interval. For a
    statistic of many paired quantities at once (the smallest difference over networks of medians
    over noises), written with numpy reductions over the last axis."""
    return bootstrap(
        lambda indices, axis: statistic(indices.astype(int)), np.arange(n), unit=unit, seed=seed
    )


class _Resampled(Mapping):
    """A table of per-noise arrays seen at some noises: table[key] is values[key][..., indices]."""

    def __init__(self, values: Mapping, indices):
        self.values, self.indices = values, indices

    def __getitem__(self, key):
        return np.asarray(self.values[key])[..., self.indices]

    def __iter__(self):
        return iter(self.values)

    def __len__(self):
        return len(self.values)


def paired(statistic: Callable, values: Mapping, unit: str = "noises", seed: int = 0) -> Interval:
    """The bootstrap interval of `statistic(table)`, where `table[key]` holds values[key] at the
    resampled noises: each entry of `values` is an array whose last axis runs over the same noises
    (a model's similarities, a 0/1 hit per noise, a step-by-noise curve), and every entry is
    resampled at the same noises. Write the statistic with numpy reductions over the last axis:
    `lambda t: np.minimum(t["a"].mean(-1), t["b"].mean(-1)) - 0.5`."""
    lengths = {np.shape(v)[-1] for v in values.values()}
    if len(lengths) != 1:
        raise ValueError(
            f"values have {sorted(lengths)} noises along their last axes; allowed: one count, "
            "the same noises in each"
        )
    return bootstrap_indices(
        lambda indices: statistic(_Resampled(values, indices)), lengths.pop(), unit, seed
    )


def from_draws(estimate: float, drawn, n: int, unit: str = "noises") -> Interval:
    """The percentile interval of a statistic already computed on resamples of the units (`drawn`,
    one value per resample; inf or NaN where undefined there, left out and counted), for statistics
    too costly to resample here (an FID on each of a fixed set of draws of the noises)."""
    drawn = np.asarray(drawn, dtype=float)
    undefined = ~np.isfinite(drawn)
    if undefined.all():
        raise ValueError("the statistic is undefined (inf or NaN) on every draw")
    low, high = np.percentile(drawn[~undefined], [50 * (1 - LEVEL), 50 * (1 + LEVEL)])
    method = f"percentile over {len(drawn)} fixed draws"
    if undefined.any():
        method += f" ({undefined.mean():.1%} undefined, left out)"
    return Interval(float(estimate), float(low), float(high), n, unit, method)


def lower_median(values, axis=-1):
    """The median as torch computes it: the lower of the two middle values of an even count."""
    return np.quantile(values, 0.5, axis=axis, method="lower")


def median(values, unit: str = "noises", seed: int = 0) -> Interval:
    """The median of one value per noise, with its bootstrap interval."""
    return bootstrap(np.median, values, unit=unit, seed=seed)


def mean(values, unit: str = "noises", seed: int = 0) -> Interval:
    """The mean of one value per noise, with its bootstrap interval."""
    return bootstrap(np.mean, values, unit=unit, seed=seed)


def difference(a, b, statistic: Callable = np.median, seed: int = 0) -> Interval:
    """statistic(a) - statistic(b) for two arrays measured on the same noises (by default the
    difference of their medians), with the bootstrap interval of the pair resampled together."""
    return bootstrap(
        lambda x, y, axis: statistic(x, axis=axis) - statistic(y, axis=axis), a, b, seed=seed
    )


def proportion(outcomes, unit: str = "noises") -> Interval:
    """The share of True among `outcomes` (one per noise), with Wilson's score interval."""
    hits = _values("outcomes", outcomes, minimum=1)
    if not np.isin(hits, (0, 1)).all():
        raise ValueError("outcomes holds values other than 0 and 1; allowed: booleans")
    k, n = int(hits.sum()), len(hits)
    low, high = stats.binomtest(k, n).proportion_ci(confidence_level=LEVEL, method="wilson")
    return Interval(k / n, float(low), float(high), n, unit, "Wilson")


def proportion_of(share: float, n: int, unit: str = "noises") -> Interval:
    """Wilson's interval of a share already counted on `n` units (a rate a chapter recorded, such
    as an RP of 245 out of 250 noises, recorded as 0.98); the estimate is `share` as given, to the
    last digit, and the interval that of its count."""
    if not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n={n!r} is not allowed; allowed: a positive integer, the units counted")
    k = round(share * n)
    if not 0 <= k <= n or abs(k - share * n) > 1e-6 * n:
        raise ValueError(
            f"share={share!r} is not a count out of n={n}; allowed: k / n for 0 <= k <= n"
        )
    return proportion(np.arange(n) < k, unit)._replace(estimate=float(share))


def over_seeds(values) -> Interval:
    """The mean of one value per seed, with Student's t interval over the seeds."""
    array = _values("values", values)
    centre = float(array.mean())
    if np.ptp(array) == 0:  # every seed the same: no spread to widen
        return Interval(centre, centre, centre, len(array), "seeds", "Student t")
    low, high = stats.ttest_1samp(array, 0).confidence_interval(LEVEL)
    return Interval(centre, float(low), float(high), len(array), "seeds", "Student t")


def verdict(interval: Interval, bound: float = 0.0) -> str:
    """A prediction's verdict from the interval of its deciding value, arranged so that above
    `bound` is what was predicted: held (the interval lies above), failed (below) or undecided
    (it contains the bound, or the value is undefined on the data: NaN)."""
    if interval.low > bound:
        return "held"
    if interval.high < bound:
        return "failed"
    return "undecided"


def units_to_decide(interval: Interval, bound: float = 0.0) -> int | None:
    """How many units (noises, seeds) would move the interval off `bound`, if the estimate stayed
    and the interval narrowed as one over the square root of the count: the interval's reach from
    the estimate toward the bound must shrink below their distance. None where the estimate sits on
    the bound (no count decides it) or is NaN."""
    gap = interval.estimate - bound
    if gap == 0 or math.isnan(gap):  # on the bound, or undefined on the data
        return None
    reach = interval.estimate - interval.low if gap > 0 else interval.high - interval.estimate
    return max(interval.n, math.ceil(interval.n * (reach / abs(gap)) ** 2))
