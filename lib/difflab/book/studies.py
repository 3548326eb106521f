"""Seed-spread studies: a chapter's claim measured over many seeds at a reduced sample count,
run once by a script in studies/ and committed under data/studies/, so that the chapter can use
the smaller count and show the margin that justifies it."""

import math
import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from difflab.core import intervals
from difflab.core.paths import data_dir
from difflab.training.checkpoints import load_json, save_json


def study_path(name: str) -> Path:
    return data_dir() / "studies" / f"{name}.json"


def write_study(name: str, result: dict) -> Path:
    """Write the study's result atomically (a half-written file never replaces a good one)."""
    save_json(study_path(name), result)
    return study_path(name)


def read_study(name: str) -> dict:
    return load_json(
        study_path(name),
        f"restore it with `git checkout -- {study_path(name).name}` in its folder, "
        f"or rerun studies/{name}.py",
    )


def study_values(name: str, key: str, section: str = "rows", **where) -> list[float]:
    """`key` in each row of the study's `section` that matches `where` (none: the study did not
    measure that case, such as a reader's own sample count)."""
    return [
        row[key] for row in read_study(name)[section] if all(row[k] == v for k, v in where.items())
    ]


def spread(name: str, key: str, section: str = "rows", **where) -> dict[str, float]:
    """The smallest and largest `key` over the rows of the study's `section` that match `where`, and
    their count (0, with NaN bounds, when the study did not measure that case: a reader's own sample count)."""
    return _spread(study_values(name, key, section, **where))


def _spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {"min": math.nan, "max": math.nan, "count": 0}
    return {"min": min(values), "max": max(values), "count": len(values)}


def study_minima(name: str, glue_names: dict[str, str], **where) -> tuple[pd.DataFrame, dict]:
    """Each key's spread over the study's rows that match `where` (the table a chapter shows: min,
    max, count by key), and what the chapter glues: each key's worst (smallest) value under its glue
    name, and study_seeds (how many rows)."""
    table = pd.DataFrame({key: spread(name, key, **where) for key in glue_names}).T
    return table, {
        "study_seeds": int(table["count"].min()),
        **{glue: table.loc[key, "min"] for key, glue in glue_names.items()},
    }


def study_ranges(name: str, section: str, keys) -> dict[str, float]:
    """study_KEY_min and study_KEY_max of each key over a section's rows, and study_SECTION_rows
    (how many): the numbers a chapter glues beside its own single measurement."""
    ranges = {f"study_{section}_rows": len(read_study(name)[section])}
    for key in keys:
        s = spread(name, key, section)
        ranges |= {f"study_{key}_min": s["min"], f"study_{key}_max": s["max"]}
    return ranges


def measured_rows(measure, counts, seeds) -> list[dict]:
    """The study's rows: measure(n, seed), a dict, for every count n and seed, with n, seed and
    the seconds it took."""
    rows = []
    for n in counts:
        for seed in tqdm(seeds, desc=f"n = {n}"):
            tic = time.perf_counter()
            rows.append(
                {"n": n, "seed": seed, **measure(n, seed), "seconds": time.perf_counter() - tic}
            )
    return rows


def seed_interval(name: str, key: str, section: str = "rows", **where):
    """The mean of `key` over the rows of the study's `section` that match `where` (one per seed
    or block), with its Student-t interval over them (difflab.core.intervals.over_seeds); NaN with
    no rows, as `spread` (a profile whose counts the study did not measure: smoke)."""
    return _mean(study_values(name, key, section, **where))


def _mean(values: list[float]) -> intervals.Interval:
    if not values:
        return intervals.Interval(math.nan, math.nan, math.nan, 0, "seeds", "not measured")
    return intervals.over_seeds(values)


def seed_table(name: str, labels: dict[str, str], unit: str = "seeds", **where) -> pd.DataFrame:
    """The study's spread as a reader's table: one row per key (its label in words), its lowest
    and highest value over the rows that match `where`, how many rows, and their mean with its
    95% interval (seed_interval); a key the study did not measure at `where` (a reader's own
    count) reads "not measured"."""
    rows = {}
    for key, label in labels.items():
        values = study_values(name, key, **where)  # the study read once per key
        s, mean = _spread(values), _mean(values)
        rows[label] = {
            "lowest": s["min"] if values else "not measured",
            "highest": s["max"] if values else "not measured",
            unit: s["count"],
            f"mean over the {unit} [95%]": mean if values else "not measured",
        }
    return pd.DataFrame(rows).T.rename_axis("measured over the study")
