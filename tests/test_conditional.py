"""Class-conditional networks (issue 15, part 1's machinery): training with the null label,
sampling with labels and classifier-free guidance, and clear errors for what does not fit."""

import numpy as np
import pandas as pd
import pytest
import torch

from difflab import sample
from difflab.core.models import NULL_LABEL
from difflab.training.loop import TrainConfig, train

TINY = TrainConfig(
    resolution=8, subset=64, arch="unet-s-class", label_dropout=0.2, steps=6, batch_size=16
)


@pytest.fixture(scope="module")
def conditional(tmp_path_factory):
    model, _ = train(TINY, tmp_path_factory.mktemp("conditional") / "state.pt", progress=False)
    return model


def _noise(n=6, seed=0):
    return torch.randn(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def test_unconditional_configs_keep_their_fields_and_keys():
    plain = TrainConfig(resolution=8, subset=64, arch="mlp")
    assert "label_dropout" not in plain.as_dict()  # the committed models' keys stay as they were
    assert (
        TINY.as_dict()["label_dropout"] == 0.2
        and TrainConfig(**TINY.as_dict()).as_dict() == TINY.as_dict()
    )


@pytest.mark.parametrize(
    "change, message",
    [
        (
            dict(arch="unet-s-class", label_dropout=None),
            "label_dropout=None is not allowed for arch='unet-s-class'",
        ),
        (dict(arch="unet-s-class", label_dropout=1.0), r"allowed: a number in \[0, 1\)"),
        (dict(arch="unet-s", label_dropout=0.1), r"allowed: None \(the arch is unconditional\)"),
    ],
)
def test_label_dropout_goes_with_a_conditional_arch(change, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{**TINY.as_dict(), **change})


def test_conditional_training_is_deterministic(tmp_path, conditional):
    again, _ = train(TINY, tmp_path / "again.pt", progress=False)
    for a, b in zip(conditional.net.parameters(), again.net.parameters()):
        assert torch.equal(a, b)


def test_labels_and_guidance_steer_a_deterministic_sampler(conditional):
    noise, labels = _noise(), torch.tensor([0, 1, 2, 3, 4, 5])
    first = sample(conditional, noise, "ddim", 5, labels=labels)
    assert torch.equal(first, sample(conditional, noise, "ddim", 5, labels=labels))
    assert not torch.equal(first, sample(conditional, noise, "ddim", 5, labels=labels.flip(0)))
    guided = sample(conditional, noise, "ddim", 5, labels=labels, guidance=2.0)
    assert not torch.equal(first, guided)
    in_parts = sample(conditional, noise, "ddim", 5, labels=labels, guidance=2.0, batch_size=4)
    scale = guided.abs().max()  # the barely trained net's images run to ~500: compare at float32
    assert torch.allclose(
        in_parts, guided, rtol=0, atol=1e-5 * scale
    )  # precision of that scale (batching changes
    # the last digits); each batch gets its own labels


def test_guidance_is_the_conditional_estimate_pushed_away_from_the_null_one(conditional):
    x, t = _noise(), torch.full((6,), 500)
    labels = torch.arange(6)
    conditional_eps = conditional.given(labels).eps(x, t)
    null_eps = conditional.given(torch.zeros(6, dtype=torch.long)).eps(
        x, t
    )  # (any label: checked below)
    unconditional = conditional.objective.eps(
        lambda x_, t_: conditional.net(x_, t_, torch.full((6,), NULL_LABEL)),
        x,
        t,
        *conditional.coefficients(t, x),
    )
    guided = conditional.given(labels, guidance=1.5).eps(x, t)
    assert torch.allclose(guided, 2.5 * conditional_eps - 1.5 * unconditional, atol=1e-5)
    assert not torch.allclose(null_eps, unconditional)


def test_what_does_not_fit_is_named(conditional, fashion8):
    from difflab.core.denoisers import GaussianDenoiser

    noise = _noise()
    with pytest.raises(ValueError, match="allowed: one label per noise, shape \\(6,\\)"):
        sample(conditional, noise, "ddim", 5)  # labels missing
    with pytest.raises(ValueError, match="allowed: one label per noise"):
        sample(conditional, noise, "ddim", 5, labels=torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="labels run from 0 to 10; allowed: 0..9"):
        sample(conditional, noise, "ddim", 5, labels=torch.tensor([0, 1, 2, 3, 4, 10]))
    with pytest.raises(ValueError, match="guidance=-1 is not allowed"):
        sample(conditional, noise, "ddim", 5, labels=torch.zeros(6, dtype=torch.long), guidance=-1)
    with pytest.raises(ValueError, match="given to an unconditional denoiser"):
        sample(
            GaussianDenoiser.fit(fashion8[0]),
            noise,
            "ddim",
            5,
            labels=torch.zeros(6, dtype=torch.long),
        )
    with pytest.raises(ValueError, match="class-conditional and was given no labels"):
        conditional.eps(noise, torch.full((6,), 500))


def test_balanced_labels_and_same_label_partners():
    from difflab.chapters.ch06_beyond_unconditional import balanced_labels, same_label_derangement

    labels = balanced_labels(35)
    assert torch.bincount(labels).tolist() == [4] * 5 + [3] * 5
    partner = same_label_derangement(labels, seed=3)
    assert torch.equal(labels[partner], labels) and (partner != torch.arange(35)).all()
    assert sorted(partner.tolist()) == list(range(35))
    with pytest.raises(ValueError, match="n=5 is not allowed; allowed: an integer >= 20"):
        balanced_labels(5)
    with pytest.raises(ValueError, match=r"labels \[2\] occur once"):
        same_label_derangement(torch.tensor([0, 0, 1, 1, 2]))


def test_conditional_scores_see_through_the_label():
    from difflab.chapters.ch06_beyond_unconditional import (
        balanced_labels,
        label_accuracy,
        label_agreement,
        same_label_derangement,
    )

    labels = balanced_labels(200)
    a = torch.rand(200, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    copy = label_agreement(a, a + 0.01 * torch.randn_like(a), labels)
    assert copy["rp"] > 0.95 and copy["retrieval"] == 1.0 and copy["null_median"] < 0.2
    other_noise = label_agreement(a, a[same_label_derangement(labels, seed=7)], labels)
    assert other_noise["rp"] < 0.05 and other_noise["retrieval"] == 0.0

    class ByBrightness:  # a stand-in classifier: the class is the image's brightness decile
        predict = staticmethod(
            lambda x: torch.nn.functional.one_hot((x.mean((1, 2, 3)) * 9.99).long(), 10).float()
        )

    images = ((labels.float() + 0.5) / 10).view(-1, 1, 1, 1).expand(-1, 1, 8, 8)
    table = label_accuracy(
        {("m", 0.0): {0: images}, ("m", 2.0): {0: images.flip(0)}}, labels, ByBrightness
    )
    assert table["accuracy"].tolist() == [1.0, 0.0]


def test_claim_values_take_the_worst_seed_of_each_claim():
    from difflab.chapters.ch06_beyond_unconditional import conditional_claims

    table = pd.DataFrame(
        [
            {
                "pair": p,
                "guidance": w,
                "seed": s,
                "rp": rp,
                "retrieval": 0.9 - s / 10,
                "null_median": 0.7 + w / 10,
                "median_similarity": 0.9,
            }
            for p, w, s, rp in [
                ("A vs B", 0.0, 0, 0.8),
                ("A vs B", 0.0, 1, 0.7),
                ("A vs B", 2.0, 0, 0.6),
                ("A vs C", 0.0, 0, 0.5),
                ("A vs C", 2.0, 1, 0.2),
            ]
        ]
    )
    accuracy = pd.DataFrame(
        [
            {"model": m, "guidance": w, "seed": 0, "accuracy": a}
            for m, w, a in [("A", 0.0, 0.8), ("A", 2.0, 0.95), ("C", 0.0, 0.7), ("C", 2.0, 0.99)]
        ]
    )
    values = conditional_claims(table, accuracy, seed_pair="A vs B")
    assert values["class_rp_min"] == 0.2 and values["class_seed_rp_min"] == 0.6
    assert values["class_seed_retrieval_min"] == pytest.approx(0.8)
    assert values["class_dit_rp_w0_min"] == 0.5 and values["class_dit_rp_w2_min"] == 0.2
    assert values["class_accuracy_w0_min"] == 0.7 and values["class_accuracy_w2_min"] == 0.95
    assert values["class_guidance_gain_min"] == pytest.approx(0.15)
    assert values["class_null_median_w0"] == 0.7 and values[
        "class_null_median_w2"
    ] == pytest.approx(0.9)


def test_per_noise_columns_join_over_the_seeds_and_pool_into_intervals():
    from difflab.chapters.ch06_beyond_unconditional import joined, pooled
    from difflab.core import intervals

    rows = pd.DataFrame(
        [
            {"pair": "A vs B", "guidance": 0.0, "seed": 1, "hits": np.array([True, True])},
            {"pair": "A vs B", "guidance": 0.0, "seed": 0, "hits": np.array([False, True])},
            {"pair": "A vs C", "guidance": 0.0, "seed": 0, "hits": np.array([False, False])},
        ]
    )
    by = ["pair", "guidance"]
    assert joined(rows, by, "hits")["A vs B", 0.0].tolist() == [False, True, True, True]
    table = pooled(rows, by, {"RP": ("hits", intervals.proportion)})
    assert table.loc[("A vs B", 0.0), "RP"] == intervals.proportion(np.array([0, 1, 1, 1]))
    assert table.loc[("A vs C", 0.0), "RP"].estimate == 0 and table.index.names == by


def _made_up_tables(shift: float = 0.0) -> dict:
    """Per-noise arrays for every key the predictions read, 2 seeds of 4 noises (8 measurements):
    rates of 0.75 where a bound is 0.5 or lower, similarities 0.9 against 0.5 to the truth."""
    hit = np.array([1, 1, 1, 0] * 2, bool)
    flat = lambda value: np.full(8, value)
    pairs, models = ["A vs B", "A vs C", "B vs C"], ["A", "B", "C"]
    conditional = {
        **{(k, p, w): hit for k in ("hits", "retrieved") for p in pairs for w in (0.0, 2.0)},
        **{("correct", m, w): np.ones(8, bool) if w else hit for m in models for w in (0.0, 2.0)},
    }
    conditional[("retrieved", "A vs B", 2.0)] = np.ones(8, bool)
    inverse = {}
    for task in ("inpainting", "down-sampling"):
        for partner in ("B", "D", "Gaussian"):
            rate = np.ones(8, bool) if partner == "B" else hit if partner == "D" else ~hit
            inverse |= {
                ("hits", task, "projection", partner): rate,
                ("similarity", task, "projection", partner): flat(0.9),
                ("truth_similarity", task, "projection", partner): flat(0.5 + shift),
            }
        inverse |= {
            ("hits", task, "dps", "B"): np.zeros(8, bool),
            ("residuals", task, "dps", "B"): flat(0.1),
        }
    runs = ["F", "G"]
    tuning = {
        ("tuned", "F", "G"): hit,
        ("tuned", "F", "S"): hit,
        ("tuned", "G", "S"): hit,
        **{("sneaker", r): np.ones(8, bool) for r in runs},
        **{("along", r, "from scratch", "start"): flat(0.5) for r in runs},
        **{("along", r, "from scratch", "end"): flat(0.8) for r in runs},
        **{("along", r, "its parent", "start"): flat(1.0) for r in runs},
        **{("along", r, "its parent", "end"): flat(0.6) for r in runs},
    }
    return {"conditional": conditional, "inverse": inverse, "fine-tuning": tuning}


def test_each_prediction_is_decided_by_its_margins_interval():
    from difflab.chapters.ch06_beyond_unconditional import (
        PREDICTIONS,
        Parts,
        checks,
        margin_intervals,
    )

    parts = Parts("A vs B", ("A vs C", "B vs C"), ("A", "B", "C"), "B", "D", "Gaussian",
                  (("F", "G"), ("F", "S"), ("G", "S")), ("F", "G"))  # fmt: skip
    tasks = ("inpainting", "down-sampling")
    found = margin_intervals(_made_up_tables(), parts, tasks, (0.0, 2.0), 2)
    estimate = {key: interval.estimate for key, (interval, _) in found.items()}
    assert estimate["seed_pair"] == pytest.approx(-0.05)  # retrieval 0.75 at w = 0, bound 0.8
    assert estimate["family_w0"] == pytest.approx(0.45) and estimate["accuracy"] == pytest.approx(
        0.1
    )
    assert estimate["guidance_gain"] == pytest.approx(0.25)
    assert estimate["projection_seed"] == pytest.approx(0.15)  # down-sampling: 1 - 0.85
    assert estimate["projection_baseline"] == pytest.approx(0.5)  # DiT 0.75, Gaussian 0.25
    assert estimate["projection_truth"] == pytest.approx(0.4)
    assert estimate["dps_residual"] == pytest.approx(0.05) and estimate[
        "dps_inpainting"
    ] == pytest.approx(0.05)
    assert estimate["toward_scratch"] == pytest.approx(0.3)
    assert estimate["from_parent"] == pytest.approx(0.4) and estimate["sneakers"] == pytest.approx(
        0.1
    )
    assert found["seed_pair"][1] == pytest.approx([-0.05, -0.05])  # each seed alone
    frame = checks(found)
    assert list(frame.index) == list(PREDICTIONS.values())
    assert frame.loc[PREDICTIONS["accuracy"], "verdict"] == "held"
    assert frame.loc[PREDICTIONS["seed_pair"], "point verdict"] == "failed"
    closer = margin_intervals(_made_up_tables(shift=0.4), parts, tasks, (0.0, 2.0), 2)
    assert closer["projection_truth"][0].estimate == pytest.approx(0.0)
