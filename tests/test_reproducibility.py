"""Chapters 1 and 2's experiments and the metrics' agreement of sets of models, on a closed-form
denoiser: cheap, exact and deterministic."""

import numpy as np
import pytest
import torch

from difflab import sample
from difflab.book.plotting import pair_matrix
from difflab.book.tables import estimates
from difflab.chapters.ch01_deterministic_map import (
    guess_gap,
    sampler_agreement,
    sampler_steps,
    settled_step,
    worst_agreement,
)
from difflab.chapters.ch02_reproducibility import (
    along_training,
    emergence,
    emergence_scores,
    gap_to,
    pair_summary,
    sampler_consistency,
)
from difflab.core import intervals, metrics
from difflab.core.denoisers import GaussianDenoiser
from difflab.core.metrics import pair_similarities, pairwise_scores, pooled_agreement


@pytest.fixture(scope="module")
def gaussian(fashion8):
    return GaussianDenoiser.fit(fashion8[0])


def test_sampler_consistency_scores_every_sampler_and_step_count(gaussian, fashion8):
    noise = torch.randn(64, *fashion8[0].shape[1:], generator=torch.Generator().manual_seed(0))
    reference = sample(gaussian, noise, "ddim", 100)
    rows = sampler_consistency(
        gaussian, noise, reference, threshold=0.9, samplers=("ddim", "dpm++"), step_counts=(10, 100)
    )
    assert [(r["sampler"], r["steps"]) for r in rows] == [
        ("ddim", 10),
        ("ddim", 100),
        ("dpm++", 10),
        ("dpm++", 100),
    ]
    assert (
        rows[1]["median_similarity"] == pytest.approx(1)
        and rows[1]["rp"] == 1
        and rows[1]["retrieval"] == 1
    )
    assert rows[0]["median_similarity"] == torch.tensor(rows[0]["similarity"]).median().item()
    assert all(r["median_similarity"] > 0.9 for r in rows)


def test_emergence_compares_the_runs_and_the_first_run_with_its_end(gaussian, fashion8):
    noise = torch.randn(32, *fashion8[0].shape[1:], generator=torch.Generator().manual_seed(1))
    blurred = GaussianDenoiser.fit(fashion8[0].flip(-1))  # a different "model"
    result = emergence(
        {10: blurred, 20: gaussian}, {10: gaussian, 20: gaussian}, noise, 10, threshold=0.99
    )
    assert (
        result["RP between the runs"][1] == 1
        and result["RP of the first run with its final model"][1] == 1
    )
    assert result["RP between the runs"][0] < 1
    with pytest.raises(ValueError, match="the runs' checkpoints differ"):
        emergence({10: gaussian}, {20: gaussian}, noise, 10, threshold=0.9)


def test_emergence_scores_the_first_noises_with_any_features(gaussian, fashion8):
    noise = torch.randn(16, *fashion8[0].shape[1:], generator=torch.Generator().manual_seed(1))
    blurred = GaussianDenoiser.fit(fashion8[0].flip(-1))
    images = along_training({10: blurred, 20: gaussian}, {10: gaussian, 20: gaussian}, noise, 10)
    assert torch.equal(images[1][20], sample(gaussian, noise, "ddim", 10))
    calls = []

    def features(x):
        calls.append(len(x))
        return x.flatten(1).double() / x.flatten(1).double().norm(dim=1, keepdim=True)

    result = emergence_scores(images, 0.99, features, count=5)
    assert set(calls) == {5} and result["RP between the runs"][1] == 1


def test_sampler_agreement_calibrates_a_threshold_per_sampler(gaussian, fashion8):
    noise = torch.randn(64, *fashion8[0].shape[1:], generator=torch.Generator().manual_seed(2))
    reference, results = sampler_agreement(gaussian, noise, 40, {"ddim": 40, "dpm++": 10}, seed=3)
    assert torch.equal(reference, sample(gaussian, noise, "ddim", 40))
    same = results["ddim"]
    assert torch.equal(same["images"], reference) and same["rp"] == 1 and same["retrieval"] == 1
    for r in results.values():
        assert (
            r["shuffled"].median() < r["threshold"] < r["similarity"].min()
        )  # well separated here
        assert len(r["similarity"]) == len(r["shuffled"]) == 64


def test_second_order_samplers_get_half_the_steps():
    assert sampler_steps(25) == {"ddim": 25, "euler": 25, "plms": 25, "dpm++": 12, "heun": 12}


def test_worst_agreement_takes_each_score_at_its_worst_seed():
    def result(rp, retrieval, similarity, threshold):
        return {
            "rp": rp,
            "retrieval": retrieval,
            "similarity": torch.tensor(similarity),
            "median_similarity": torch.tensor(similarity).median().item(),
            "threshold": threshold,
        }

    agreement = {
        0: (
            None,
            {
                "ddim": result(0.75, 1.0, [0.5, 0.9, 0.95, 0.3], 0.3),
                "heun": result(0.5, 0.75, [0.7, 0.8, 0.6, 0.9], 0.2),
            },
        ),
        1: (
            None,
            {
                "ddim": result(1.0, 0.5, [0.8, 0.85, 0.9, 0.95], 0.4),
                "heun": result(0.75, 1.0, [0.6, 0.1, 0.6, 0.6], 0.1),
            },
        ),
    }
    table = worst_agreement(agreement)
    assert list(table.index) == ["ddim", "heun"]
    assert estimates(table).loc["ddim"].to_dict() == pytest.approx(
        {"rp": 0.75, "retrieval": 0.5, "median_similarity": 0.5, "threshold": 0.4}
    )
    assert table.loc["ddim", "rp"] == intervals.proportion(np.array([1, 1, 1, 0]))
    heun = table.loc["heun", "median_similarity"]
    assert heun.estimate == pytest.approx(0.6) and heun.method == "percentile bootstrap"


def test_the_guess_settles_with_an_interval_on_the_grid():
    from difflab.chapters.ch01_deterministic_map import settled_step, settled_steps

    gap = torch.tensor([[0.9] * 8, [0.6, 0.4] * 4, [0.3] * 8, [0.0] * 8])
    found = settled_steps([999, 599, 199, 0], gap)
    assert found.estimate == settled_step([999, 599, 199, 0], gap) == 599  # lower median 0.4
    assert isinstance(found.estimate, int)  # glued as a step, never "599.0"
    assert (found.low, found.high) == (199, 599)  # resamples with more 0.6 settle later


def test_pair_scores_and_similarities_cover_every_pair_and_seed(fashion8):
    images = fashion8[0][:40]
    samples = {
        "a": {0: images[:20], 1: images[20:]},
        "b": {0: images[:20], 1: images[20:]},
        "c": {0: images[20:], 1: images[:20]},
    }
    same, shuffled = pair_similarities(samples, [0, 1])
    assert (
        list(same) == [("a", "b"), ("a", "c"), ("b", "c")]
        and len(same["a", "b"]) == len(shuffled["a", "b"]) == 40
    )
    assert torch.allclose(same["a", "b"], torch.ones(40, dtype=same["a", "b"].dtype))
    rp, retrieval = pairwise_scores(samples, [0, 1], threshold=0.99)
    assert (
        rp["a", "b"] == [1.0, 1.0] and retrieval["a", "b"] == [1.0, 1.0] and max(rp["a", "c"]) < 0.2
    )
    flipped = lambda x: metrics.centred_pixels(x.flip(-1))  # any features plug in
    assert pairwise_scores(samples, [0, 1], 0.99, flipped)[0] == rp
    assert torch.allclose(pair_similarities(samples, [0, 1], flipped)[0]["a", "c"], same["a", "c"])
    matrix = pair_matrix(["a", "b", "c"], rp)
    assert matrix.loc["b", "a"] == matrix.loc["a", "b"] == 1.0 and matrix.loc["c", "c"] == 1.0


def test_gap_to_is_zero_for_the_reference_itself(gaussian, fashion8):
    noise = torch.randn(8, *fashion8[0].shape[1:], generator=torch.Generator().manual_seed(0))
    _, path = sample(gaussian, noise, "ddim", 5, return_trajectory=True)
    gap = gap_to(gaussian, {"same": gaussian}, path)
    assert list(gap.index) == list(path.t) and (gap["same"] == 0).all()


def test_the_guess_settles_along_the_trajectory_onto_the_final_image(gaussian, fashion8):
    noise = torch.randn(16, *fashion8[0].shape[1:], generator=torch.Generator().manual_seed(4))
    t, gap = guess_gap(gaussian, noise, 10)
    assert len(t) == 10 and gap.shape == (10, 16) and t[0] > t[-1]
    assert (
        gap[-1].max() < 1e-5 and gap[0].median() > gap[-1].median()
    )  # the last guess is the final image
    level = (gap[0].median() + gap[-1].median()).item() / 2
    k = t.index(settled_step(t, gap, level))  # the first step below the level
    assert gap[k].median() < level and all(gap[j].median() >= level for j in range(k)) and k > 0
    with pytest.raises(ValueError, match="never falls below level=0"):
        settled_step(t, gap, level=0)


def test_pooled_agreement_pools_the_chosen_pairs_over_seeds(fashion8):
    images = fashion8[0][:40]
    samples = {
        "a": {0: images[:20], 1: images[20:]},
        "b": {0: images[:20], 1: images[20:]},
        "c": {0: images[20:], 1: images[:20]},
    }
    same, shuffled, pooled = pooled_agreement(
        samples, [0, 1], [("a", "b")], false_positive_rate=0.1
    )
    threshold = pooled.threshold
    per_pair_same, per_pair_shuffled = pair_similarities(samples, [0, 1])
    assert torch.equal(same, per_pair_same["a", "b"]) and torch.equal(
        shuffled, per_pair_shuffled["a", "b"]
    )
    assert (shuffled > threshold).double().mean() == pytest.approx(0.1, abs=0.03)
    both = pooled_agreement(samples, [0, 1], [("a", "b"), ("a", "c")])[1]
    assert torch.equal(both, torch.cat([per_pair_shuffled["a", "b"], per_pair_shuffled["a", "c"]]))


def test_pair_summary_names_the_lowest_pair_by_its_mean_over_seeds():
    values = {
        ("a", "b"): [0.9, 0.1],
        ("a", "c"): [0.4, 0.4],
        ("b", "c"): [0.8, 0.8],
        ("a", "d"): [0.6, 0.6],
        ("b", "d"): [0.7, 0.7],
    }
    found = pair_summary(values, n=100)  # 80 of 200 noises for (a, c), 160 for (b, c)
    assert found[0] == f"{intervals.proportion(np.arange(200) < 80):.2f} (a vs c)"
    assert found[1:] == ["0.50-0.70", f"{intervals.proportion(np.arange(200) < 160):.2f}"]
    assert found[0].startswith("0.40 [0.33, 0.47]")
