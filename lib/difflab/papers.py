"""The papers' numbers the book sets beside its own, in one place (sources and notes:
shared/reference/papers.md). Chapters and the intro read them from here."""

# Raya and Ambrogioni (NeurIPS 2023): two points at +-1 under the linear schedule
TWO_POINTS = {"theta_c": 0.6436, "x* at theta = 0.8": 0.947, "critical step": 292}

# Zhang et al.: RP (SSCD > 0.6) between 7 released CIFAR-10 models from the same noise
REPRODUCIBILITY_RP = {"lowest pair": "0.70 (U-ViT vs CT)", "most pairs (book: middle half)": "0.78-0.89",
                      "highest pair": "0.91 (CT vs Progressive)"}

# Zhang et al. (consistent model reproducibility), CIFAR-10 32x32, U-Nets of 64 / 128 / 256 channels,
# read off their figures: RP between widths at n = 2^6 .. 2^15 training images, and GL at some n
MEMORIZATION_SIZES = [2 ** k for k in range(6, 16)]
MEMORIZATION_RP = {"RP 64 vs 128": [.69, .66, .59, .53, .46, .42, .34, .18, .45, .67],
                   "RP 64 vs 256": [.62, .62, .55, .46, .37, .29, .10, .02, .49, .61],
                   "RP 128 vs 256": [.65, .63, .56, .48, .41, .33, .17, .17, .45, .85]}
MEMORIZATION_GL = {"GL 64": {2 ** 10: 0, 2 ** 11: .22, 2 ** 12: .87, 2 ** 13: .99},
                   "GL 128": {2 ** 10: 0, 2 ** 12: .28, 2 ** 13: .82, 2 ** 14: .98},
                   "GL 256": {2 ** 10: 0, 2 ** 12: .05, 2 ** 13: .30, 2 ** 14: .98}}



def memorization_curves() -> dict[str, tuple[list[int], list[float]]]:
    """The paper's RP and GL curves, each as (sizes, values)."""
    return {**{name: (MEMORIZATION_SIZES, values) for name, values in MEMORIZATION_RP.items()},
            **{name: (list(points), list(points.values())) for name, points in MEMORIZATION_GL.items()}}


# Raya and Ambrogioni, Gaussian late start: FID (Inception, 50k samples) as (gls, baseline) per
# (sampler, steps); the MNIST DDPM/DDIM rows at 5 and 3 steps are identical in the source.
GLS_FID = {
    "MNIST": {("DDPM (η = 1)", 10): (4.21, 6.75), ("DDPM (η = 1)", 5): (6.95, 13.25), ("DDPM (η = 1)", 3): (11.92, 42.63),
              ("DDIM", 10): (2.44, 4.46), ("DDIM", 5): (6.95, 13.25), ("DDIM", 3): (11.92, 42.63),
              ("PNDM", 10): (5.02, 14.36), ("PNDM", 5): (5.11, 21.22), ("PNDM", 3): (38.23, 154.89)},
    "CIFAR-10": {("DDPM (η = 1)", 10): (28.77, 43.35), ("DDPM (η = 1)", 5): (42.46, 84.82),
                 ("DDPM (η = 1)", 3): (57.03, 146.95), ("DDIM", 10): (15.98, 19.79), ("DDIM", 5): (26.36, 44.61),
                 ("DDIM", 3): (42.31, 109.37), ("PNDM", 10): (5.90, 8.35), ("PNDM", 5): (9.55, 13.77),
                 ("PNDM", 3): (34.20, 103.11)},
}


def gls_improvement(data: str) -> dict[tuple[str, int], float]:
    """The paper's FID improvement (baseline / gls) per (sampler, steps) on `data`."""
    return {key: baseline / gls for key, (gls, baseline) in GLS_FID[data].items()}
