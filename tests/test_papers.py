"""The papers' numbers: as the reference notes give them, and what the chapters derive from them."""

import pytest

from difflab.book import papers
from difflab.core import gaussian


def test_two_point_numbers_agree_with_the_closed_form():
    assert papers.TWO_POINTS["theta_c"] == pytest.approx(gaussian.critical_theta(), abs=1e-4)
    assert papers.TWO_POINTS["critical step"] == gaussian.critical_step()


def test_gls_improvements_are_baseline_over_gls_for_every_row():
    assert set(papers.GLS_FID) == {"MNIST", "CIFAR-10"}
    for data in papers.GLS_FID:
        assert len(papers.GLS_FID[data]) == 9
    assert papers.gls_improvement("CIFAR-10")["PNDM", 3] == pytest.approx(103.11 / 34.20)
    assert all(
        value > 1 for data in papers.GLS_FID for value in papers.gls_improvement(data).values()
    )


def test_memorization_curves_pair_sizes_with_values():
    curves = papers.memorization_curves()
    assert all(len(n) == len(values) for n, values in curves.values())
    assert curves["RP 64 vs 256"][1][7] == 0.02 and curves["GL 64"] == (
        [2**10, 2**11, 2**12, 2**13],
        [0, 0.22, 0.87, 0.99],
    )


def test_headlines_write_the_intro_column_from_the_numbers_above():
    assert papers.headlines("02_reproducibility")["paper_rp_models"].startswith("0.70-0.91 over 7")
    sweep = papers.headlines("03_memorization")
    assert (
        sweep["paper_rp_sweep"] == "~0.65, 0.02-0.18, 0.61-0.85 (CIFAR-10, 2^6 / 2^13 / 2^15)"
    )  # dip: lowest mean, 2^13
    assert sweep["paper_gl_sweep"] == "~0 up to 2^10, ~1 from 2^13-2^14"
    assert (
        papers.headlines("05_late_initialization")["paper_improvement"]
        == "MNIST 3.6, 1.9, 4.1; CIFAR-10 2.6, 1.7, 3.0"
    )
    assert papers.headlines("04_symmetry_breaking")["paper_two_points"].startswith(
        "0.6436, ~292, 0.947"
    )


def test_headlines_give_kamb_and_ganguli_s_r_squared():
    local = papers.headlines("08_local_machines")
    assert local["paper_els_r2"].startswith("median r^2 0.94 (Fashion-MNIST), 0.94-0.96 over 4")
    assert local["paper_els_r2_attention"] == 0.77


def test_headlines_name_the_chapters_they_know():
    with pytest.raises(
        ValueError, match="chapter='06_nothing' is not allowed; allowed: 01_deterministic_map"
    ):
        papers.headlines("06_nothing")
