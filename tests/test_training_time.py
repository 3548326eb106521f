"""Chapter 9's measurements along training: crossing times, their intervals over the noises, the
slopes against the training-set size, and the long runs' configs."""

import math

import numpy as np
import pytest
import torch

from difflab.book.catalogue import memorization_sweep, time_runs, time_snapshots
from difflab.book.profiles import get_profile
from difflab.chapters import ch09_training_time as ch09
from difflab.core import intervals

TIMES = [100, 200, 400, 800]


def test_the_long_runs_are_chapter_3_s_sweep_run_longer_with_shared_snapshots():
    """Same seed, batches and size as chapter 3's model but for steps and snapshots, so the
    snapshot at chapter 3's budget is chapter 3's model; both widths keep the same times."""
    for name in ("ci", "smoke", "paper"):
        profile = get_profile(name, device="cpu")
        runs, sweep = time_runs(profile), memorization_sweep(profile)
        grid = time_snapshots(profile)
        assert profile.sweep_steps in grid and grid == tuple(sorted(set(grid)))
        for (arch, n), config in runs.items():
            assert set(config.snapshots) <= set(grid) and max(config.snapshots) < config.steps
            if (arch, n) in sweep:
                chapter_3 = sweep[arch, n].as_dict()
                assert {
                    k: v for k, v in config.as_dict().items() if k not in ("steps", "snapshots")
                } == {k: v for k, v in chapter_3.items() if k not in ("steps", "snapshots")}
    ci = time_snapshots(get_profile("ci"))
    assert ci[0] == 250 and ci[-1] == 5700 and 3000 in ci  # half-octaves down from 8,000


def test_first_crossing_interpolates_in_log_time():
    curve = np.array([0.0, 0.05, 0.15, 0.3])
    assert ch09.first_crossing(TIMES, curve, 0.1) == pytest.approx(math.sqrt(200 * 400))
    assert ch09.first_crossing(TIMES, curve, 0.3) == pytest.approx(800)
    assert ch09.first_crossing(TIMES, curve, 0.5) == math.inf  # never
    assert ch09.first_crossing(TIMES, curve, 0.0) == 100  # from the start
    falling = np.array([10.0, 8.0, 4.0, 3.0])
    assert ch09.first_crossing(TIMES, falling, 6.0, falling=True) == pytest.approx(
        math.sqrt(200 * 400)
    )


def test_first_crossing_runs_over_batches_and_per_batch_levels():
    curves = np.array([[0.0, 0.0], [0.2, 0.0], [0.2, 0.0], [0.2, 0.4]])  # times x batch
    assert ch09.first_crossing(TIMES, curves, 0.1).tolist() == [
        pytest.approx(math.sqrt(100 * 200)),
        pytest.approx(400 * 2**0.25),  # a quarter of the way up from 0 to 0.4, in log time
    ]
    levels = np.array([0.2, 0.4])
    assert ch09.first_crossing(TIMES, curves, levels).tolist() == [
        pytest.approx(200),
        pytest.approx(800),
    ]


FINE = [25 * 2 ** (k / 2) for k in range(16)]  # half-octaves, 25 to ~4,500


def _copies(tau: float, noises: int = 400, seed: int = 0, times=TIMES) -> np.ndarray:
    """0/1 copies at `times`: each noise copies from its own time on, the times spread around tau."""
    onset = tau * np.exp(np.random.default_rng(seed).normal(0, 0.5, noises))
    return (np.array(times)[:, None] >= onset[None]).astype(np.uint8)


def test_the_copy_time_and_its_interval_come_from_the_same_noises():
    copies = _copies(300)
    found = ch09.copy_time(copies, TIMES)
    expected = ch09.first_crossing(TIMES, copies.mean(-1), ch09.COPY_LEVEL)
    assert found.estimate == pytest.approx(expected)
    assert found.low <= found.estimate <= found.high and found.n == 400
    assert ch09.copy_time(np.zeros((4, 50), np.uint8), TIMES).estimate == math.inf


def test_the_slope_is_one_where_the_time_grows_as_the_size_and_zero_where_it_stays():
    sizes = [16, 32, 64]
    assert ch09.log_slope(sizes, [50, 100, 200]) == pytest.approx(1)
    assert ch09.log_slope(sizes, [70, 70, 70]) == pytest.approx(0)
    batched = np.array([[50, 70], [100, 70], [200, 70]])
    assert ch09.log_slope(sizes, batched) == pytest.approx([1, 0])
    copies = {n: _copies(8 * n, seed=n, times=FINE) for n in (16, 32, 64)}
    never = np.zeros((len(FINE), 400), np.uint8)
    found, reached = ch09.copy_time_slope(copies | {128: never}, FINE)
    assert reached == [16, 32, 64]  # 128 never copies within the run: left out
    # times 8n: slope 1, within the half-octave grid's interpolation error
    assert 0.8 < found.estimate < 1.2 and found.low < found.estimate < found.high
    alone, reached = ch09.copy_time_slope({16: copies[16], 128: never}, FINE)
    assert reached == [16] and math.isnan(alone.estimate) and "a slope needs 2" in alone.method


def test_the_generation_time_is_when_the_fid_has_made_nine_tenths_of_its_fall():
    fid = np.array(
        [100.0, 50.0, 20.0, 10.0]
    )  # falls 90: nine tenths reached at 19 (between 400, 800)
    draws = np.stack([fid, fid * 1.1, fid * 0.9], axis=1)
    found = ch09.generation_time(fid, draws, TIMES, noises=500)
    assert found.estimate == ch09.first_crossing(TIMES, fid, 19.0, falling=True)
    assert 400 < found.estimate < 800 and found.n == 500
    flat = {n: fid for n in (16, 32)}
    slope = ch09.generation_time_slope(flat, {n: draws for n in flat}, TIMES, noises=500)
    assert slope.estimate == pytest.approx(0)


def test_an_interval_from_given_draws_leaves_the_undefined_ones_out():
    found = intervals.from_draws(1.0, [0.0, 1.0, 2.0, math.inf], n=10)
    assert found.low == pytest.approx(0.05) and found.high == pytest.approx(1.95)
    assert "25.0% undefined" in found.method
    with pytest.raises(ValueError, match="undefined"):
        intervals.from_draws(1.0, [math.inf, math.nan], n=10)


def test_the_study_s_bits_read_back():
    hits = np.array([1, 0, 0, 1], dtype=bool)
    assert ch09.bits(torch.tensor(hits)) == "1001"
    assert ch09.unbits("1001").tolist() == [1, 0, 0, 1]


def test_a_snapshot_is_found_again_with_its_copies_exact_and_its_fid_to_rounding():
    stored = {"copies": "0110", "same_copy_optimal": "0100", "fid": 2.5}
    assert all(ch09.found_again(dict(stored, fid=2.5 * (1 + 1e-9)), stored).values())
    moved = ch09.found_again(dict(stored, copies="0111", fid=2.5 * (1 + 1e-5)), stored)
    assert moved == {"copies": False, "same_copy_optimal": True, "fid": False}
