"""The closed-form local denoisers (LS, ELS) against what they must equal exactly."""

import pytest
import torch

from difflab.core import local
from difflab.core.denoisers import EmpiricalDenoiser
from difflab.core.local import (
    BorderedLocalScoreMachine,
    EquivariantLocalScoreMachine,
    LocalScoreMachine,
    attend,
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


def reference(x, train, t, k, padding="zeros", positions="own"):
    """The machines' formulas written out pixel by pixel: each pixel's softmax over the patches of
    every training image at its own position (LS) or at every position (ELS)."""
    ab = torch.as_tensor(LocalScoreMachine(train, 1).alphas_cumprod[t])
    a, s2 = ab.sqrt().item(), (1 - ab).item()
    px, py = patches(x, k, padding), patches(train, k, padding)  # (b | n, d, pixels)
    values = train.flatten(2)  # (n, c, pixels)
    out = torch.empty(x.shape[0], x.shape[1], px.shape[-1])
    for i in range(px.shape[-1]):
        where = [i] if positions == "own" else range(px.shape[-1])
        keys = torch.cat([py[:, :, q] for q in where])  # (n * positions, d)
        centres = torch.cat([values[:, :, q] for q in where])  # (n * positions, c)
        logits = -((px[:, :, i][:, None] - a * keys[None]) ** 2).sum(-1) / (2 * s2)
        out[:, :, i] = torch.softmax(logits.double(), 1).float() @ centres
    return out.view_as(x)


@pytest.mark.parametrize("padding", ["zeros", "circular"])
@pytest.mark.parametrize("k", [1, 3, 5, 9])
def test_ls_is_its_formula(train, k, padding):
    x = noised(train[:2], 350)
    out = LocalScoreMachine(train, k, padding).x0(x, torch.full((2,), 350))
    assert torch.allclose(out, reference(x, train, 350, k, padding), atol=1e-5)


def check_els_searches_every_position(train):
    x = noised(train[:2], 350)
    out = EquivariantLocalScoreMachine(train, 3).x0(x, torch.full((2,), 350))
    assert torch.allclose(out, reference(x, train, 350, 3, positions="every"), atol=1e-5)


def test_els_searches_every_position(train):
    check_els_searches_every_position(train)


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
    assert len(drawn.drawn) == 5 and len(set(drawn.drawn.tolist())) == 5
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


def bbels_and_its_formula(train, pixel, rows, cols):
    """bbELS's estimate at `pixel` (row, column) of a 6 x 6 image with 3 x 3 patches, and the
    softmax over the patches of every training image centred at `rows` x `cols`."""
    x, steps = noised(train[:2], 200), torch.full((2,), 200)
    bordered = BorderedLocalScoreMachine(train, 3)
    ab = bordered.alphas_cumprod[200]
    a, s2 = ab.sqrt().item(), (1 - ab).item()
    i, j = pixel
    px = patches(x, 3)[:, :, i * 6 + j]
    z = patches(train, 3).view(12, 9, 6, 6)[:, :, rows][:, :, :, cols]
    y = train[:, 0, rows][:, :, cols].reshape(-1)
    w = torch.softmax(-((px[:, None] - a * z.permute(0, 2, 3, 1).reshape(-1, 9)[None]) ** 2)
                      .sum(-1) / (2 * s2), 1)  # fmt: skip
    return bordered.x0(x, steps)[:, 0, i, j], w @ y


INNER = slice(1, 5)


def check_bbels_inner_pixels_search_every_inner_patch(train):
    found, expected = bbels_and_its_formula(train, (2, 3), INNER, INNER)
    assert torch.allclose(found, expected, atol=1e-5)


def check_bbels_edge_pixels_search_their_own_row(train):
    found, expected = bbels_and_its_formula(train, (0, 3), [0], INNER)  # top edge: row 0 only
    assert torch.allclose(found, expected, atol=1e-5)
    found, expected = bbels_and_its_formula(train, (3, 5), INNER, [5])  # right edge: column 5
    assert torch.allclose(found, expected, atol=1e-5)


def check_bbels_corner_pixels_search_their_own_position(train):
    for corner in ((0, 0), (0, 5), (5, 0), (5, 5)):
        found, expected = bbels_and_its_formula(train, corner, [corner[0]], [corner[1]])
        assert torch.allclose(found, expected, atol=1e-5)


def test_bbels_inner_edge_and_corner_pixels_search_their_own_kind_of_patch(train):
    check_bbels_inner_pixels_search_every_inner_patch(train)
    check_bbels_edge_pixels_search_their_own_row(train)
    check_bbels_corner_pixels_search_their_own_position(train)


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


def check_a_scheduled_machine_keeps_its_candidates_and_borders(train):
    x, steps = noised(train[:2], 300), torch.full((2,), 300)
    els = EquivariantLocalScoreMachine(train, 3, "circular", candidates=5, seed=1)
    again = els.scheduled({300: 5})
    assert torch.equal(again.drawn, els.drawn) and again.padding == "circular"
    expected = EquivariantLocalScoreMachine(train, 5, "circular", candidates=5, seed=1)
    assert torch.equal(again.x0(x, steps), expected.x0(x, steps))


def test_a_scheduled_machine_keeps_its_candidates_and_borders(train):
    check_a_scheduled_machine_keeps_its_candidates_and_borders(train)


def test_r_squared_is_the_squared_correlation_of_centred_images(train):
    from difflab.core.metrics import r_squared

    a, b = train[:4], -2 * train[:4] + 0.5  # an affine image of a: correlation -1
    assert torch.allclose(r_squared(a, b), torch.ones(4, dtype=torch.float64))
    centred = lambda x: x.flatten(1) - x.flatten(1).mean(1, keepdim=True)
    r = torch.nn.functional.cosine_similarity(centred(train[:4]), centred(train[4:8]))
    assert torch.allclose(r_squared(train[:4], train[4:8]).float(), r**2, atol=1e-6)


def _pooling_border_rows(sides):
    """A mutant of local._border_sides: the rows (and columns) near a border pooled with each
    other instead of each searching its own."""
    return lambda n, r: [(rows, False) for rows, _ in sides(n, r)]


def _corners_searching_their_edge(region):
    """A mutant of local._region or local._unregion (its last two arguments: rows, columns): a
    corner pixel pooled with the other corner of its row (along its edge) instead of searching its
    own position only."""

    def mutant(*args):
        *head, rows, cols = args
        return region(*head, rows, (cols[0], False) if rows[1] and cols[1] else cols)

    return mutant


def _els_at_its_own_position(self, x, k, a, s2):
    """A mutant of ELS: each pixel searches the patches at its own position only (LS)."""
    return local._local_scores(self, x, k, a, s2)


def _scheduled_without_borders(self, patch_size):
    """A mutant of LocalDenoiser.scheduled that forgets the borders (zeros, the default)."""
    return type(self)(self.images, patch_size, alphas_cumprod=self.alphas_cumprod,
                      candidates=self.candidates, seed=self.seed, block=self.block)  # fmt: skip


MUTANTS = {
    "edge pixels pool every border row": (
        lambda mp: mp.setattr(local, "_border_sides", _pooling_border_rows(local._border_sides)),
        check_bbels_edge_pixels_search_their_own_row,
    ),
    "corner pixels search their edge": (
        lambda mp: [
            mp.setattr(local, name, _corners_searching_their_edge(getattr(local, name)))
            for name in ("_region", "_unregion")
        ],
        check_bbels_corner_pixels_search_their_own_position,
    ),
    "ELS searches only its own position": (
        lambda mp: mp.setattr(EquivariantLocalScoreMachine, "_local", _els_at_its_own_position),
        check_els_searches_every_position,
    ),
    "scheduled() drops its borders": (
        lambda mp: mp.setattr(local.LocalDenoiser, "scheduled", _scheduled_without_borders),
        check_a_scheduled_machine_keeps_its_candidates_and_borders,
    ),
}


@pytest.mark.parametrize("mutant", MUTANTS)
def test_each_mutant_fails_the_check_that_exists_to_catch_it(train, mutant, monkeypatch):
    plant, check = MUTANTS[mutant]
    plant(monkeypatch)
    with pytest.raises(AssertionError):
        check(train)
