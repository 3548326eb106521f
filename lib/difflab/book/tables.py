"""Tables whose cells are numbers with their 95% intervals (difflab.core.intervals.Interval): the
estimates alone, for arithmetic, and the cells as a reader reads them, `0.92 [0.87, 0.94]`; the
rows of a predictions' table (a verdict read off each interval); and the error bars of a figure
drawn from the same intervals."""

import re

import numpy as np
import pandas as pd

from difflab.core import intervals
from difflab.core.intervals import Interval


def estimates(frame: pd.DataFrame) -> pd.DataFrame:
    """The estimates of a table of Intervals (floats; any other cell as it is)."""
    return frame.map(lambda cell: cell.estimate if isinstance(cell, Interval) else cell)


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
    return pd.DataFrame(rows).T.rename_axis("prediction")


def row_bands(values, interval) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's estimate and 95% interval, for a band along a curve: `values` (rows, noises),
    `interval` a function of difflab.core.intervals (median, proportion) applied row by row."""
    found = [interval(row) for row in np.asarray(values)]
    return tuple(np.array([getattr(c, end) for c in found]) for end in ("estimate", "low", "high"))


# Headers of the fields that recur in the chapters' tables, in words; a chapter names its others.
HEADERS = {"rp": "RP", "retrieval": "retrieval accuracy", "median_similarity": "median similarity"}
IDENTIFIER = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


def decimals(values, digits: int = 3) -> int:
    """The decimals that show the largest of `values` (finite, any sign) to `digits` significant
    digits: 0.9213 -> 3 (0.921), 12.34 -> 1 (12.3), 600.31 -> 0 (600)."""
    finite = [abs(v) for v in values if np.isfinite(v) and v != 0]
    if not finite:
        return 0
    return max(0, digits - 1 - int(np.floor(np.log10(max(finite)))))


def _missing(value) -> bool:
    """An empty cell: None, NaN, or an interval undefined on the data (a median of nothing)."""
    if isinstance(value, Interval):
        return not np.isfinite(value.estimate)
    return value is None or (isinstance(value, float) and np.isnan(value))


def _column_text(column: pd.Series, digits: int, missing: str | None) -> pd.Series:
    """One column's cells as text: Intervals to `digits` significant digits of their estimate,
    integers (and floats that are whole numbers, counts) as integers, other floats to the
    decimals that give the column's largest value `digits` significant digits (in scientific
    notation where even the largest is below 0.001), booleans as
    yes/no, and a missing value as `missing` (an error where None)."""
    values = [None if _missing(v) else v for v in column]
    numbers = [
        float(v)
        for v in values
        if isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
    ]
    if missing is None and None in values:
        raise ValueError(
            f"column {column.name!r} has an empty cell (NaN); allowed: a table without empty "
            "cells (split a pivot into tables that are full) or missing='—' where a cell does "
            "not apply"
        )
    whole = all(v.is_integer() for v in numbers if np.isfinite(v))
    places = decimals(numbers, digits)
    tiny = bool(numbers) and max(map(abs, numbers)) < 1e-3  # errors, 3.1e-06
    cells = [c for c in values if isinstance(c, Interval)]
    spec = f".{decimals([c.estimate for c in cells], digits)}f" if cells else ""

    def text(value) -> str:
        if isinstance(value, Interval):
            return format(value, spec)
        if isinstance(value, (bool, np.bool_)):
            return "yes" if value else "no"
        if value is None:
            return missing
        if isinstance(value, (int, float, np.number)):
            if whole:
                return f"{int(value):,}"
            if tiny:
                return f"{float(value):.{max(digits - 2, 1)}e}"
            return intervals.unsigned_zero(float(value), f".{places}f")
        return str(value)

    return pd.Series([text(v) for v in values], index=column.index, name=column.name)


def _worded(label, headers: dict):
    """A header (or each level of a tuple header) in words, from `headers` else HEADERS."""
    if isinstance(label, tuple):
        return tuple(_worded(part, headers) for part in label)
    return headers.get(label, HEADERS.get(label, label))


CELL_STYLE = [{"selector": "th, td", "props": "padding: 0.3em 0.6em"}]  # columns apart


class ReadersTable:
    """A table as for_readers made it: its cells as text (`data`), shown as HTML without an index
    column, and as plain text (its repr: what a glued table's text/plain holds, the same on every
    run)."""

    def __init__(self, data: pd.DataFrame):
        self.data = data

    def to_html(self) -> str:
        style = self.data.style.hide(axis="index").set_table_styles(CELL_STYLE)
        return style.to_html()

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return self.data.to_string(index=False)


def for_readers(
    frame,
    digits: int = 3,
    headers: dict | None = None,
    missing: str | None = None,
):
    """A table (DataFrame or Series) as a reader reads it, for a chapter's cell to show: headers
    in words (`headers`, then HEADERS; an identifier left over is an error), numbers to `digits`
    significant digits per column (Intervals as `0.92 [0.87, 0.94]`, counts as integers, no
    "-0.000"), the index as the first column under its name (none where it only counts rows, 0 to
    n - 1 unnamed), no
    header row of its own for the columns' name, and no empty cell (an error unless `missing`
    says what a cell that does not apply shows). A ReadersTable."""
    headers = headers or {}
    table = frame.to_frame() if isinstance(frame, pd.Series) else frame.copy()
    table.columns = table.columns.set_names([None] * table.columns.nlevels)
    counting = pd.RangeIndex(len(table))  # an index that only counts the rows
    keep_index = table.index.names != [None] or not table.index.equals(counting)
    row_labels = []
    if keep_index:
        table.index = table.index.map(lambda label: _worded(label, headers))
        row_labels = list(table.index)
        names = [_worded(name or "", headers) for name in table.index.names]
        table = table.reset_index(names=names if table.index.nlevels > 1 else names[0])
    table = pd.DataFrame(
        {key: _column_text(table[key], digits, missing) for key in table.columns},
        index=table.index,
    )
    worded = [_worded(label, headers) for label in table.columns]
    grouped = any(isinstance(label, tuple) for label in worded)
    table.columns = pd.MultiIndex.from_tuples(worded) if grouped else worded
    labels = [
        part
        for label in [*table.columns, *row_labels]
        for part in (label if isinstance(label, tuple) else (label,))
    ]
    left = [str(label) for label in labels if IDENTIFIER.match(str(label))]
    if left:
        raise ValueError(
            f"headers or row labels {left} are identifiers; allowed: words, given in headers= "
            "or HEADERS"
        )
    return ReadersTable(table)
