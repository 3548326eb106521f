import math
from functools import partial

import numpy as np
import pytest
import torch

from difflab.chapters import ch04_symmetry_breaking as symmetry
from difflab.core import gaussian
from difflab.core.denoisers import EmpiricalDenoiser, GaussianDenoiser, GaussianMixtureDenoiser
from difflab.core.schedule import alphas_cumprod, noise_to


def test_critical_theta_of_two_points():
    assert abs(gaussian.critical_theta() - 0.6436) < 1e-4
    assert gaussian.critical_theta() == pytest.approx(math.sqrt(math.sqrt(2) - 1), abs=1e-12)


@pytest.mark.parametrize("lam", [0.5, 1.0, 7.66, 100.0])
def test_critical_theta_solves_its_quartic(lam):
    theta = gaussian.critical_theta(lam)
    assert theta**4 + 2 * lam * theta**2 - 1 == pytest.approx(0, abs=1e-12)


def test_worked_fixed_points():
    """The paper's worked check: at theta = 0.8 the fixed points are 0 and +-0.947."""
    points = symmetry.fixed_points(0.8)
    assert len(points) == 3 and abs(points[2] - 0.947) < 1e-3 and points[0] == -points[2]
    assert np.allclose(symmetry.fixed_points(0.6), [0.0])


@pytest.mark.parametrize("theta", [0.65, 0.7, 0.8, 0.95])
def test_fixed_points_are_zeros_of_the_force(theta):
    x = symmetry.fixed_points(theta)
    force = -x / 2 - symmetry.score(x, theta)  # u'(x) / beta
    assert np.abs(force).max() < 1e-10


def test_potential_matches_the_exact_score():
    """Cross-check of the closed form: u'(x) = beta (-x/2 - d/dx log p(x)), by finite differences
    of the potential and of log p computed from the two Gaussians directly."""
    theta, beta, h = 0.7, 2.0, 1e-5
    x = np.linspace(-2, 2, 41)
    du = (symmetry.potential(x + h, theta, beta) - symmetry.potential(x - h, theta, beta)) / (2 * h)
    assert np.allclose(du, beta * (-x / 2 - symmetry.score(x, theta)), atol=1e-6)
    v = 1 - theta**2
    log_p = lambda y: np.log(
        0.5 * np.exp(-((y - theta) ** 2) / (2 * v)) + 0.5 * np.exp(-((y + theta) ** 2) / (2 * v))
    )
    assert np.allclose((log_p(x + h) - log_p(x - h)) / (2 * h), symmetry.score(x, theta), atol=1e-6)


def test_curvature_changes_sign_at_the_critical_step():
    theta_c = gaussian.critical_theta()
    assert symmetry.curvature_at_centre(theta_c) == pytest.approx(0, abs=1e-9)
    assert (
        symmetry.curvature_at_centre(theta_c - 1e-4)
        > 0
        > symmetry.curvature_at_centre(theta_c + 1e-4)
    )
    step = gaussian.critical_step()
    theta = np.sqrt(alphas_cumprod().double().numpy())
    assert (
        symmetry.curvature_at_centre(theta[step - 1])
        < 0
        < symmetry.curvature_at_centre(theta[step])
    )
    assert step == 292  # Raya and Ambrogioni: alpha_bar drops below sqrt(2) - 1 at ~292


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: symmetry.potential(0.0, 1.0), "theta=1.0 is out of range"),
        (lambda: symmetry.fixed_points(0.0), "theta=0.0 is out of range"),
        (
            lambda: gaussian.critical_theta(-1.0),
            "top_eigenvalue=-1.0, within_variance=0.0 are not allowed",
        ),
        (lambda: gaussian.critical_theta(2.0, 1.5), "allowed: 0 <= within_variance < 1"),
        (lambda: gaussian.speciation_theta(0.5), "top_eigenvalue=0.5 is not allowed"),
        (lambda: gaussian.step_below(1.2), "theta=1.2 is out of range"),
    ],
)
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_critical_theta_of_two_clusters_is_where_their_exact_drift_turns_unstable():
    """The curvature at the centre, by autograd through the exact mixture denoiser, changes sign
    between the steps on either side of the closed-form critical step."""
    m, std = 3.0, 0.3
    centres = torch.zeros(2, 8)
    centres[0, 0], centres[1, 0] = m, -m
    denoiser = GaussianMixtureDenoiser(centres, std)
    step = gaussian.step_below(gaussian.critical_theta(m**2 + std**2, std**2))
    centre = torch.zeros(1, 8, dtype=torch.float64)
    assert (
        symmetry.hessian_min(denoiser, centre, step - 1)
        < 0
        < symmetry.hessian_min(denoiser, centre, step)
    )
    assert gaussian.critical_theta(m**2, 0.0) == pytest.approx(
        math.sqrt(math.sqrt(m**4 + 1) - m**2)
    )


def test_speciation_time_is_half_log_lambda():
    lam = 20.0
    step = gaussian.step_below(gaussian.speciation_theta(lam))
    assert symmetry.ou_time(step) >= 0.5 * math.log(lam) > symmetry.ou_time(step - 1)


def test_first_crossing_interpolates_in_generation_order():
    steps = [100, 200, 300, 400]
    assert symmetry.first_crossing(steps, [-3.0, -1.0, 1.0, 3.0]) == pytest.approx(250.0)
    assert symmetry.first_crossing(steps, [1.0, -1.0, 1.0, 3.0]) == pytest.approx(
        250.0
    )  # the highest step first
    assert symmetry.first_crossing(steps, [0.2, 0.4, 0.6, 0.8], level=0.5) == pytest.approx(250.0)
    assert math.isnan(symmetry.first_crossing(steps, [1.0, 2.0, 3.0, 4.0]))


def test_curvature_along_the_top_direction_matches_the_jacobian_for_an_exact_denoiser():
    m, std = 3.0, 0.3
    centres = torch.zeros(2, 8)
    centres[0, 0], centres[1, 0] = m, -m
    denoiser = GaussianMixtureDenoiser(centres, std)
    centre, e = torch.zeros(1, 8), torch.eye(8)[0]
    for t in (300, 500, 700):
        along = symmetry.curvature_along(denoiser, centre, e, t, radius=1e-3)
        assert along == pytest.approx(symmetry.hessian_min(denoiser, centre.double(), t), abs=1e-3)


def _two_clusters(n: int = 400):
    """Points in 8 dimensions around +-3 e_0 (spread 0.3), their exact denoiser, and a judge of the side."""
    centres = torch.zeros(2, 8)
    centres[0, 0], centres[1, 0] = 3.0, -3.0
    g = torch.Generator().manual_seed(0)
    points = centres[torch.randint(2, (n,), generator=g)] + 0.3 * torch.randn(n, 8, generator=g)
    return points, GaussianMixtureDenoiser(centres, 0.3), {"side": lambda x: x[:, 0] > 0}


def test_clones_forget_their_start_before_the_critical_time_and_keep_it_after():
    points, denoiser, judges = _two_clusters()
    step = gaussian.step_below(
        gaussian.critical_theta(9.0 + 0.09, 0.09)
    )  # step 533 for these clusters
    early = symmetry.clone_agreement(denoiser, points, 990, 400, seed=0, judges=judges)["side"]
    late = symmetry.clone_agreement(denoiser, points, step - 300, 400, seed=0, judges=judges)[
        "side"
    ]
    assert (
        abs(early - 0.5) < 0.1 and late > 0.98
    )  # chance (two balanced sides) vs decided; measured 0.56, 1.0
    curve = symmetry.clone_curve(denoiser, points, [990, step - 300], 400, seed=0, judges=judges)
    assert curve == [
        {"step": 990, "side": early},
        {"step": step - 300, "side": late},
    ]  # one seed, one answer


def test_clone_agreement_names_bad_input():
    points, denoiser, judges = _two_clusters(10)
    with pytest.raises(ValueError, match="t=1000, n=5 are not allowed; allowed: 0 <= t < 1000"):
        symmetry.clone_agreement(denoiser, points, 1000, 5, seed=0, judges=judges)
    with pytest.raises(ValueError, match="n=11 are not allowed; .* 1 <= n <= 10"):
        symmetry.clone_agreement(denoiser, points, 500, 11, seed=0, judges=judges)


def test_noise_start_fid_scores_every_start_from_the_same_noise():
    """Gaussian data with one wide direction (std 3): started at step 300 from N(0, I) rather than
    from p_300 (std 2 along it), the sampler cannot restore the width; started at 999 it nearly does."""
    scale = torch.ones(8)
    scale[0] = 3.0
    points = scale * torch.randn(2000, 8, generator=torch.Generator().manual_seed(0))
    denoiser = GaussianDenoiser.fit(points)

    class WidthGap:  # a stand-in for quality.FeatureDistance: error in the top width
        reference_shape = (8,)

        def fid(self, images):
            return abs(images[:, 0].std().item() - 3.0)

    fid = symmetry.noise_start_fid(denoiser, WidthGap(), [999, 300], 1000, seed=1)
    assert list(fid) == [999, 300] and fid == symmetry.noise_start_fid(
        denoiser, WidthGap(), [999, 300], 1000, seed=1
    )
    assert (
        fid[999] < 0.5 < 1.0 < fid[300]
    )  # measured 0.38 (40 stochastic steps narrow it a little), 1.15


def test_the_potential_integrated_from_the_score_matches_the_closed_form():
    x = np.linspace(-3, 3, 6001)
    for theta in (0.5, 0.8):
        assert symmetry.potential_mismatch(x, theta) < 1e-4
        assert symmetry.curvature_from_score(x, theta) == pytest.approx(
            symmetry.curvature_at_centre(theta), abs=1e-4
        )


def test_kicks_relax_in_the_well_and_decide_at_the_ridge():
    two_points = EmpiricalDenoiser(torch.tensor([[-1.0], [1.0]]))
    flips = symmetry.two_point_kicks(two_points, [900, 300], 2000, kick=0.1)
    assert flips[0] < 0.01 and flips[1] > 10 * flips[0]  # measured 0.0005 and 0.031 (t_c = 292)


def test_mixture_cloning_follows_the_exact_rate():
    centres = torch.zeros(2, 4)
    centres[0, 0], centres[1, 0] = 3.0, -3.0
    clones = symmetry.mixture_cloning(centres, 0.5, [900, 300], 1000)
    z = np.abs(clones["same"] - clones["exact"]) / np.sqrt(
        clones["exact"] * (1 - clones["exact"]) / 1000
    )
    assert (
        list(clones["step"]) == [900, 300] and clones["exact"][0] < 0.6 < 0.95 < clones["exact"][1]
    )
    assert z.max() < 4  # measured: same 0.467, 0.983; exact 0.501, 0.981


def test_centre_curvatures_of_a_gaussian_change_sign_at_its_closed_form_step():
    """For Gaussian data the curvature along the top direction vanishes at theta^2 = 1 / (lambda - 1)."""
    scale = torch.ones(8)
    scale[0] = 3.0
    points = scale * torch.randn(20_000, 8, generator=torch.Generator().manual_seed(0))
    flat = points.double()
    eigenvalues, eigenvectors = torch.linalg.eigh(torch.cov(flat.T))
    lam = eigenvalues[-1].item()
    steps = np.arange(200, 800, 5)
    curvatures = partial(
        symmetry.centre_curvatures,
        GaussianDenoiser.fit(points),
        flat.mean(0),
        eigenvectors[:, -1],
        steps,
        lam,
        (8,),
    )
    c = curvatures()
    assert abs(symmetry.first_crossing(steps, c) - gaussian.step_below(1 / np.sqrt(lam - 1))) <= 5
    wide = curvatures(radius_scale=2.0)
    assert np.allclose(
        wide, c, rtol=1e-3, atol=1e-6
    )  # a linear denoiser's drift is linear: any window
    with pytest.raises(
        ValueError, match="radius_scale=0 is not allowed; allowed: a positive number"
    ):
        curvatures(radius_scale=0)


def test_noise_to_draws_from_the_noised_data():
    y = torch.ones(100_000, 1)
    x = noise_to(y, 500, torch.Generator().manual_seed(0))
    theta = alphas_cumprod().double().sqrt()[500].item()
    assert x.mean().item() == pytest.approx(theta, abs=0.01) and x.std().item() == pytest.approx(
        math.sqrt(1 - theta**2), abs=0.01
    )


def test_predicted_steps_are_the_points_formula_and_the_speciation_time():
    steps = gaussian.predicted_steps(16.0)
    assert steps["points formula"] == gaussian.step_below(gaussian.critical_theta(16.0))
    theta = alphas_cumprod().double().sqrt()
    assert (
        theta[steps["speciation"]] < 0.25 <= theta[steps["speciation"] - 1]
    )  # theta_S = 1 / sqrt(16)


def test_ou_time_rounds_a_measured_step_and_keeps_nothing_measured_as_nan():
    assert symmetry.ou_time(500.4) == symmetry.ou_time(500) and np.isnan(
        symmetry.ou_time(float("nan"))
    )
    assert symmetry.ou_time([100, 900]).tolist() == [symmetry.ou_time(100), symmetry.ou_time(900)]


def test_clone_table_stacks_each_denoisers_curves_and_reads_their_crossings():
    points, denoiser, judges = _two_clusters(20)
    steps = [300, 200]  # after these clusters' critical step (533): short and decided
    clones = symmetry.clone_table(
        {"a": denoiser, "b": denoiser}, {"a": [0, 1], "b": [0]}, points, steps, 20, judges
    )
    assert len(clones) == 6 and set(clones["denoiser"]) == {"a", "b"}
    curve = symmetry.clone_curve(denoiser, points, steps, 20, seed=1, judges=judges)
    rows = clones[(clones["denoiser"] == "a") & (clones["seed"] == 1)]
    assert rows["side"].tolist() == [row["side"] for row in curve]
    crossings = symmetry.crossing_steps(clones, "side", 0.75)
    assert list(crossings.index) == [("a", 0), ("a", 1), ("b", 0)]
