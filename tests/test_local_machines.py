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


def test_patch_sizes_are_every_odd_size_up_to_the_whole_image():
    assert ch08.patch_sizes(16) == tuple(range(3, 32, 2))
    assert ch08.patch_sizes(6) == (3, 5, 7, 9, 11)


def test_the_search_is_every_image_at_the_paper_scale_only():
    assert ch08.search_for(get_profile("paper")) == ch08.Search()
    assert ch08.search_for(get_profile("smoke", local_calibration_images=8)) == ch08.Search(256, 8)
    assert ch08.search_for(get_profile("ci")) == ch08.Search(machines=256, calibration=64)


def test_calibrating_against_d_star_picks_the_whole_image(train):
    noise = torch.randn(4, 1, 6, 6, generator=torch.Generator().manual_seed(1))
    ls = LocalScoreMachine(train, 3)
    path = ch08.trajectories(EmpiricalDenoiser(train), noise, 4)
    calibration = ch08.calibrate(path, ls, (3, 11))
    assert calibration.agreements.shape == calibration.score_cosines.shape == (4, 2, 4)
    assert list(calibration.table().columns) == [3, 11] and len(calibration.table()) == 4
    assert set(ch08.schedule(calibration).values()) == {11}
    # the authors' rule too, once the scores are not the noise itself (at t = 999 every size's
    # score has a cosine of 1 with the network's to within rounding)
    assert set(calibration.authors_sizes()[1:]) == {11}


class IgnoresTheSize(LocalScoreMachine):
    """A mutant: a machine that predicts with its own patch size whatever size it is asked for."""

    def predict(self, x, t, k):
        return super().predict(x, t, self.patch_size)


@pytest.mark.parametrize("machine, found", [(LocalScoreMachine, 5), (IgnoresTheSize, 3)])
def test_a_calibration_finds_the_size_of_a_machine_made_with_another(train, machine, found):
    """The network is LS with 5-pixel patches; the calibrated machine is made with 3. Both rules
    find 5; a calibration whose machine ignores the size asked for (the mutant) finds 3."""
    noise = torch.randn(6, 1, 6, 6, generator=torch.Generator().manual_seed(3))
    network = LocalScoreMachine(train, 5)
    path = ch08.trajectories(network, noise, 4)
    calibration = ch08.calibrate(path, machine(train, 3), (3, 5, 7, 9))
    authors = calibration.authors_sizes()[1:]  # at t = 999 the scores tie to within rounding
    assert set(calibration.best_sizes()) == set(authors) == {found}


def test_bbels_borrows_ls_s_calibration_only_where_it_is_ls(train):
    """6 x 6 images: bbELS is LS from 7 pixels up. Calibrating bbELS at 3 and 5 and taking 7 to
    11 from LS gives what calibrating bbELS at every size gives."""
    noise = torch.randn(4, 1, 6, 6, generator=torch.Generator().manual_seed(5))
    network, sizes = LocalScoreMachine(train, 5), (3, 5, 7, 9, 11)
    search = ch08.Search(machines=8, calibration=8)
    found = ch08.calibrations_of({"n": network}, {"n": train}, noise, 4, search, sizes)["n"]
    bbels = ch08.MACHINES["bbELS"](train, 3, candidates=8)
    whole = ch08.calibrate(ch08.trajectories(network, noise, 4), bbels, sizes)
    assert found["bbELS"].sizes == sizes
    assert np.allclose(found["bbELS"].agreements, whole.agreements, atol=1e-6)
    assert np.allclose(found["bbELS"].score_cosines, whole.score_cosines, atol=1e-6)
    assert not np.allclose(found["bbELS"].agreements[:, :2], found["LS"].agreements[:, :2])


def test_a_calibration_resamples_its_trajectories():
    """Sizes 3 and 5 at two steps; trajectory 0 alone prefers 5 at the second step, the others 3."""
    agreements = np.array([[[0.9, 0.9, 0.9], [0.1, 0.1, 0.1]], [[0.2, 0.6, 0.6], [0.8, 0.1, 0.1]]])
    calibration = ch08.Calibration((999, 499), (3, 5), agreements, agreements)
    assert calibration.best_sizes().tolist() == [3, 3]
    assert calibration.best_sizes(np.array([[0, 0, 0], [1, 2, 0]])).tolist() == [[3, 3], [5, 3]]
    assert calibration.table().loc[499].tolist() == [0.6, 0.1]


def test_the_authors_rule_takes_the_median_of_each_trajectorys_best_size():
    """One step, sizes 3, 5, 7: the trajectories' best sizes are 3, 7 and 7 by the scores' cosine
    (median 7), while the median agreement is best at 5."""
    scores = np.array([[[0.9, 0.1, 0.1], [0.5, 0.5, 0.5], [0.1, 0.9, 0.9]]])
    agreements = np.array([[[0.1, 0.1, 0.1], [0.9, 0.8, 0.8], [0.1, 0.1, 0.1]]])
    calibration = ch08.Calibration((999,), (3, 5, 7), agreements, scores)
    assert calibration.authors_sizes().tolist() == [7] and calibration.best_sizes().tolist() == [5]


def test_stability_compares_two_draws_and_the_two_rules():
    def made(best: list[int], authors: list[int]) -> ch08.Calibration:
        sizes = (3, 5, 7)
        one_hot = lambda picks: np.eye(3)[[sizes.index(k) for k in picks]][..., None]
        return ch08.Calibration(tuple(range(4)), sizes, one_hot(best), one_hot(authors))

    first = {"net": {"LS": made([3, 5, 7, 7], [3, 5, 5, 7])}}
    second = {"net": {"LS": made([3, 5, 5, 7], [3, 3, 3, 3])}}
    row = ch08.stability(first, second).loc[("net", "LS")]
    assert row[("another draw", "same size")] == 0.75
    assert row[("another draw", "agreement lost")] == 1  # one-hot agreements: all of it
    assert row[("the authors' rule", "same size")] == 0.75


def test_machine_and_closed_form_images_follow_the_schedule_and_search_the_same_images(train):
    from difflab.core.sampling import run_sampler as sample

    noise = {0: torch.randn(3, 1, 6, 6, generator=torch.Generator().manual_seed(2))}
    sizes = {"LS": dict.fromkeys([999, 749, 499, 249], 3), "bbELS": dict.fromkeys([999], 3)}
    sizes["bbELS"] |= dict.fromkeys([749, 499, 249], 5)
    search = ch08.Search(machines=4)
    made = ch08.machine_images(train, sizes, noise, 4, search)
    for name, machine in ch08.MACHINES.items():
        expected = sample(machine(train, sizes[name], candidates=4), noise[0], "ddim", 4)
        assert torch.allclose(made[name][0], expected)
    both = ch08.predictions({"a": train, "b": train}, {"a": sizes, "b": sizes}, noise, 4, search)
    assert both["a"]["D*"] is both["b"]["D*"]  # one training set: its closed forms made once
    assert set(both["a"]) == set(ch08.CLOSED_FORMS)
    whole = LocalScoreMachine(train, 11, candidates=4)  # D* of the four images the machines search
    assert torch.allclose(both["a"]["D*"][0], sample(whole, noise[0], "ddim", 4), atol=1e-5)
    assert not torch.allclose(
        both["a"]["D*"][0], sample(EmpiricalDenoiser(train), noise[0], "ddim", 4)
    )


def test_tables_score_each_predictor_against_its_network(train):
    net = {0: train[:4], 1: train[4:8]}
    other = {s: x.roll(1, -1) for s, x in net.items()}
    negated = {s: -x for s, x in net.items()}
    predictors = {"net": {"LS": net, "bbELS": negated}}
    corr = ch08.Correlations.of({"net": net}, predictors, {"net": ["other"]}, {"other": other})
    assert corr.columns == ["LS", "bbELS", "other networks"] and corr.n == 8
    assert corr.seeds[1].tolist() == [4, 5, 6, 7]
    table = corr.table()
    assert table.loc["net", "LS"].estimate == pytest.approx(1)
    assert table.loc["net", "bbELS"].estimate == pytest.approx(1)  # r = -1: r^2 = 1
    machines = corr.machines_table()
    assert machines.loc["net", ("bbELS", "r")].estimate == pytest.approx(-1)
    assert machines.loc["net", ("bbELS", "r²")].estimate == pytest.approx(1)
    own = torch.cat([metrics.r_squared(other[s], net[s]) for s in (0, 1)]).median().item()
    assert table.loc["net", "other networks"].estimate == pytest.approx(own)  # the lower middle
    rp, thresholds = ch08.rp_table({"net": net}, {"net": {"itself": net}}, [0, 1])
    assert rp.loc["net", "itself"].estimate == 1.0 and thresholds["net"] < 1
    assert 0.6 < rp.loc["net", "itself"].low < 0.7  # Wilson's interval of 8 out of 8


ROLES = ch08.Roles(
    unets_and_resnet=("unet", "resnet"),
    standard="unet",
    twin="twin",
    attention="dit",
    resnet="resnet",
    ends=("small", "large"),
    convolution_only=("conv", "resnet"),
    attention_pairs=(("conv", "unet"),),
)


def made_up_correlations(shift: float = 0.0) -> ch08.Correlations:
    """Per-noise r of two seeds of 2 noises whose lower medians are the square roots of the
    given r^2 values."""
    medians = {
        "unet": {"LS": 0.85, "bbELS": 0.90, "Gaussian": 0.8, "D*": 0.7, "twin": 0.95},
        "resnet": {"LS": 0.80, "bbELS": 0.85, "Gaussian": 0.8, "D*": 0.7},
        "dit": {"LS": 0.70, "bbELS": 0.75, "Gaussian": 0.7, "D*": 0.7},
        "small": {"LS": 0.9, "bbELS": 0.8, "Gaussian": 0.5, "D*": 0.99},
        "large": {"LS": 0.8, "bbELS": 0.9, "Gaussian": 0.7, "D*": 0.8},
        "conv": {"LS": 0.90, "bbELS": 0.92, "Gaussian": 0.8, "D*": 0.7},
    }  # seed 0: the value and 0.02 above it; seed 1: `shift` below both
    values = {
        name: {c: np.sqrt([v, v + 0.02, v - shift, v + 0.02 - shift]) for c, v in row.items()}
        for name, row in medians.items()
    }
    peers = {name: ["twin"] if name == "unet" else [] for name in medians}
    return ch08.Correlations(values, peers, {0: np.arange(2), 1: np.arange(2, 4)})


def made_up_calibration(whole_steps: int) -> ch08.Calibration:
    """Six steps, sizes 3 and 31: the whole image for the first `whole_steps` steps."""
    agreements = np.zeros((6, 2, 3))
    agreements[:whole_steps, 1] = 1
    return ch08.Calibration(tuple(range(6)), (3, 31), agreements, agreements)


SHRINKING = {
    name: dict.fromkeys(ch08.MACHINES, made_up_calibration(3))
    for name in ("unet", "resnet", "dit", "small", "large", "twin")
} | {"conv": dict.fromkeys(ch08.MACHINES, made_up_calibration(2))}


def test_locality_compares_the_first_and_last_thirds_of_the_steps():
    assert ch08.locality(dict(enumerate([31, 31, 31, 15, 9, 9, 3, 3, 5]))) == (31, 11 / 3)
    assert ch08.shrink_margin(SHRINKING, ROLES.original) == 28
    assert ch08.smaller_margin(SHRINKING, ROLES.attention_pairs) == pytest.approx(28 / 6)


def test_prediction_margins_are_positive_where_a_prediction_holds():
    margins = ch08.prediction_margins(made_up_correlations(), SHRINKING, ROLES)
    assert set(margins) == set(ch08.PREDICTIONS)
    assert margins["shrinks"] == 28 and margins["over_gaussian"] == pytest.approx(0.05)
    assert margins["dit_below"] == pytest.approx(0.10)
    assert margins["below_twin"] == pytest.approx(0.05)
    assert margins["dstar_smallest"] == pytest.approx(0.19)
    assert margins["conv_better"] == pytest.approx(0.02)
    assert margins["conv_over_ls"] == pytest.approx(0.02)  # the convolution-only U-Net's
    assert margins["conv_smaller"] == pytest.approx(28 / 6)  # one step more at 31 than 3
    assert margins["conv_r"] == pytest.approx(np.sqrt(0.92) - 0.9)  # r, not r^2


def test_each_margin_has_its_interval_and_the_checks_read_verdicts_off_it():
    corr = made_up_correlations(shift=0.3)  # seed 1 far below seed 0: wide intervals
    margins = ch08.margin_intervals(corr, SHRINKING, ROLES)
    by_seed = ch08.margins_by_seed(corr, SHRINKING, ROLES)
    point = ch08.prediction_margins(corr, SHRINKING, ROLES)
    assert {k: m.estimate for k, m in margins.items()} == pytest.approx(point)
    assert margins["shrinks"] == (28, 28, 28, 3, "calibration trajectories", "percentile bootstrap")
    assert margins["conv_smaller"].unit == "calibration trajectories"
    assert margins["at_least_08"].low < 0 < margins["at_least_08"].high  # 0.9 or 0.6 at a seed
    frame = ch08.checks(margins, by_seed)
    verdicts = frame.set_index(frame.index.map({v: k for k, v in ch08.PREDICTIONS.items()}))
    assert verdicts.loc["shrinks", "verdict"] == "held"
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
    corr = made_up_correlations(shift=0.1)
    by_seed = ch08.margins_by_seed(corr, SHRINKING, ROLES)
    alone = ch08.Correlations(
        {n: {c: v[2:] for c, v in row.items()} for n, row in corr.values.items()},
        corr.peers,
        {1: np.arange(2)},
    )
    expected = ch08.prediction_margins(alone, SHRINKING, ROLES)
    assert list(by_seed.columns) == [0, 1] and by_seed[1].to_dict() == pytest.approx(expected)


def test_a_search_says_its_counts_in_words():
    assert ch08.search_for(get_profile("ci")).describe() == (
        "LS, bbELS (every patch of each image) and D* search the same 256 training "
        "images; the calibration of the patch sizes searches 64."
    )
    assert ch08.Search().describe().startswith("LS, bbELS (every patch of each image) and")
    assert (
        ch08.Search()
        .describe()
        .endswith(
            "search every training image; the calibration of the patch sizes searches every image."
        )
    )


def test_the_study_is_read_at_the_chapter_s_counts():
    row = lambda machine, searched, calibration, r2: dict(
        network="net", machine=machine, searched=searched, calibration=calibration, r2_median=r2
    )
    study = {
        "seeds": [0, 1],
        "noises_per_seed": 8,
        "chapter": {"calibration": 64, "machines": 256},
        "rows": [
            row("bbELS", 256, 64, 0.80),
            row("bbELS", 1024, 64, 0.83),
            row("bbELS", 256, 256, 0.78),
            row("LS", 256, 64, 0.70),
            row("LS", 4096, 64, 0.75),
        ],  # fmt: skip
        "stability": [
            dict(images=64, trajectories=8, same_size=0.2, agreement_lost=0.05),
            dict(images=64, trajectories=8, same_size=0.3, agreement_lost=0.02),
            dict(images=256, trajectories=24, same_size=0.6, agreement_lost=0.01),
        ],
    }
    glued = ch08.study_glue(study, ch08.Search(machines=256, calibration=64))
    assert glued["study_noises"] == 16 and glued["study_ls_most"] == 4096
    assert glued["study_bbels_gain_max"] == pytest.approx(0.03)
    assert glued["study_ls_gain_max"] == pytest.approx(0.05)
    assert glued["study_bbels_gain_min"] == pytest.approx(0.03)  # one network: its only change
    assert glued["study_calibration_spread_max"] == pytest.approx(0.02)
    assert glued["study_same_max_chapter"] == 0.3 and glued["study_lost_max_chapter"] == 0.05
    assert glued["study_same_max_most"] == 0.6 and glued["study_stability_paths_most"] == 24
    table = ch08.study_stability(study)
    assert table.loc[(64, 8), "same size, lowest"] == 0.2 and len(table) == 2
