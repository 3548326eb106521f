"""Seed-spread studies: written atomically, read back, a damaged file says how to restore it."""

import math

import pytest

from difflab.book.studies import (
    measured_rows,
    read_study,
    spread,
    study_minima,
    study_path,
    study_ranges,
    write_study,
)


def test_a_study_is_written_read_and_summarised(tmp_data):
    rows = [{"n": 2000, "seed": s, "margin": 0.1 * s} for s in range(1, 4)] + [
        {"n": 500, "seed": 1, "margin": -1.0}
    ]
    path = write_study("example", {"rows": rows})
    assert path == study_path("example") and [p.name for p in path.parent.iterdir()] == [
        "example.json"
    ]
    assert read_study("example")["rows"] == rows
    assert spread("example", "margin", n=2000) == {
        "min": pytest.approx(0.1),
        "max": pytest.approx(0.3),
        "count": 3,
    }
    unmeasured = spread("example", "margin", n=1000)
    assert (
        unmeasured["count"] == 0 and math.isnan(unmeasured["min"]) and math.isnan(unmeasured["max"])
    )


def test_study_minima_gives_the_table_and_the_worst_values_to_glue(tmp_data):
    write_study(
        "checks",
        {
            "rows": [
                {"n": 10, "seed": s, "rp": 0.9 + s / 100, "gain": 0.5 - s / 10} for s in range(3)
            ]
            + [{"n": 20, "seed": 0, "rp": 0.1, "gain": 0.0}]
        },
    )
    table, minima = study_minima("checks", {"rp": "study_rp_min", "gain": "study_gain_min"}, n=10)
    assert list(table.index) == ["rp", "gain"] and table.loc["rp", "max"] == pytest.approx(0.92)
    assert minima == {
        "study_seeds": 3,
        "study_rp_min": pytest.approx(0.9),
        "study_gain_min": pytest.approx(0.3),
    }


def test_study_ranges_give_each_key_its_range_over_a_section(tmp_data):
    write_study(
        "sections",
        {"fits": [{"seed": 0, "ratio": 2.0, "gap": 0.1}, {"seed": 1, "ratio": 1.5, "gap": 0.3}]},
    )
    assert study_ranges("sections", "fits", ["ratio", "gap"]) == {
        "study_fits_rows": 2,
        "study_ratio_min": 1.5,
        "study_ratio_max": 2.0,
        "study_gap_min": 0.1,
        "study_gap_max": 0.3,
    }


def test_a_damaged_or_missing_study_names_the_file_and_the_fix(tmp_data):
    with pytest.raises(FileNotFoundError, match="rerun studies/absent.py"):
        read_study("absent")
    write_study("broken", {"rows": []})
    study_path("broken").write_text('{"rows": [')
    with pytest.raises(FileNotFoundError, match="broken.json is missing or damaged"):
        read_study("broken")


def test_measured_rows_measure_every_count_and_seed_in_order():
    rows = measured_rows(lambda n, seed: {"value": n + seed}, counts=[10, 20], seeds=range(2))
    assert [(r["n"], r["seed"], r["value"]) for r in rows] == [
        (10, 0, 10),
        (10, 1, 11),
        (20, 0, 20),
        (20, 1, 21),
    ]
    assert all(r["seconds"] >= 0 for r in rows)
