"""Chapter 3's experiments: two widths and the optimal denoiser D* sampled from the same noises at
every size of the memorization sweep, scored against each other and against their training set."""

import numpy as np
import pandas as pd

from difflab.core import intervals, metrics


def sweep_scores(
    samples: dict, subsets: dict, archs: tuple[str, str], seeds, threshold: float
) -> pd.DataFrame:
    """One row per (training-set size, score, seed): RP between the two widths, each width's RP and
    same-copy score against D*, and the GL score of both widths and of D*. samples[model, n][seed]
    holds the images of a width (or "optimal") trained on subsets[n], from the seed's noises."""
    small, wide = archs
    rows = []
    for n, train in subsets.items():
        per_seed = lambda score, a, b: [score(samples[a, n][s], samples[b, n][s]) for s in seeds]
        rp = lambda x, y: metrics.rp_score(x, y, threshold)
        same_copy = lambda x, y: metrics.same_copy_score(x, y, train)
        scores = {"RP between widths": per_seed(rp, small, wide)}
        for arch in archs:
            scores[f"RP {arch} vs optimal"] = per_seed(rp, arch, "optimal")
            scores[f"same copy {arch} vs optimal"] = per_seed(same_copy, arch, "optimal")
        for model in (*archs, "optimal"):
            scores[f"GL {model}"] = [metrics.gl_score(samples[model, n][s], train) for s in seeds]
        rows += [
            {"images": n, "score": name, "seed": s, "value": v}
            for name, values in scores.items()
            for s, v in zip(seeds, values)
        ]
    return pd.DataFrame(rows)


def regimes(mean: pd.DataFrame, archs) -> tuple[list[int], list[int]]:
    """The sizes at which most samples of every width are copies (mean GL < 0.5), and those at
    which most of every width's are new; `mean` is the mean score per size (rows) and score."""
    gl = mean[[f"GL {arch}" for arch in archs]]
    return list(gl.index[gl.max(axis=1) < 0.5]), list(gl.index[gl.min(axis=1) >= 0.5])


def transition(mean: pd.DataFrame, arch: str) -> float:
    """The smallest training set at which most of a width's samples are new (inf if none)."""
    return next((n for n in mean.index if mean.loc[n, f"GL {arch}"] >= 0.5), float("inf"))


def nearest_rows(samples: dict, train, count: int = 8) -> dict:
    """For each model's samples (name: images), its first `count` and the training image nearest to each."""
    rows = {}
    for name, images in samples.items():
        _, nearest, _ = metrics.nearest_neighbours(images[:count], train)
        rows[name], rows[f"{name}: nearest\ntraining image"] = images[:count], train[nearest]
    return rows


def pair_rp(
    samples: dict, pairs, sizes, seeds, similarities: dict[str, metrics.Similarity]
) -> pd.DataFrame:
    """RP of each pair of models (a, b) at every size both were trained at, under each similarity
    (by name), per seed; one row each, its score named "RP a vs b, similarity". samples[model, n][seed]
    holds a model's images, as in sweep_scores."""
    rows = []
    for n in sizes:
        for a, b in [(a, b) for a, b in pairs if (a, n) in samples and (b, n) in samples]:
            for name, (features, threshold, count) in similarities.items():
                rows += [
                    {
                        "images": n,
                        "score": f"RP {a} vs {b}, {name}",
                        "seed": s,
                        "value": metrics.rp_score(
                            samples[a, n][s][:count], samples[b, n][s][:count], threshold, features
                        ),
                    }
                    for s in seeds
                ]
    return pd.DataFrame(rows)


def dip_depth(by_seed: pd.DataFrame) -> pd.Series:
    """Per seed (columns; rows: sizes in order), how far the lower end of a curve lies above its
    lowest point strictly inside: positive where the curve dips between its ends."""
    return by_seed.iloc[[0, -1]].min() - by_seed.iloc[1:-1].min()


# width_claims' keys in words, for the table beside the study's.
WIDTH_CLAIMS = {
    "sscd06_ends_min": "RP between widths at both ends, SSCD > 0.6 (lowest)",
    "sscd06_depth_min": "depth of the dip, SSCD > 0.6 (smallest)",
    "sscd06_depth_max": "depth of the dip, SSCD > 0.6 (largest)",
    "sscdcal_depth_min": "depth of the dip, SSCD calibrated (smallest)",
    "wide_pixel_low_min": "lowest RP of the widths 4x apart, pixels (smallest)",
    "wide_pixel_low_max": "lowest RP of the widths 4x apart, pixels (largest)",
    "wide_sscdcal_low_max": "lowest RP of the widths 4x apart, SSCD calibrated (largest)",
    "wide_below_pair_min": "how far the 4x pair lies below the 2x pair, pixels (smallest)",
    "disjoint_sscd06_small_max": "RP of disjoint training sets, smallest size, SSCD > 0.6 (largest)",
    "disjoint_sscd06_large_min": "RP of disjoint training sets, largest size, SSCD > 0.6 (lowest)",
}


def width_claims(rows: pd.DataFrame, small: str, wide: str, widest: str) -> dict[str, float]:
    """Chapter 3's claims in SSCD and about the widths 4x apart, each at its worst seed, from
    pair_rp's rows (the chapter's, or a study's over more seeds) with similarities named "pixel",
    "SSCD > 0.6" and "SSCD calibrated"."""
    value = rows.pivot_table(index=["score", "images"], columns="seed", values="value")
    curve = lambda a, b, similarity: value.loc[f"RP {a} vs {b}, {similarity}"]
    lowest = lambda a, b, similarity: curve(a, b, similarity).min()  # per seed, over sizes
    around = curve(small, widest, "pixel").index
    disjoint, paper_unit = curve(small, "disjoint", "SSCD > 0.6"), curve(small, wide, "SSCD > 0.6")
    return {
        "sscd06_ends_min": paper_unit.iloc[[0, -1]].min().min(),
        "sscd06_depth_min": dip_depth(paper_unit).min(),
        "sscd06_depth_max": dip_depth(paper_unit).max(),
        "sscdcal_depth_min": dip_depth(curve(small, wide, "SSCD calibrated")).min(),
        "wide_pixel_low_min": lowest(small, widest, "pixel").min(),
        "wide_pixel_low_max": lowest(small, widest, "pixel").max(),
        "wide_sscdcal_low_max": lowest(small, widest, "SSCD calibrated").max(),
        "wide_below_pair_min": (
            curve(small, wide, "pixel").loc[around].min() - lowest(small, widest, "pixel")
        ).min(),
        "disjoint_sscd06_small_max": disjoint.iloc[0].max(),
        "disjoint_sscd06_large_min": disjoint.iloc[-1].min(),
    }


def width_hits(samples: dict, archs, sizes, seeds, threshold: float) -> dict[int, np.ndarray]:
    """Per training-set size, whether the two widths make the same image from each noise (centred
    pixel cosine above `threshold`), the seeds' noises joined in order."""
    small, wide = archs
    same = lambda n, s: metrics.pair_similarity(samples[small, n][s], samples[wide, n][s])
    return {n: np.concatenate([(same(n, s) > threshold).numpy() for s in seeds]) for n in sizes}


def dip_interval(hits: dict[int, np.ndarray]) -> intervals.Interval:
    """How far the RP between the widths at the lower of its two ends lies above its lowest value
    strictly inside (the dip, found again in each resample), with the bootstrap interval over the
    noises, every size resampled at the same noises (width_hits)."""
    sizes = list(hits)
    rp = lambda t, n: t[n].mean(-1)

    def depth(t):
        inside = np.min([rp(t, n) for n in sizes[1:-1]], axis=0)
        return np.minimum(rp(t, sizes[0]), rp(t, sizes[-1])) - inside

    return intervals.paired(depth, hits)
