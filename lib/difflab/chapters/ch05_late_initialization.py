"""Gaussian late start (Raya and Ambrogioni): before the critical time x_t is nearly Gaussian, so a
fast sampler can begin at t_s from N(mu_t, Sigma_t), the noised data's mean and FULL covariance,
instead of from N(0, I) at T.

Under x_t = theta y + s z the moments follow from the data's in closed form:
mu_t = theta mu,  Sigma_t = theta^2 Sigma + s^2 I  (s^2 = 1 - theta^2),
so the data's covariance is decomposed once and serves every t.
"""

import time

import numpy as np
import ot
import pandas as pd
import torch
from tqdm import tqdm

from difflab.book import papers
from difflab.book.sample_cache import sample
from difflab.book.tables import verdict_row
from difflab.core import intervals
from difflab.core.gaussian import DataMoments
from difflab.core.quality import label_entropy
from difflab.core.sampling import evaluations
from difflab.core.schedule import T, noise_to


def fit_check(
    train: torch.Tensor,
    moments: DataMoments,
    steps,
    n_images: int = 20_000,
    n_draws: int = 5000,
    n_directions: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """How far the noised data are from their fitted Gaussian, step by step: the largest error of
    the fit's mean and covariance against n_images training images noised to t, and the sliced
    Wasserstein-2 distance (POT) along the n_directions top principal directions between n_draws
    noised images and as many draws of the fit, beside the same distance between two sets of
    draws of the fit (the sampling floor). The top directions are where the data's structure
    lives; a random direction sees a nearly Gaussian projection of almost anything. The seed picks
    the images and the draws (seed 0: the chapter's)."""
    directions = moments.eigenvectors[:, -n_directions:].numpy()
    sliced = lambda a, b: ot.sliced_wasserstein_distance(a, b, projections=directions)
    rows = []
    for t in tqdm(steps, desc="fits"):
        fitted, g = moments.noised(int(t)), torch.Generator().manual_seed(int(t) + 1000 * seed)
        images = train[torch.randperm(len(train), generator=g)[:n_images]].flatten(1).double()
        noised = noise_to(images, int(t), g)
        draws = [fitted.sample(n_draws, g).flatten(1).double().numpy() for _ in range(2)]
        rows.append(
            {
                "step": int(t),
                "mean error": (noised.mean(0) - fitted.mean).abs().max().item(),
                "covariance error": (torch.cov(noised.T) - fitted.cov).abs().max().item(),
                "SW2 data vs fit": sliced(noised[:n_draws].numpy(), draws[0]),
                "SW2 fit vs fit": sliced(draws[1], draws[0]),
            }
        )
    return pd.DataFrame(rows).set_index("step")


# The chapter's samplers: name -> (difflab sampler, eta, grid). DDIM, its stochastic version and PNDM
# (F-PNDM, with its Runge-Kutta warm-up) as the second paper ran them, on its time grid, which ends at
# t = 0; PLMS (diffusers' PNDM without the warm-up, the book's "PNDM" before) on the book's even grid.
SAMPLER_SETTINGS = {
    "DDIM": ("ddim", 0.0, "paper"),
    "DDPM (η = 1)": ("ddim", 1.0, "paper"),
    "PNDM": ("f-pndm", 0.0, "paper"),
    "PLMS": ("plms", 0.0, "even"),
}
# The start-time sweep's samplers, on the book's even grid (where studies/start_sweep_seeds.py measured it)
SWEPT = ("DDIM", "DDPM (η = 1)", "PLMS")
# The (sampler, steps) rows of the chapter's claims: FID cut by gls, labels' entropy nearer the data's,
# gls with 3 steps better than the standard start with 5 (the paper's own PNDM rows say otherwise)
CLAIMED = {
    "fid": [(s, k) for s in ("DDIM", "PNDM") for k in (3, 5)],
    "entropy": [(s, 3) for s in SAMPLER_SETTINGS],
    "3 beats 5": [(s, k) for s in ("DDIM", "DDPM (η = 1)", "PLMS") for k in (3, 5)],
}


def paper_start(sampler: str, steps: int) -> int:
    """The start step the paper used (papers.GLS_STARTS): DDIM's 3-step start at 3 steps or fewer
    and its 5-step one above, its DDPM's at every count, PNDM's (given for 5 steps) at every count."""
    starts = papers.GLS_STARTS
    chosen = {
        "DDIM": starts["DDIM", 3 if steps <= 3 else 5],
        "DDPM (η = 1)": starts["DDPM (η = 1)", None],
        "PNDM": starts["PNDM", 5],
    }
    if sampler not in chosen:
        raise ValueError(
            f"sampler={sampler!r} has no start in the paper; allowed: {', '.join(map(repr, chosen))}"
        )
    return chosen[sampler]


TABLE_STEPS = (3, 5, 10)
EQUAL_NFE = ("DDIM", 12)  # as many network evaluations per image as PNDM with 3 steps


def table_starts(plms_best: dict) -> dict[tuple[str, int], int]:
    """The table's (sampler, steps) rows and their gls start steps: the paper's for its three samplers
    at TABLE_STEPS and for EQUAL_NFE, and for PLMS (which the paper did not run) the best start of the
    sweep, plms_best[("PLMS", steps)]."""
    starts = {
        (s, k): paper_start(s, k) for s in ("DDIM", "DDPM (η = 1)", "PNDM") for k in TABLE_STEPS
    }
    return {
        **starts,
        EQUAL_NFE: paper_start(*EQUAL_NFE),
        **{key: t for key, t in plms_best.items() if key[0] == "PLMS"},
    }


def generate(
    denoiser,
    moments: DataMoments,
    sampler: str,
    steps: int,
    n: int,
    seed: int,
    t_start: int | None = None,
    device: str = "cpu",
    grid: str | None = None,
) -> torch.Tensor:
    """n samples with `steps` steps: from N(0, I) at T - 1 (t_start None), else from the Gaussian
    fitted to the data noised to t_start, on the sampler's own grid unless `grid` is given. One seed
    fixes the start and the sampler's noise. (The paper started its PNDM at 998 because its table
    of alpha_bar is read at t + 1: the noise level of 999, where ours starts.)"""
    if sampler not in SAMPLER_SETTINGS:
        raise ValueError(
            f"sampler={sampler!r} is unknown; allowed: {', '.join(map(repr, SAMPLER_SETTINGS))}"
        )
    kind, eta, own_grid = SAMPLER_SETTINGS[sampler]
    g = torch.Generator().manual_seed(seed)
    start = (
        torch.randn(n, *moments.shape, generator=g)
        if t_start is None
        else moments.noised(t_start).sample(n, g)
    )
    return sample(
        denoiser,
        start.to(device),
        kind,
        steps,
        t_start=T - 1 if t_start is None else t_start,
        eta=eta,
        generator=torch.Generator().manual_seed(seed),
        grid=grid or own_grid,
    ).cpu()


def start_scores(images: torch.Tensor, distance, classifier) -> dict[str, float]:
    """FID and KID against the distance's reference, and the entropy of the predicted labels."""
    scores = distance(images)
    return {
        "FID": scores["fid"],
        "KID": scores["kid"],
        "label entropy": label_entropy(images, classifier),
    }


def start_sweep(
    denoiser,
    moments: DataMoments,
    distance,
    sampler: str,
    steps: int,
    starts,
    n: int,
    seed: int,
    device: str = "cpu",
    grid: str | None = None,
) -> dict:
    """FID at each start step (None: from N(0, I) at T - 1), all from the same seed."""
    return {
        t_s: distance.fid(generate(denoiser, moments, sampler, steps, n, seed, t_s, device, grid))
        for t_s in [None, *starts]
    }


def table_row(
    denoiser,
    moments: DataMoments,
    distance,
    classifier,
    sampler: str,
    steps: int,
    t_start: int | None,
    n: int,
    seed: int,
    device: str = "cpu",
) -> dict:
    """One row of the chapter's table: the sampler's grid and network evaluations per image (NFE),
    start_scores of n samples from t_start (None: N(0, I) at T - 1), and the seconds per 1,000 samples."""
    grid = SAMPLER_SETTINGS[sampler][2]
    tic = time.perf_counter()
    images = generate(denoiser, moments, sampler, steps, n, seed, t_start, device)
    seconds = time.perf_counter() - tic
    return {
        "sampler": sampler,
        "steps": steps,
        "start": "baseline" if t_start is None else "gls",
        "t_s": t_start or T - 1,
        "grid": grid,
        "NFE": evaluations(SAMPLER_SETTINGS[sampler][0], steps, T - 1, grid),
        **start_scores(images, distance, classifier),
        "s per 1000": seconds * 1000 / n,
    }


def score_table(
    denoiser,
    moments: DataMoments,
    distance,
    classifier,
    rows,
    starts: dict,
    n: int,
    seed: int,
    device: str = "cpu",
) -> pd.DataFrame:
    """table_row for every (sampler, steps) of `rows`, from N(0, I) and from the Gaussian at
    starts[sampler, steps], indexed by sampler, steps and start."""
    table = pd.DataFrame(
        [
            table_row(denoiser, moments, distance, classifier, sampler, steps, t_s, n, seed, device)
            for sampler, steps in tqdm(rows, desc=f"table, seed {seed}")
            for t_s in (None, starts[sampler, steps])
        ]
    )
    return table.set_index(["sampler", "steps", "start"])


def fid_ratio(table: pd.DataFrame, rows) -> float:
    """The largest FID ratio gls / baseline over the (sampler, steps) rows of a score_table."""
    return max(
        table.loc[(s, k, "gls"), "FID"] / table.loc[(s, k, "baseline"), "FID"] for s, k in rows
    )


def claim_margins(table: pd.DataFrame, train_entropy: float) -> dict[str, float]:
    """Each claim of a score_table at its worst row of CLAIMED: the largest FID ratio gls /
    baseline, the smallest gain in how close the labels' entropy comes to the training set's, and
    the largest FID ratio of gls with 3 steps to the standard start with 5."""
    fid, entropy = table["FID"], table["label entropy"]
    gap = lambda s, k, start: abs(entropy[s, k, start] - train_entropy)
    return {
        "fid_ratio_max": fid_ratio(table, CLAIMED["fid"]),
        "entropy_gap_margin": min(
            gap(s, k, "baseline") - gap(s, k, "gls") for s, k in CLAIMED["entropy"]
        ),
        "gls3_over_base5_max": max(
            fid[s, 3, "gls"] / fid[s, 5, "baseline"] for s, k in CLAIMED["3 beats 5"] if k == 3
        ),
    }


def table_claims(table: pd.DataFrame, train_entropy: float) -> dict[str, float]:
    """claim_margins of a score_table, and what the paper's own table predicts beside them: PNDM's
    gls with 3 steps over its standard start with 5 (the paper: worse), PNDM's improvement at 3
    steps, and DDIM with as many network evaluations as PNDM with 3 steps, over it (FID ratios)."""
    fid = table["FID"]
    return {
        **claim_margins(table, train_entropy),
        "pndm_gls3_over_base5": fid["PNDM", 3, "gls"] / fid["PNDM", 5, "baseline"],
        "pndm3_improvement": fid["PNDM", 3, "baseline"] / fid["PNDM", 3, "gls"],
        **{
            f"equal_nfe_{start}": fid[(*EQUAL_NFE, start)] / fid["PNDM", 3, start]
            for start in ("gls", "baseline")
        },
    }


BASELINE = "N(0, I) at 999"  # the start column's label of the standard start in a sweep


def sweep_table(
    denoiser,
    moments: DataMoments,
    distance,
    step_counts,
    starts,
    n: int,
    seed: int,
    device: str = "cpu",
) -> pd.DataFrame:
    """start_sweep for every sampler of SWEPT and step count, on the book's even grid: one row per
    (sampler, steps, start) with its FID, the start being BASELINE for the standard start from N(0, I)."""
    return pd.DataFrame(
        [
            {
                "sampler": sampler,
                "steps": steps,
                "start": BASELINE if t_s is None else t_s,
                "FID": fid,
            }
            for sampler in SWEPT
            for steps in tqdm(step_counts, desc=f"sweep {sampler}, seed {seed}")
            for t_s, fid in start_sweep(
                denoiser, moments, distance, sampler, steps, starts, n, seed, device, "even"
            ).items()
        ]
    )


def sweep_curve(sweep: pd.DataFrame, sampler: str, steps: int) -> tuple[pd.Series, float]:
    """One sampler's FID against the late start step (a Series indexed by t_s), and the FID of
    its standard start, from the sweep's rows (columns sampler, steps, start, FID)."""
    curve = sweep[(sweep.sampler == sampler) & (sweep.steps == steps)]
    late = curve[curve.start != BASELINE].astype({"start": int}).set_index("start").FID
    return late, curve[curve.start == BASELINE].FID.item()


def best_starts(sweep: pd.DataFrame) -> dict[tuple[str, int], int]:
    """The start step of least FID for each (sampler, steps) of the sweep."""
    return {
        (sampler, steps): int(sweep_curve(sweep, sampler, steps)[0].idxmin())
        for sampler, steps in sweep[["sampler", "steps"]].drop_duplicates().itertuples(index=False)
    }


def losing_starts(sweep: pd.DataFrame) -> list[int]:
    """The start steps later in generation (smaller t_s) than a curve's best start at which that
    (sampler, steps) does worse than its standard start: too late for the data to be near their
    Gaussian, so the few steps left cannot make up for the error of the draw."""
    losing = set()
    for sampler, steps in sweep[["sampler", "steps"]].drop_duplicates().itertuples(index=False):
        late, baseline = sweep_curve(sweep, sampler, steps)
        losing |= set(late.index[(late.index < late.idxmin()) & (late > baseline)])
    return sorted(int(t) for t in losing)


def sweep_seed_claims(rows: list[dict]) -> dict[str, float]:
    """Chapter 5's sweep claims over the seeds of a study (rows of seed, sampler, steps, best_start,
    gain): the range of PLMS's best starts, the latest best start (largest t_s) of DDIM and its
    stochastic version, and the smallest margin by which DDIM's gain at 10 steps stays below its
    gains at 3 and 5 steps in the same seed."""
    table = pd.DataFrame(rows)
    pndm, others = table[table.sampler == "PLMS"], table[table.sampler != "PLMS"]
    gains = table[table.sampler == "DDIM"].pivot(index="seed", columns="steps", values="gain")
    return {
        "seeds": table.seed.nunique(),
        "pndm_best_min": pndm.best_start.min(),
        "pndm_best_max": pndm.best_start.max(),
        "ddim_best_max": others.best_start.max(),
        "ddim10_gain_margin_min": (gains[[3, 5]].min(axis=1) - gains[10]).min(),
    }


def sweep_ratios(sweep: pd.DataFrame, best: dict) -> dict[tuple[str, int], float]:
    """FID at the best late start over the standard start's, in the sweep, per (sampler, steps)."""
    ratios = {}
    for (sampler, steps), t_s in best.items():
        late, baseline = sweep_curve(sweep, sampler, steps)
        ratios[sampler, steps] = late[t_s] / baseline
    return ratios


def seed_tables(rows: list[dict]) -> dict[int, pd.DataFrame]:
    """The final table's FID and labels' entropy per seed, from late_start_table_seeds' rows,
    indexed like score_table (sampler, steps, start)."""
    return {
        row["seed"]: pd.DataFrame(row["table"]).set_index(["sampler", "steps", "start"])
        for row in rows
    }


def improvements(tables: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """Each (sampler, steps) row's improvement, baseline FID over gls FID, per seed (columns)."""
    return pd.DataFrame(
        {
            seed: table["FID"].xs("baseline", level="start") / table["FID"].xs("gls", level="start")
            for seed, table in tables.items()
        }
    )


def improvement_intervals(tables: dict[int, pd.DataFrame]) -> pd.Series:
    """Each row's improvement with its interval over the seeds (Student t)."""
    return improvements(tables).apply(intervals.over_seeds, axis=1)


def entropy_intervals(tables: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """Each row's labels' entropy from each start, with its interval over the seeds."""
    entropy = pd.DataFrame({seed: table["label entropy"] for seed, table in tables.items()})
    return entropy.apply(intervals.over_seeds, axis=1).unstack("start")


# The chapter's pre-registered predictions (1-7, written before the table ran) and the bounds its
# studies wrote before they ran, each decided per seed by a difference that is positive where it held.
PREDICTIONS = {
    "fid_ratio": "1. gls at most 0.8 of the standard start's FID",
    "entropy": "2. labels nearer the training set's entropy",
    "gls3_beats_base5": "3. gls with 3 steps beats the standard 5",
    "pndm_not": "3. ... but not for PNDM",
    "pndm3": "4. PNDM's improvement at 3 steps in 1.5-10",
    "equal_nfe": "5. DDIM beats PNDM at 12 evaluations",
    "ddim10_least": "6. DDIM gains least at 10 steps",
    "seed_moves": "7. another seed moves FID less than (1 - r) / 2",
    "floor_early": "fit: on the floor at steps 600-900 (ratio <= 1.5)",
    "leave_400": "fit: off the floor by step 400 (ratio >= 2)",
    "ddim_start": "sweep: DDIM's best starts at or after the critical steps",
    "plms_start": "sweep: PLMS's best starts within a step of them",
}


def seed_margins(
    tables: dict[int, pd.DataFrame],
    train_entropy: float,
    ratio_bound: float,
    fits: list[dict],
    sweeps: list[dict],
    critical: dict,
) -> dict[str, pd.Series]:
    """Each prediction's deciding difference per seed of its study: predictions 1-6 from the final
    table's seeds, 7 from each seed's largest change of claim 1's FIDs against seed 1 (the chapter's)
    beside (1 - r) / 2 (r = `ratio_bound`, the chapter's largest ratio of claim 1), the fit's bounds
    from prose_claims' fits and the sweep's from start_sweep_seeds' sweeps; `critical`: chapter 4's
    critical steps, the sweep's band being one grid step (100) around them."""
    claims = pd.DataFrame({s: table_claims(t, train_entropy) for s, t in tables.items()}).T
    gains = improvements(tables).loc["DDIM"]
    first = tables[min(tables)]["FID"]
    rows = [(s, k, start) for s, k in CLAIMED["fid"] for start in ("gls", "baseline")]
    change = pd.Series(
        {
            s: (t["FID"][rows] / first[rows] - 1).abs().max()
            for s, t in tables.items()
            if s != min(tables)
        }
    )
    fits, sweeps = pd.DataFrame(fits).set_index("seed"), pd.DataFrame(sweeps)
    low, high = min(critical.values()) - 100, max(critical.values()) + 100
    plms = sweeps[sweeps.sampler == "PLMS"].groupby("seed").best_start
    return {
        "fid_ratio": 0.8 - claims["fid_ratio_max"],
        "entropy": claims["entropy_gap_margin"],
        "gls3_beats_base5": 1 - claims["gls3_over_base5_max"],
        "pndm_not": claims["pndm_gls3_over_base5"] - 1,
        "pndm3": np.minimum(claims["pndm3_improvement"] - 1.5, 10 - claims["pndm3_improvement"]),
        "equal_nfe": 1 - claims[["equal_nfe_gls", "equal_nfe_baseline"]].max(axis=1),
        "ddim10_least": gains.loc[[3, 5]].min() - gains.loc[10],
        "seed_moves": (1 - ratio_bound) / 2 - change,
        "floor_early": 1.5 - fits["sw_ratio_early_max"],
        "leave_400": fits["sw_ratio_400"] - 2,
        "ddim_start": max(critical.values())
        - sweeps[sweeps.sampler != "PLMS"].groupby("seed").best_start.max(),
        "plms_start": np.minimum(plms.min() - low, high - plms.max()),
    }


def checks(margins: dict[str, pd.Series]) -> pd.DataFrame:
    """The predictions' table (tables.verdict_row): each deciding difference's mean over its
    study's seeds with its interval, its worst seed and the seeds' count; the point verdict is the
    one the chapter gave before intervals, at every seed."""
    rows = {}
    for key, values in margins.items():
        interval = intervals.over_seeds(values)
        worst = values.min()
        rows[PREDICTIONS[key]] = verdict_row(
            interval,
            "held" if worst > 0 else "failed",
            ".3g",
            beside={"worst seed": f"{worst:.3g}", "seeds": f"{len(values)}"},
        )
    return pd.DataFrame(rows).T.rename_axis("prediction")
