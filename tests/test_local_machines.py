"""Chapter 8's experiment functions (difflab.chapters.ch08_local_machines) on made-up data."""

import pandas as pd
import pytest
import torch

from difflab.book.profiles import get_profile
from difflab.chapters import ch08_local_machines as ch08
from difflab.core.denoisers import EmpiricalDenoiser
from difflab.core.local import LocalScoreMachine


@pytest.fixture(scope="module")
def train():
    return torch.rand(10, 1, 6, 6, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_patch_sizes_run_up_to_the_whole_image():
    assert ch08.patch_sizes(16) == (3, 5, 7, 9, 11, 13, 15, 31)
    assert ch08.patch_sizes(6)[-1] == 11


def test_the_search_is_every_image_at_the_paper_scale_only():
    assert ch08.search_for(get_profile("paper")) == ch08.Search()
    assert ch08.search_for(get_profile("ci")) == ch08.CPU_SEARCH


def test_calibrating_against_d_star_picks_the_whole_image(train):
    noise = torch.randn(4, 1, 6, 6, generator=torch.Generator().manual_seed(1))
    scores = ch08.calibrate(EmpiricalDenoiser(train), train, noise, 4, None, (3, 11))
    assert list(scores.columns) == [3, 11] and len(scores) == 4
    assert set(ch08.schedule(scores).values()) == {11}


def test_machine_and_closed_form_images_follow_the_schedule(train):
    noise = {0: torch.randn(3, 1, 6, 6, generator=torch.Generator().manual_seed(2))}
    sizes = dict.fromkeys([999, 749, 499, 249], 3)
    search = ch08.Search(ls=4, bbels=5)
    made = ch08.machine_images(train, sizes, noise, 4, search)
    from difflab.core.sampling import sample

    expected = sample(LocalScoreMachine(train, 3, candidates=4), noise[0], "ddim", 4)
    assert torch.allclose(made["LS"][0], expected) and set(made) == {"LS", "bbELS"}
    both = ch08.predictions({"a": train, "b": train}, {"a": sizes, "b": sizes}, noise, 4, search)
    assert both["a"]["D*"] is both["b"]["D*"]  # one training set: its closed forms made once
    assert set(both["a"]) == set(ch08.CLOSED_FORMS)


def test_tables_score_each_predictor_against_its_network(train):
    net = {0: train[:4], 1: train[4:8]}
    predictors = {"net": {"itself": net, "negated": {s: -x for s, x in net.items()}}}
    table = ch08.r_squared_table({"net": net}, predictors)
    assert table.loc["net", "itself"] == pytest.approx(1) and table.loc["net", "negated"] == 1
    other = {s: x.roll(1, -1) for s, x in net.items()}
    peers = ch08.peer_r_squared({"net": net, "other": other}, {"net": ["other"]})
    assert peers["net"] == pytest.approx(ch08.median_r_squared(other, net))
    picked = ch08.one_seed(predictors, 1)
    assert list(picked["net"]["itself"]) == [1] and picked["net"]["itself"][1] is net[1]
    rp, thresholds = ch08.rp_table({"net": net}, {"net": {"itself": net}}, [0, 1])
    assert rp.loc["net", "itself"] == 1.0 and thresholds["net"] < 1


def test_locality_compares_the_first_and_last_thirds_of_the_steps():
    assert ch08.locality(dict(enumerate([31, 31, 31, 15, 9, 9, 3, 3, 5]))) == (31, 11 / 3)


def test_prediction_margins_are_positive_where_a_prediction_holds():
    table = pd.DataFrame(
        {
            "LS": [0.85, 0.80, 0.70, 0.9, 0.8],
            "bbELS": [0.90, 0.85, 0.75, 0.8, 0.9],
            "Gaussian": [0.8, 0.8, 0.7, 0.5, 0.7],
            "D*": [0.7, 0.7, 0.7, 0.99, 0.8],
        },
        index=["U-Net S", "ResNet", "DiT", "small", "large"],
    )
    schedules = {"U-Net S": dict(enumerate([31, 31, 31, 3, 3, 3]))}
    margins = ch08.prediction_margins(
        table, schedules, 0.95, ["U-Net S", "ResNet"], "DiT", ["small", "large"]
    )
    assert set(margins) == set(ch08.PREDICTIONS)
    assert margins["shrinks"] == 28 and margins["over_gaussian"] == pytest.approx(0.05)
    assert margins["dit_below"] == pytest.approx(0.10) and margins["below_twin"] == pytest.approx(
        0.05
    )
    assert margins["dstar_smallest"] == pytest.approx(0.19)
    by_seed = pd.DataFrame({0: margins, 1: {k: v - 1 for k, v in margins.items()}})
    frame = ch08.checks(margins, by_seed)
    assert frame["held"].all() and (frame["worst seed"] < frame["all noises"]).all()
    glued = ch08.glue_margins(margins, by_seed)
    assert glued["margin_shrinks"] == 28 and glued["margin_shrinks_seed_min"] == 27


def test_margins_by_seed_are_the_margins_of_each_seed_alone(train):
    ends = ["small", "large"]
    names = ["U-Net S", "twin", "DiT", *ends]
    nets = {n: {s: train[4 * s : 4 * s + 4] + 0.1 * i for s in (0, 1)} for i, n in enumerate(names)}
    shifted = lambda images, d: {s: x.roll(d, -1) for s, x in images.items()}
    predictors = {
        n: {m: shifted(nets[n], d) for m, d in zip(ch08.CLOSED_FORMS, (1, 2, 3, 4))} for n in names
    }
    schedules = {"U-Net S": dict(enumerate([31, 31, 31, 3, 3, 3]))}
    conv = ["U-Net S", "twin"]
    by_seed = ch08.margins_by_seed(nets, predictors, schedules, [0, 1], "twin", conv, "DiT", ends)
    one = {n: {0: nets[n][0]} for n in names}
    table = ch08.r_squared_table(one, ch08.one_seed(predictors, 0))
    twin = ch08.median_r_squared(one["twin"], one["U-Net S"])
    expected = ch08.prediction_margins(table, schedules, twin, conv, "DiT", ends)
    assert list(by_seed.columns) == [0, 1] and by_seed[0].to_dict() == pytest.approx(expected)
