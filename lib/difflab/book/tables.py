"""Tables whose cells are numbers with their 95% intervals (difflab.core.intervals.Interval): the
estimates alone, for arithmetic, and the cells as a reader reads them, `0.92 [0.87, 0.94]`; the
rows of a predictions' table (a verdict read off each interval); and the error bars of a figure
drawn from the same intervals."""

import numpy as np
import pandas as pd

from difflab.core import intervals
from difflab.core.intervals import Interval


def estimates(frame: pd.DataFrame) -> pd.DataFrame:
    """The estimates of a table of Intervals (floats; any other cell as it is)."""
    return frame.map(lambda cell: cell.estimate if isinstance(cell, Interval) else cell)


def with_intervals(frame: pd.DataFrame, spec: str = ".2f") -> pd.DataFrame:
    """A table of Intervals as text, each cell `estimate [low, high]` in the format `spec`."""
    return frame.map(lambda cell: format(cell, spec) if isinstance(cell, Interval) else cell)


def error_bars(cells) -> tuple[np.ndarray, np.ndarray]:
    """The estimates of some Intervals and their distances to the interval's ends, (2, n): what
    matplotlib's errorbar takes as `xerr` or `yerr`."""
    cells = list(cells)
    centre = np.array([c.estimate for c in cells])
    return centre, np.array([centre - [c.low for c in cells], [c.high for c in cells] - centre])


def to_decide(interval: Interval, bound: float = 0.0) -> str:
    """How many units would decide an undecided verdict at the measured spread, in words."""
    count = intervals.units_to_decide(interval, bound)
    if count is None:
        return "no count: the difference is on the bound"
    if count > 100 * interval.n:
        return f"over {100 * interval.n:,} {interval.unit}"
    return f"{count:,} {interval.unit}"


def verdict_row(
    interval: Interval, point_verdict: str, spec: str = ".3f", beside: dict | None = None
) -> dict[str, str]:
    """A prediction's row: its deciding difference (positive: as predicted) with its interval, any
    columns `beside` it, the verdict its point value gave before intervals, the verdict of the
    interval (held, failed, undecided) and, for an undecided one, the count of units that would
    decide it."""
    verdict = intervals.verdict(interval)
    return {
        "difference [95% interval]": format(interval, spec),
        **(beside or {}),
        "point verdict": point_verdict,
        "verdict": verdict,
        "would be decided by": to_decide(interval) if verdict == "undecided" else "",
    }


def seed_block(table: dict, seed: int, n_seeds: int) -> dict:
    """A table of per-noise arrays (their last axis: the seeds' noises, in equal blocks, in order)
    cut to one seed's block."""
    size = np.shape(next(iter(table.values())))[-1] // n_seeds
    return {key: np.asarray(v)[..., seed * size : (seed + 1) * size] for key, v in table.items()}


def decided(margin, table: dict, n_seeds: int) -> tuple[Interval, list[float]]:
    """A prediction's deciding difference, a function of a table of per-noise arrays (all the
    seeds' noises in equal blocks along their last axis): over all the noises with its bootstrap
    interval (intervals.paired), and at each seed alone (seed_block)."""
    per_seed = [float(margin(seed_block(table, i, n_seeds))) for i in range(n_seeds)]
    return intervals.paired(margin, table), per_seed


def predictions_table(found: dict[str, tuple[Interval, list[float]]]) -> pd.DataFrame:
    """The predictions' table from `decided` results by label (verdict_row): the point verdict is
    the one the chapter gave before intervals, which asked every seed to hold."""
    rows = {
        label: verdict_row(
            interval,
            "held" if min(per_seed) > 0 else "failed",
            ".3g",
            beside={"worst seed": f"{min(per_seed):.3g}"},
        )
        for label, (interval, per_seed) in found.items()
    }
    return pd.DataFrame(rows).T


def row_bands(values, interval) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's estimate and 95% interval, for a band along a curve: `values` (rows, noises),
    `interval` a function of difflab.core.intervals (median, proportion) applied row by row."""
    found = [interval(row) for row in np.asarray(values)]
    return tuple(np.array([getattr(c, end) for c in found]) for end in ("estimate", "low", "high"))
