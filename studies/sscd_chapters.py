"""Chapters 2 and 3 in the paper's similarity (SSCD, issue 14 parts 3 and 4): every SSCD claim over
many noise seeds at the chapters' counts, and the dip between widths 4x apart.

SSCD costs ~17 ms an image on 2 cores, so the chapters embed only the first noises of each seed
(chapter 2: 80, chapter 3: 50; the pixel scores keep all 500). This study measures each SSCD
claim per seed at those counts, so that the chapters can show the worst seed beside their own
number and the tests can ask for what held at every seed. Chapter 3's SSCD threshold is also
measured here, once, on 2,000 pairs of different test images (as its pixel threshold is on
real images), and read back by the chapter.

Rule and predictions, written before the first run and before the unet-m models finished training
(2026-11-25, 08:35 UTC). From the calibration study: at 0.6, 17.8% of shuffled pairs and 95% of
same-noise pairs of the two U-Net S runs pass, and every unseen test image has a training image
above 0.6.

Chapter 2 (seven trained models and the Gaussian denoiser, 80 noises per seed):
- 0.6 lets through 10-25% of shuffled pairs of trained models at every seed (a copy detector's
  threshold, on images far simpler than its training data, is loose).
- The threshold that 1% of shuffled pairs exceed is 0.75-0.85.
- RP at 0.6: every pair of trained models above 0.7 at every seed; median pair ~0.9.
- RP at the calibrated SSCD threshold: every pair above 0.4 at every seed.
- The Gaussian denoiser below the least agreeing pair of networks at both thresholds.
- Along training, the two runs gain at least 0.2 in SSCD RP (at the calibrated threshold) from the
  first snapshot to the end.

Chapter 3 (50 noises per seed in SSCD, 500 in pixels):
- unet-m, 4x the width of unet-xs, crosses GL = 0.5 between n = 128 and 256 (GL(128) < 0.5 <=
  GL(256)): each doubling of width has doubled the transition so far (unet-xs at 64, unet-s at 128).
- Pixel RP between unet-xs and unet-m is lowest at n = 128 (where unet-xs makes new images and
  unet-m still copies), 0.45-0.60, below the (unet-xs, unet-s) pair's lowest value at the same
  sizes by 0.03-0.15: a deeper dip than the 2x pair's, still far from the paper's 0.02-0.18.
- In SSCD at the calibrated threshold the dips are deeper than in pixels: the (unet-xs, unet-m)
  minimum at most 0.35.
- In SSCD at 0.6, RP between unet-xs and unet-s is above 0.7 at both ends of the sweep and lower
  inside.
- Disjoint training sets: SSCD RP at 0.6 at most 0.3 at n = 16, at least 0.8 at n = 16384.

    python studies/sscd_chapters.py [--seeds 6] [--sscd-noises-2 80] [--sscd-noises-3 50]
"""

import argparse
import itertools

import pandas as pd
from tqdm import tqdm

import difflab
from difflab import Role
from difflab.book.studies import write_study
from difflab.chapters import ch02_reproducibility as reproducibility
from difflab.chapters import ch03_memorization as memorization
from difflab.core import metrics
from difflab.training.loop import training_images

PIXEL_THRESHOLDS = {"02": 0.9218, "03": 0.9339}  # the chapters' calibrated pixel thresholds
TEST_PAIRS = 2000


def chapter_2(settings, seed: int, count: int) -> dict:
    """Chapter 2's SSCD scores at one seed: the first `count` of the seed's noises."""
    configs = difflab.reproducibility_models(settings)
    models = {role.label: difflab.get_denoiser(config) for role, config in configs.items()}
    train_images, _ = difflab.load_images(settings.dataset, settings.resolution)
    everyone = {**models, "Gaussian denoiser": difflab.GaussianDenoiser.fit(train_images)}
    z = difflab.seeded_noise(seed, settings.n_samples, train_images.shape[1:])[:count]
    samples = {
        name: {seed: difflab.sample(model, z, "ddim", settings.sample_steps)}
        for name, model in everyone.items()
    }
    sscd = metrics.Cached(metrics.SSCD())
    trained = list(itertools.combinations(models, 2))
    _, shuffled_trained, trained_agreement = metrics.pooled_agreement(
        samples, [seed], trained, sscd
    )
    threshold = trained_agreement.threshold
    rp06, acc = metrics.pairwise_scores(samples, [seed], 0.6, sscd)
    rpcal, _ = metrics.pairwise_scores(samples, [seed], threshold, sscd)
    gaussian = [(name, "Gaussian denoiser") for name in models]
    snapshots = [*configs[Role.STANDARD].snapshots, settings.train_steps]
    along = [
        {
            k: models[role.label]
            if k == settings.train_steps
            else difflab.get_snapshot(configs[role], k)
            for k in snapshots
        }
        for role in (Role.STANDARD, Role.SEED_TWIN)
    ]
    images = reproducibility.along_training(*along, z, settings.sample_steps)
    gain = {
        name: (lambda r: r[-1] - r[0])(
            reproducibility.emergence_scores(images, t, sscd)["RP between the runs"]
        )
        for name, t in (("06", 0.6), ("calibrated", threshold))
    }
    return {
        "seed": seed,
        "noises": count,
        "shuffled_above_06": (shuffled_trained > 0.6).double().mean().item(),
        "sscd_threshold": threshold,
        "rp06_trained_min": min(rp06[p][0] for p in trained),
        "rp06_trained_median": float(pd.Series([rp06[p][0] for p in trained]).median()),
        "rpcal_trained_min": min(rpcal[p][0] for p in trained),
        "acc_trained_min": min(acc[p][0] for p in trained),
        "rp06_gaussian_max": max(rp06[p][0] for p in gaussian),
        "rpcal_gaussian_max": max(rpcal[p][0] for p in gaussian),
        "emergence_gain_06": gain["06"],
        "emergence_gain_calibrated": gain["calibrated"],
    }


def test_threshold(settings) -> dict:
    """SSCD's and pixel cosine's calibrated thresholds on pairs of different test images."""
    test_images, _ = difflab.load_images(settings.dataset, settings.resolution, train=False)
    a, b = test_images[:TEST_PAIRS], test_images[TEST_PAIRS : 2 * TEST_PAIRS]
    return {
        "pairs": TEST_PAIRS,
        "sscd": metrics.calibrated_threshold(a, b, features=metrics.SSCD()),
        "pixel": metrics.calibrated_threshold(a, b),
    }


def chapter_3(settings, seeds, count: int, sscd_threshold: float) -> list[dict]:
    """Chapter 3's RP rows (pixels on all noises, SSCD on the first `count`) and unet-m's GL, per seed."""
    small, wide = settings.sweep_archs
    configs = {
        **difflab.memorization_sweep(settings),
        **difflab.dip_sweep(settings),
        **{("disjoint", n): pair[1] for n, pair in difflab.disjoint_pairs(settings).items()},
    }
    subsets = {n: training_images(configs[small, n]) for n in settings.sweep_sizes}
    shape = subsets[settings.sweep_sizes[0]].shape[1:]
    noise = {s: difflab.seeded_noise(s, settings.n_samples, shape) for s in seeds}
    samples = {
        key: {
            s: difflab.sample(difflab.get_denoiser(config), noise[s], "ddim", settings.sample_steps)
            for s in seeds
        }
        for key, config in tqdm(configs.items(), desc="sampling")
    }
    sscd = metrics.Cached(metrics.SSCD())
    similarities = {
        "pixel": metrics.Similarity(metrics.centred_pixels, PIXEL_THRESHOLDS["03"]),
        "SSCD > 0.6": metrics.Similarity(sscd, 0.6, count),
        "SSCD calibrated": metrics.Similarity(sscd, sscd_threshold, count),
    }
    pairs = [
        (small, wide),
        (small, settings.dip_arch),
        (wide, settings.dip_arch),
        (small, "disjoint"),
    ]
    rp = memorization.pair_rp(samples, pairs, settings.sweep_sizes, seeds, similarities)
    gl = [
        {
            "images": n,
            "score": f"GL {settings.dip_arch}",
            "seed": s,
            "value": metrics.gl_score(samples[settings.dip_arch, n][s], subsets[n]),
        }
        for n in settings.dip_sizes
        for s in seeds
    ]
    return rp.to_dict("records") + gl


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--sscd-noises-2", type=int, default=80)
    parser.add_argument("--sscd-noises-3", type=int, default=50)
    args = parser.parse_args()
    settings = difflab.get_profile("ci")
    thresholds = test_threshold(settings)
    write_study(
        "sscd_chapters",
        {
            "test_threshold": thresholds,
            "reproducibility": [
                chapter_2(settings, s, args.sscd_noises_2)
                for s in tqdm(range(args.seeds), desc="chapter 2")
            ],
            "memorization": chapter_3(
                settings, range(args.seeds), args.sscd_noises_3, thresholds["sscd"]
            ),
            "memorization_noises": {"pixel": settings.n_samples, "sscd": args.sscd_noises_3},
        },
    )


if __name__ == "__main__":
    main()
