"""The papers' numbers the book sets beside its own, in one place, each with where in its paper (or
the paper's official code) it comes from; the papers are in the book's references.bib. Chapters
and the intro read the numbers from here. Values read off a figure are good to about 0.02."""

# Raya and Ambrogioni (NeurIPS 2023, arXiv 2305.19693), the two-point example of their theory section:
# theta_c = sqrt(sqrt(2) - 1) in closed form; the step at which the linear schedule (1e-4..0.02) crosses
# it and the fixed point at theta = 0.8 follow from their formulas
TWO_POINTS = {"theta_c": 0.6436, "x* at theta = 0.8": 0.947, "critical step": 292}

# Zhang et al. (ICML 2024, arXiv 2310.05264), the cross-model similarity figure of their official code
# (huijieZH/Diffusion-Model-Generalizability), read off it: RP (SSCD > 0.6) between 7 released
# CIFAR-10 models from the same noise
RP_LOWEST_PAIR, RP_MOST_PAIRS, RP_HIGHEST_PAIR = 0.70, (0.78, 0.89), 0.91
REPRODUCIBILITY_RP = {
    "lowest pair": f"{RP_LOWEST_PAIR:.2f} (U-ViT vs CT)",
    "most pairs (book: middle half)": f"{RP_MOST_PAIRS[0]:.2f}-{RP_MOST_PAIRS[1]:.2f}",
    "highest pair": f"{RP_HIGHEST_PAIR:.2f} (CT vs Progressive)",
}

# Zhang et al., the data-size sweep (CIFAR-10 32x32, EDM's DDPM++ U-Nets of 64 / 128 / 256 channels),
# read off the figures of their paper and official code: RP between widths at n = 2^6 .. 2^15
# training images, and GL at some n
MEMORIZATION_SIZES = [2**k for k in range(6, 16)]
MEMORIZATION_RP = {
    "RP 64 vs 128": [0.69, 0.66, 0.59, 0.53, 0.46, 0.42, 0.34, 0.18, 0.45, 0.67],
    "RP 64 vs 256": [0.62, 0.62, 0.55, 0.46, 0.37, 0.29, 0.10, 0.02, 0.49, 0.61],
    "RP 128 vs 256": [0.65, 0.63, 0.56, 0.48, 0.41, 0.33, 0.17, 0.17, 0.45, 0.85],
}
MEMORIZATION_GL = {
    "GL 64": {2**10: 0, 2**11: 0.22, 2**12: 0.87, 2**13: 0.99},
    "GL 128": {2**10: 0, 2**12: 0.28, 2**13: 0.82, 2**14: 0.98},
    "GL 256": {2**10: 0, 2**12: 0.05, 2**13: 0.30, 2**14: 0.98},
}
# ... and the parameters of those networks (EDM's DDPM++), with the second paper's score_sde `ddpm`
# net (Ho et al. 2020, appendix B: 35.7M), by the name of the book's architecture sized like each
NETWORK_PARAMETERS = {"ddpmpp-64": 14e6, "ddpmpp-128": 56e6, "ddpmpp-256": 223e6, "ddpm": 35.7e6}
# ... and RP of a trained network against the closed-form optimal denoiser of its training set (the
# same figures)
RP_VS_OPTIMAL = {2**6: 0.5, 2**14: 0.0, 2**15: 0.0}
# Kadkhodaie et al. (ICLR 2024, arXiv 2310.02557), their disjoint-subset experiment on CelebA 80x80:
# two denoisers trained on disjoint subsets agree from about this many images
DISJOINT_AGREEMENT_IMAGES = 10**5


# Bonnaire, Urfin, Biroli and Mezard (NeurIPS 2025, arXiv 2505.17638): U-Net DDPMs on grey CelebA
# at 32x32, trained long at many training-set sizes n: the training time at which samples start to
# copy grows linearly with n, the time at which they become good does not depend on it (their main
# figures and abstract; the slopes of log time against log n that those laws mean)
TRAINING_TIME_SLOPES = {"tau_mem": 1, "tau_gen": 0}


def memorization_curves() -> dict[str, tuple[list[int], list[float]]]:
    """The paper's RP and GL curves, each as (sizes, values)."""
    return {
        **{name: (MEMORIZATION_SIZES, values) for name, values in MEMORIZATION_RP.items()},
        **{name: (list(points), list(points.values())) for name, points in MEMORIZATION_GL.items()},
    }


# Biroli et al. (Nat. Commun. 2024, arXiv 2402.18491), their table of data sets: the covariance's top
# eigenvalue Lambda and the speciation time t_S = 1/2 log Lambda
SPECIATION = {"MNIST": (7.66, 1.02), "CIFAR-10": (16.72, 1.41), "ImageNet32": (12.11, 1.25)}

# Raya and Ambrogioni, their FID table of the Gaussian late start (Inception, 50k samples) as
# (gls, baseline) per (sampler, steps); the MNIST DDPM/DDIM rows at 5 and 3 steps are identical in it
GLS_FID = {
    "MNIST": {
        ("DDPM (η = 1)", 10): (4.21, 6.75),
        ("DDPM (η = 1)", 5): (6.95, 13.25),
        ("DDPM (η = 1)", 3): (11.92, 42.63),
        ("DDIM", 10): (2.44, 4.46),
        ("DDIM", 5): (6.95, 13.25),
        ("DDIM", 3): (11.92, 42.63),
        ("PNDM", 10): (5.02, 14.36),
        ("PNDM", 5): (5.11, 21.22),
        ("PNDM", 3): (38.23, 154.89),
    },
    "CIFAR-10": {
        ("DDPM (η = 1)", 10): (28.77, 43.35),
        ("DDPM (η = 1)", 5): (42.46, 84.82),
        ("DDPM (η = 1)", 3): (57.03, 146.95),
        ("DDIM", 10): (15.98, 19.79),
        ("DDIM", 5): (26.36, 44.61),
        ("DDIM", 3): (42.31, 109.37),
        ("PNDM", 10): (5.90, 8.35),
        ("PNDM", 5): (9.55, 13.77),
        ("PNDM", 3): (34.20, 103.11),
    },
}


# ... the start steps the paper used (its start-time sweep, and its code's defaults), and the range
# of its headline improvements at 3-5 steps (the upper end is its abstract's "up to 3x")
GLS_STARTS = {
    ("DDIM", 3): 400,
    ("DDIM", 5): 500,
    ("DDIM", 10): 500,
    ("PNDM", 5): 600,
    ("DDPM (η = 1)", None): 400,
}
GLS_HEADLINE_RANGE = (1.5, 3.0)


def gls_improvement(data: str) -> dict[tuple[str, int], float]:
    """The paper's FID improvement (baseline / gls) per (sampler, steps) on `data`."""
    return {key: baseline / gls for key, (gls, baseline) in GLS_FID[data].items()}


# Raya and Ambrogioni, their diversity figure: entropy of the race labels of CelebA64 samples (read off)
# per number of steps, for gls-DDIM and for DDIM from pure noise, and of the training set
GLS_ENTROPY_CELEBA = {"gls": {3: 1.17, 5: 1.19, 10: 1.30}, "ddim": {3: 0.51, 5: 0.76, 10: 1.12}}
TRAIN_ENTROPY_CELEBA = 1.55


# Zhang et al., section 4 and appendices D, F, G: shown by examples, with no score that a table could quote.
BEYOND_CLAIM = "holds (examples in section 4; no score given)"
# Chapter 7 measures what neither paper (nor a follow-up we know) does: where along the trajectory two models part.
BRIDGE_CLAIM = "this book only: no paper measures it"

# Kamb and Ganguli (ICML 2025), the median r^2 between their bbELS machine's images and trained
# convolution-only networks' (ResNets, U-Nets) from the same noise, per data set; a U-Net with
# self-attention on CIFAR-10 reaches about 0.77
ELS_R2 = {"Fashion-MNIST": 0.94, "MNIST": 0.94, "CIFAR-10": 0.95, "CelebA": 0.96}
ELS_R2_ATTENTION = 0.77


def _at(curves: dict[str, list[float]], n: int) -> list[float]:
    return [values[MEMORIZATION_SIZES.index(n)] for values in curves.values()]


def _span(values) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def _power(n: int) -> str:
    return f"2^{n.bit_length() - 1}"


def headlines(chapter: str) -> dict[str, str]:
    """The papers' column of the intro's results table for one chapter, written from the numbers
    above; the chapter glues it and the intro pastes it, so no number is typed twice."""
    mean_rp = {n: sum(_at(MEMORIZATION_RP, n)) / len(MEMORIZATION_RP) for n in MEMORIZATION_SIZES}
    dip = min(mean_rp, key=mean_rp.get)
    generalizing = [
        min(n for n, gl in curve.items() if gl >= 0.95) for curve in MEMORIZATION_GL.values()
    ]
    improvement = {
        data: ", ".join(
            f"{gls_improvement(data)[key]:.1f}" for key in [("DDIM", 3), ("DDIM", 5), ("PNDM", 3)]
        )
        for data in GLS_FID
    }
    lam, t_s = SPECIATION["MNIST"]
    wide_pair = MEMORIZATION_RP["RP 64 vs 256"]
    table = {
        "01_deterministic_map": {
            "paper_copies_model": f"RP against the optimal denoiser ~{RP_VS_OPTIMAL[2**14]:.0f} at "
            f"{_power(2**14)}-{_power(2**15)} images (CIFAR-10)"
        },
        "02_reproducibility": {
            "paper_rp_models": f"{RP_LOWEST_PAIR:.2f}-{RP_HIGHEST_PAIR:.2f} over 7 CIFAR-10 models (SSCD > 0.6)",
            "paper_rp_lowest_pair": REPRODUCIBILITY_RP["lowest pair"],
            "paper_rp_most_pairs": f"most pairs {RP_MOST_PAIRS[0]:.2f}-{RP_MOST_PAIRS[1]:.2f}",
        },
        "03_memorization": {
            "paper_rp_sweep": f"~{mean_rp[MEMORIZATION_SIZES[0]]:.2f}, {_span(_at(MEMORIZATION_RP, dip))}, "
            f"{_span(_at(MEMORIZATION_RP, MEMORIZATION_SIZES[-1]))} (CIFAR-10, "
            f"{_power(MEMORIZATION_SIZES[0])} / {_power(dip)} / {_power(MEMORIZATION_SIZES[-1])})",
            "paper_gl_sweep": f"~0 up to {_power(2**10)}, "
            f"~1 from {_power(min(generalizing))}-{_power(max(generalizing))}",
            "paper_copy_optimal": f"~{RP_VS_OPTIMAL[2**6]:.1f} at {_power(2**6)}, ~{RP_VS_OPTIMAL[2**14]:.0f} at "
            f"{_power(2**14)} (SSCD)",
            "paper_rp_wide_pair": f"{min(wide_pair):.2f} (64 vs 256 channels, "
            f"{_power(MEMORIZATION_SIZES[wide_pair.index(min(wide_pair))])}, SSCD > 0.6)",
            "paper_disjoint": f"agree at ~10^{len(str(DISJOINT_AGREEMENT_IMAGES)) - 1} images (Kadkhodaie et al.)",
        },
        "04_symmetry_breaking": {
            "paper_two_points": f"{TWO_POINTS['theta_c']}, ~{TWO_POINTS['critical step']}, "
            f"{TWO_POINTS['x* at theta = 0.8']} (Raya & Ambrogioni)",
            "paper_speciation": f"MNIST {lam}, {t_s}; cloning near s_S (Biroli et al.)",
            "paper_lambda_mnist": f"MNIST {lam}, {t_s} (Biroli et al.)",
        },
        "05_late_initialization": {
            "paper_improvement": "; ".join(f"{data} {text}" for data, text in improvement.items()),
            **{
                f"paper_improvement_{sampler.lower()}{steps}": ", ".join(
                    f"{gls_improvement(data)[sampler, steps]:.1f} ({data})" for data in GLS_FID
                )
                for sampler, steps in [("DDIM", 3), ("DDIM", 5), ("PNDM", 3)]
            },
            "paper_pndm_gls3_over_base5": ", ".join(
                f"{GLS_FID[data]['PNDM', 3][0] / GLS_FID[data]['PNDM', 5][1]:.1f} ({data})"
                for data in GLS_FID
            ),
            "paper_entropy": f"CelebA races: {GLS_ENTROPY_CELEBA['ddim'][3]:.2f}, {GLS_ENTROPY_CELEBA['gls'][3]:.2f}, "
            f"~{TRAIN_ENTROPY_CELEBA:.2f}",
        },
        "06_beyond_unconditional": {"paper_beyond": BEYOND_CLAIM},
        "07_when_decided": {
            "paper_bridge": BRIDGE_CLAIM,
            "paper_speciation_mnist": SPECIATION["MNIST"][1],
        },
        "08_local_machines": {
            "paper_els_r2": f"median r^2 {ELS_R2['Fashion-MNIST']:.2f} (Fashion-MNIST), "
            f"{_span(ELS_R2.values())} over 4 data sets; ~{ELS_R2_ATTENTION:.2f} with attention "
            "(Kamb & Ganguli)",
            "paper_els_r2_fmnist": ELS_R2["Fashion-MNIST"],
            "paper_els_r2_attention": ELS_R2_ATTENTION,
        },
        "09_training_time": {
            "paper_mem_slope": f"{TRAINING_TIME_SLOPES['tau_mem']} (tau_mem grows linearly with n; "
            "grey CelebA 32x32, U-Nets)",
            "paper_gen_slope": f"{TRAINING_TIME_SLOPES['tau_gen']} (tau_gen does not depend on n)",
        },
    }
    if chapter not in table:
        raise ValueError(f"chapter={chapter!r} is not allowed; allowed: {', '.join(table)}")
    return table[chapter]
