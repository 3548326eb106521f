"""Chapter 8's experiment functions (difflab.chapters.ch08_local_machines) on made-up data."""

import numpy as np
import pytest
import torch

from difflab.book.profiles import get_profile
from difflab.book.tables import to_decide
from difflab.chapters import ch08_local_machines as ch08
from difflab.core import intervals, metrics
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
    calibration = ch08.calibrate(EmpiricalDenoiser(train), train, noise, 4, None, (3, 11))
    assert calibration.agreements.shape == (4, 2, 4)  # steps, sizes, trajectories
    assert list(calibration.table().columns) == [3, 11] and len(calibration.table()) == 4
    assert set(ch08.schedule(calibration).values()) == {11}


def test_a_calibration_resamples_its_trajectories():
    """Sizes 3 and 5 at two steps; trajectory 0 alone prefers 5 at the second step, the others 3."""
    agreements = np.array([[[0.9, 0.9, 0.9], [0.1, 0.1, 0.1]], [[0.2, 0.6, 0.6], [0.8, 0.1, 0.1]]])
    calibration = ch08.Calibration((999, 499), (3, 5), agreements)
    assert calibration.best_sizes().tolist() == [3, 3]
    assert calibration.best_sizes(np.array([[0, 0, 0], [1, 2, 0]])).tolist() == [[3, 3], [5, 3]]
    assert calibration.table().loc[499].tolist() == [0.6, 0.1]


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
    other = {s: x.roll(1, -1) for s, x in net.items()}
    predictors = {"net": {"itself": net, "negated": {s: -x for s, x in net.items()}}}
    r2 = ch08.RSquared.of({"net": net}, predictors, {"net": ["other"]}, {"other": other})
    assert r2.columns == ["itself", "negated", "other networks"] and r2.n == 8
    assert r2.seeds[1].tolist() == [4, 5, 6, 7]
    table = r2.table()
    assert table.loc["net", "itself"].estimate == pytest.approx(1)
    assert table.loc["net", "negated"].estimate == 1
    assert table.loc["net", "other networks"].estimate == ch08.median_r_squared(other, net)
    own = torch.cat([metrics.r_squared(other[s], net[s]) for s in (0, 1)]).median().item()
    assert ch08.median_r_squared(other, net) == own  # torch's median: the lower middle value
    rp, thresholds = ch08.rp_table({"net": net}, {"net": {"itself": net}}, [0, 1])
    assert rp.loc["net", "itself"].estimate == 1.0 and thresholds["net"] < 1
    assert 0.6 < rp.loc["net", "itself"].low < 0.7  # Wilson's interval of 8 out of 8


NETWORKS = ["U-Net S", "twin", "ResNet", "DiT", "small", "large"]
ROLES = ch08.Roles(("U-Net S", "ResNet"), "twin", "DiT", ("small", "large"))


def made_up_r_squared(shift: float = 0.0) -> ch08.RSquared:
    """Per-noise r^2 of two seeds of 2 noises whose lower medians are the given values."""
    medians = {
        "U-Net S": {"LS": 0.85, "bbELS": 0.90, "Gaussian": 0.8, "D*": 0.7, "twin": 0.95},
        "ResNet": {"LS": 0.80, "bbELS": 0.85, "Gaussian": 0.8, "D*": 0.7},
        "DiT": {"LS": 0.70, "bbELS": 0.75, "Gaussian": 0.7, "D*": 0.7},
        "small": {"LS": 0.9, "bbELS": 0.8, "Gaussian": 0.5, "D*": 0.99},
        "large": {"LS": 0.8, "bbELS": 0.9, "Gaussian": 0.7, "D*": 0.8},
    }  # seed 0: the value and 0.02 above it; seed 1: `shift` below both
    values = {
        name: {c: np.array([v, v + 0.02, v - shift, v + 0.02 - shift]) for c, v in row.items()}
        for name, row in medians.items()
    }
    peers = {name: ["twin"] if name == "U-Net S" else [] for name in medians}
    return ch08.RSquared(values, peers, {0: np.arange(2), 1: np.arange(2, 4)})


SHRINKING = {"U-Net S": ch08.Calibration(tuple(range(6)), (3, 31), np.zeros((6, 2, 3)))}
SHRINKING["U-Net S"].agreements[:3, 1] = 1  # the whole image for the first half of the steps


def test_locality_compares_the_first_and_last_thirds_of_the_steps():
    assert ch08.locality(dict(enumerate([31, 31, 31, 15, 9, 9, 3, 3, 5]))) == (31, 11 / 3)
    assert ch08.shrink_margin(SHRINKING) == 28


def test_prediction_margins_are_positive_where_a_prediction_holds():
    margins = ch08.prediction_margins(made_up_r_squared(), SHRINKING, ROLES)
    assert set(margins) == set(ch08.PREDICTIONS)
    assert margins["shrinks"] == 28 and margins["over_gaussian"] == pytest.approx(0.05)
    assert margins["dit_below"] == pytest.approx(0.10)
    assert margins["below_twin"] == pytest.approx(0.05)
    assert margins["dstar_smallest"] == pytest.approx(0.19)


def test_each_margin_has_its_interval_and_the_checks_read_verdicts_off_it():
    r2 = made_up_r_squared(shift=0.3)  # seed 1 far below seed 0: wide intervals, but every
    # difference between two columns of a network moves with it (bbELS - LS is 0.05 throughout)
    margins = ch08.margin_intervals(r2, SHRINKING, ROLES)
    by_seed = ch08.margins_by_seed(r2, SHRINKING, ROLES)
    point = ch08.prediction_margins(r2, SHRINKING, ROLES)
    assert {k: m.estimate for k, m in margins.items()} == pytest.approx(point)
    assert margins["shrinks"] == (28, 28, 28, 3, "calibration trajectories", "percentile bootstrap")
    assert margins["at_least_08"].low < 0 < margins["at_least_08"].high  # 0.9 or 0.6 at a seed
    frame = ch08.checks(margins, by_seed)
    verdicts = frame.set_index(frame.index.map({v: k for k, v in ch08.PREDICTIONS.items()}))
    assert verdicts.loc["shrinks", "verdict"] == verdicts.loc["over_ls", "verdict"] == "held"
    assert verdicts.loc["at_least_08", "verdict"] == "undecided"
    assert verdicts.loc["at_least_08", "point verdict"] == "failed"  # the lower median: 0.6 - 0.8
    count, unit = verdicts.loc["at_least_08", "would be decided by"].split(" ", 1)
    assert (
        int(count) > 4
        and unit == "noises"
        and to_decide(margins["shrinks"]) == "3 calibration trajectories"
    )
    tie = intervals.Interval(-1e-10, -1e-10, 0.1, 24, "noises", "test")
    assert to_decide(tie) == "over 2,400 noises"
    glued = ch08.glue_margins(margins, by_seed)
    assert glued["margin_shrinks"] == 28 and glued["verdict_at_least_08"] == "undecided"
    assert glued["margin_at_least_08_low"] == margins["at_least_08"].low


def test_margins_by_seed_are_the_margins_of_each_seed_alone():
    r2 = made_up_r_squared(shift=0.1)
    by_seed = ch08.margins_by_seed(r2, SHRINKING, ROLES)
    alone = ch08.RSquared(
        {n: {c: v[2:] for c, v in row.items()} for n, row in r2.values.items()},
        r2.peers,
        {1: np.arange(2)},
    )
    expected = ch08.prediction_margins(alone, SHRINKING, ROLES)
    assert list(by_seed.columns) == [0, 1] and by_seed[1].to_dict() == pytest.approx(expected)


def test_a_search_says_its_counts_in_words():
    assert ch08.CPU_SEARCH.describe() == (
        "LS searches 1,024 training images, bbELS 256 training images, and the calibration of "
        "the patch sizes 64 training images."
    )
    assert ch08.Search().describe().startswith("LS searches every training image, bbELS every")
