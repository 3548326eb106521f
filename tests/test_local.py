"""The closed-form local denoisers (LS, ELS) against what they must equal exactly."""

import pytest
import torch

from difflab.core.denoisers import EmpiricalDenoiser
from difflab.core.local import (
    BorderedLocalScoreMachine,
    EquivariantLocalScoreMachine,
    LocalScoreMachine,
    attend,
    best_patch_sizes,
    patch_size_scores,
    patches,
)
from difflab.core.schedule import noise_to

MACHINES = [LocalScoreMachine, EquivariantLocalScoreMachine, BorderedLocalScoreMachine]


@pytest.fixture(scope="module")
def train():
    return torch.rand(12, 1, 6, 6, generator=torch.Generator().manual_seed(0)) * 2 - 1


def noised(images, t, seed=1):
    g = torch.Generator().manual_seed(seed)
    return noise_to(images, t, generator=g).float()


@pytest.mark.parametrize("t", [50, 300, 800])
def test_ls_with_a_patch_covering_the_image_is_the_empirical_denoiser(train, t):
    x = noised(train[:4], t)
    steps = torch.full((4,), t)
    ls = LocalScoreMachine(train, patch_size=11)  # 2 * 6 - 1: the whole image from every pixel
    expected = EmpiricalDenoiser(train).x0(x, steps)
    assert torch.allclose(ls.x0(x, steps), expected, atol=1e-5)  # the shortcut it then takes
    ab = ls.alphas_cumprod[t]
    local = ls._local(x, 11, ab.sqrt().item(), (1 - ab).item())  # pixel by pixel
    assert torch.allclose(local, expected, atol=1e-5)


def test_ls_with_one_training_image_returns_it(train):
    x = torch.randn(3, 1, 6, 6, generator=torch.Generator().manual_seed(2))
    for k in (1, 3, 5):
        out = LocalScoreMachine(train[:1], patch_size=k).x0(x, torch.full((3,), 500))
        assert torch.allclose(out, train[:1].expand(3, -1, -1, -1), atol=1e-6)


def test_els_returns_a_training_image_it_is_given_at_low_noise(train):
    steps = torch.full((2,), 0)
    x = train[:2] * EquivariantLocalScoreMachine(train, 3).alphas_cumprod[0].sqrt().float()
    out = EquivariantLocalScoreMachine(train, patch_size=3).x0(x, steps)
    assert torch.allclose(out, train[:2], atol=1e-4)


def test_els_commutes_with_shifts_of_the_image_and_its_training_set(train):
    x = noised(train[:3], 400)
    steps = torch.full((3,), 400)
    shift = lambda images: images.roll((2, 1), dims=(-2, -1))
    els = EquivariantLocalScoreMachine(train, patch_size=3, padding="circular")
    shifted = EquivariantLocalScoreMachine(shift(train), patch_size=3, padding="circular")
    assert torch.allclose(els.x0(shift(x), steps), shift(els.x0(x, steps)), atol=1e-5)
    assert torch.allclose(shifted.x0(shift(x), steps), shift(els.x0(x, steps)), atol=1e-5)


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("k", [3, 11])
def test_blocks_and_chunks_change_nothing(train, machine, k):
    x, steps = noised(train[:2], 600), torch.full((2,), 600)
    whole = machine(train, k, block=10**7).x0(x, steps)
    assert torch.allclose(machine(train, k, block=7).x0(x, steps), whole, atol=1e-6)


def test_attend_is_one_softmax_over_every_chunk_of_keys():
    g = torch.Generator().manual_seed(4)
    q, k, v = (torch.randn(3, n, e, generator=g) for n, e in ((5, 4), (40, 4), (40, 2)))
    expected = torch.softmax(q @ k.transpose(1, 2), -1) @ v
    chunks = zip(k.split(7, 1), v.split(7, 1))
    assert torch.allclose(attend(q, chunks, block=9), expected, atol=1e-6)


@pytest.mark.parametrize("machine", MACHINES)
def test_drawn_candidates_are_a_subset_of_images_searched_the_same_way(train, machine):
    x, steps = noised(train[:2], 300), torch.full((2,), 300)
    drawn = machine(train, 3, candidates=5, seed=2)
    assert len(drawn.drawn) == 5 and torch.equal(drawn.searched(), train[drawn.drawn])
    expected = machine(train[drawn.drawn], 3).x0(x, steps)
    assert torch.allclose(drawn.x0(x, steps), expected, atol=1e-6)
    assert machine(train, 3, candidates=12).drawn is None  # as many as there are: all, in order


def test_bbels_is_ls_once_every_pixel_is_near_a_border_and_els_with_one_pixel_patches(train):
    x, steps = noised(train[:3], 500), torch.full((3,), 500)
    bordered = BorderedLocalScoreMachine(train, 7)  # 6 x 6: reach 3, no inner pixel
    assert torch.allclose(
        bordered.x0(x, steps), LocalScoreMachine(train, 7).x0(x, steps), atol=1e-5
    )
    one = BorderedLocalScoreMachine(train, 1).x0(x, steps)
    assert torch.allclose(one, EquivariantLocalScoreMachine(train, 1).x0(x, steps), atol=1e-6)


def test_bbels_inner_pixels_search_every_inner_patch_and_corners_their_own(train):
    x, steps = noised(train[:2], 200), torch.full((2,), 200)
    bordered = BorderedLocalScoreMachine(train, 3)
    out = bordered.x0(x, steps)
    # an inner pixel's candidates: every 3 x 3 patch whose centre is an inner pixel
    ab = bordered.alphas_cumprod[200]
    a, s2 = ab.sqrt().item(), (1 - ab).item()
    px = patches(x, 3)[:, :, 2 * 6 + 3]  # pixel (2, 3)
    z = patches(train, 3).view(12, 9, 6, 6)[:, :, 1:-1, 1:-1].permute(0, 2, 3, 1).reshape(-1, 9)
    y = train[:, 0, 1:-1, 1:-1].reshape(-1)
    w = torch.softmax(-((px[:, None] - a * z[None]) ** 2).sum(-1) / (2 * s2), 1)
    assert torch.allclose(out[:, 0, 2, 3], w @ y, atol=1e-5)
    corner = LocalScoreMachine(train, 3).x0(x, steps)[:, :, 0, 0]
    assert torch.allclose(out[:, :, 0, 0], corner, atol=1e-6)


def test_bbels_refuses_circular_borders(train):
    with pytest.raises(ValueError, match="padding='circular' is not allowed for bbELS"):
        BorderedLocalScoreMachine(train, 3, padding="circular")


def test_the_patch_size_may_follow_the_step(train):
    x = noised(train[:2], 100)
    ls = LocalScoreMachine(train, patch_size={900: 11, 100: 3})
    mixed = ls.x0(torch.cat([x, x]), torch.tensor([900, 900, 100, 100]))
    assert torch.allclose(mixed[:2], LocalScoreMachine(train, 11).x0(x, torch.full((2,), 900)))
    assert torch.allclose(mixed[2:], LocalScoreMachine(train, 3).x0(x, torch.full((2,), 100)))


def test_patches_are_the_pixels_around_each_pixel():
    image = torch.arange(9.0).view(1, 1, 3, 3)
    assert patches(image, 3)[0, :, 4].tolist() == list(range(9))  # the centre pixel sees all
    assert patches(image, 3, "circular")[0, 0, 0].item() == 8.0  # wraps to the far corner


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(patch_size=4), "patch_size=4 is not allowed; allowed: an odd integer >= 1"),
        (dict(patch_size=0), "patch_size=0 is not allowed"),
        (dict(patch_size=3, padding="reflect"), "padding='reflect' is unknown"),
        (dict(patch_size=3, candidates=0), "candidates=0 is not allowed; allowed: an integer"),
        (dict(patch_size=3, block=2.5), "block=2.5 is not allowed"),
    ],
)
def test_bad_settings_name_the_parameter(train, options, message):
    with pytest.raises(ValueError, match=message):
        LocalScoreMachine(train, **options)


def test_a_schedule_with_an_even_size_or_without_the_step_is_refused(train):
    with pytest.raises(ValueError, match="patch_size=2 is not allowed"):
        LocalScoreMachine(train, patch_size={10: 3, 20: 2})
    with pytest.raises(
        ValueError, match="t=30 has no patch size; allowed: the steps of patch_size"
    ):
        LocalScoreMachine(train, patch_size={10: 3, 20: 5}).x0(train[:1], torch.tensor([30]))


def test_calibration_finds_the_patch_size_of_a_machine_and_the_whole_image_for_d_star(train):
    from difflab.core.sampling import sample

    noise = torch.randn(6, 1, 6, 6, generator=torch.Generator().manual_seed(3))
    sizes = (1, 3, 11)
    ls = LocalScoreMachine(train, 1)
    for network, expected in ((ls.scheduled(3), 3), (EmpiricalDenoiser(train), 11)):
        _, path = sample(network, noise, "ddim", 4, return_trajectory=True)
        scores = patch_size_scores(ls, path, sizes)
        assert list(scores) == path.t and set(best_patch_sizes(scores).values()) == {expected}
    with pytest.raises(ValueError, match="sizes=4 is not allowed"):
        patch_size_scores(ls, path, (3, 4))


def test_a_scheduled_machine_keeps_its_candidates(train):
    x, steps = noised(train[:2], 300), torch.full((2,), 300)
    els = EquivariantLocalScoreMachine(train, 3, candidates=5, seed=1)
    again = els.scheduled({300: 5})
    assert torch.equal(again.drawn, els.drawn)
    assert torch.equal(again.x0(x, steps), els.predict(x, 300, 5))


def test_r_squared_is_the_squared_correlation_of_centred_images(train):
    from difflab.core.metrics import r_squared

    a, b = train[:4], -2 * train[:4] + 0.5  # an affine image of a: correlation -1
    assert torch.allclose(r_squared(a, b), torch.ones(4, dtype=torch.float64))
    centred = lambda x: x.flatten(1) - x.flatten(1).mean(1, keepdim=True)
    r = torch.nn.functional.cosine_similarity(centred(train[:4]), centred(train[4:8]))
    assert torch.allclose(r_squared(train[:4], train[4:8]).float(), r**2, atol=1e-6)
