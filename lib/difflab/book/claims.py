"""The claims the tests hold the chapters to, as data: the glued number, its bound and the side it
must lie on. tests/test_book.py asserts each against its bound; each chapter glues the table of its
claims (claims_table), each beside the 95% interval the chapter glued with it (NAME_low,
NAME_high), and the appendix "How the claims are checked" pastes those tables. A claim whose
interval crosses its bound keeps its bound and is named, in the table and in its chapter."""

import operator
from typing import NamedTuple

import pandas as pd

from difflab.book.glue import recorded_value
from difflab.book.tables import ReadersTable, for_readers

SIDES = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
WORDS = {">=": "at least", ">": "above", "<=": "at most", "<": "below"}


class Claim(NamedTuple):
    """A glued number (`name`) that must lie on `side` of `bound`; `text` says it in words."""

    name: str
    side: str
    bound: float
    text: str

    def holds(self, value: float) -> bool:
        return SIDES[self.side](value, self.bound)

    def interval(self, low: float, high: float) -> str:
        """Where the 95% interval lies: on the claim's side of the bound, or across it."""
        near, far = (low, high) if self.side.startswith(">") else (high, low)
        if self.holds(near):
            return "on the claim's side"
        return "crosses the bound" if self.holds(far) else "on the other side"


CLAIMS = {
    "01_deterministic_map": [
        Claim("sampler_rp_min", ">=", 0.9, "every sampler's RP against the reference (worst seed)"),
        Claim(
            "sampler_retrieval_min", ">=", 0.9, "every sampler's retrieval accuracy (worst seed)"
        ),
        Claim(
            "copies_optimal_min", ">=", 0.9, "the optimal denoiser's share of copies (worst seed)"
        ),
        Claim("copies_model_max", "<=", 0.02, "the network's share of copies (worst seed)"),
        Claim("guess_within_half", ">=", 500, "the step by which the guess settles"),
    ],
    "02_reproducibility": [
        Claim("rp_trained_min", ">=", 0.35, "the worst pair's RP (worst seed)"),
        Claim("acc_trained_min", ">=", 0.5, "the worst pair's retrieval (worst seed)"),
        Claim("sampler_similarity_min", ">=", 0.95, "the samplers' worst median similarity"),
        Claim("sscd_rp06_min", ">=", 0.7, "SSCD at 0.6: the worst pair's RP (worst seed)"),
    ],
    "03_memorization": [
        Claim("gl_small_end_max", "<=", 0.1, "GL at the smallest size (worst seed and width)"),
        Claim("gl_large_end_min", ">=", 0.9, "GL at the largest size (worst seed and width)"),
        Claim("dip_depth", ">", 0, "RP between the widths dips inside the sweep (all noises)"),
        Claim("copy_optimal_small_min", ">=", 0.4, "the same copy as D*, smallest size"),
        Claim("copy_optimal_large_max", "<=", 0.05, "the same copy as D*, largest size"),
        Claim("sscd06_small_end", ">=", 0.7, "SSCD at 0.6 between the widths, smallest size"),
        Claim("sscd06_large_end", ">=", 0.7, "SSCD at 0.6 between the widths, largest size"),
        Claim("disjoint_large_rp_min", ">=", 0.5, "disjoint data, largest size (worst seed)"),
        Claim("disjoint_small_rp_max", "<=", 0.2, "disjoint data, smallest size (worst seed)"),
    ],
    "04_symmetry_breaking": [
        Claim("kick_early_max", "<=", 0.01, "kicks at steps >= 700 change outcomes"),
        Claim("study_unet_mean", ">=", 0.8, "the U-Net's crossing in units of s_S (seeds' mean)"),
        Claim("study_unet_mean", "<=", 1.5, "... and at most 1.5"),
        Claim("study_dstar_mean", ">=", 0.8, "D*'s crossing in units of s_S (seeds' mean)"),
        Claim("study_dstar_mean", "<=", 1.5, "... and at most 1.5"),
        Claim("study_early_mean", "<=", 1.8, "late start from noise before t_c: FID ratio"),
        Claim("study_late_mean", ">=", 3, "late start from noise at t_s = 500: FID ratio"),
    ],
    "05_late_initialization": [
        Claim(f"margin_{key}", ">", 0, text)
        for key, text in {
            "fid_ratio": "1. gls at most 0.8 of the standard start's FID (margin)",
            "entropy": "2. labels nearer the training set's entropy (margin)",
            "pndm3": "4. PNDM's improvement at 3 steps in 1.5-10 (margin)",
            "equal_nfe": "5. DDIM beats PNDM at 12 evaluations (margin)",
            "ddim10_least": "6. DDIM gains least at 10 steps (margin)",
            "seed_moves": "7. another seed moves FID less than (1 - r) / 2 (margin)",
            "floor_early": "the noised data on their Gaussian's floor (margin)",
            "ddim_start": "DDIM's best starts at or after the critical steps (margin)",
        }.items()
    ],
    "06_beyond_unconditional": [
        Claim(f"margin_{key}", ">", 0, text)
        for key, text in {
            "seed_pair": "1. the two runs: RP >= 0.5 and retrieval >= 0.8 (margin)",
            "family_w0": "1. U-Net and DiT: RP >= 0.3 without guidance (margin)",
            "accuracy": "2. guided label accuracy >= 0.9 (margin)",
            "guidance_gain": "2. ... and above the unguided (margin)",
            "projection_seed": "3. projection: the two runs' RP (margin)",
            "projection_family": "3. projection: U-Net and DiT RP >= 0.6 (margin)",
            "projection_baseline": "3. projection: the Gaussian prior below both (margin)",
            "projection_truth": "3. projection: nearer each other than the truth (margin)",
            "dps_residual": "3. DPS: median residual 5-20% (margin)",
            "tuned_pair": "4. the fine-tuned models: RP >= 0.5 (margin)",
            "tuned_scratch": "4. each with the one from scratch: RP >= 0.2 (margin)",
            "toward_scratch": "4. along fine-tuning: toward the one from scratch (margin)",
            "from_parent": "4. ... and away from its parent (margin)",
        }.items()
    ],
    "07_when_decided": [
        Claim(f"margin_{key}", ">", 0, text)
        for key, text in {
            "kick_ode": "2. the U-Net's ODE gain within 30% of the closed form (margin)",
            "kick_sde_999": "2. its stochastic gain below a quarter at t = 999 (margin)",
            "knows_early": "3. its prediction knows no more than the Gaussian's (margin)",
            "knows_peak": "3. the gain peaks after the critical steps (margin)",
            "cascade": "7. the top bands are born first (margin, steps)",
            "ancestor": "8. the Gaussian replaces each model to t = 759 (margin)",
            "shared": "8. the Gaussian's state lowers RP by <= 0.02 (margin)",
            "sensitivity": "9. sensitivity goes with disagreement (margin)",
            "memo_commit": "10. D* of the smallest set commits by t = 400 (margin, steps)",
            "near_gaussian": "11. v / EDM: under 20% born early, below two runs (margin)",
        }.items()
    ],
    "08_local_machines": [
        Claim("margin_shrinks", ">", 0, "1. the patch shrinks as the noise falls (pixels)"),
        Claim("margin_over_gaussian", ">", 0, "2. bbELS predicts better than the Gaussian"),
        Claim("margin_over_dstar", ">", 0, "2. bbELS predicts better than D* of its images"),
        Claim("margin_bbels_largest", ">", 0, "5. bbELS beats D* at the largest set"),
        Claim("margin_at_least_08", ">", 0, "6. bbELS's r² with the U-Net S above 0.8"),
        Claim("margin_below_twin", ">", 0, "6. ... and below the U-Net S's with its twin"),
        Claim("peers_over_machines_min", ">", 0, "the networks predict each other best"),
    ],
    "09_training_time": [
        Claim(
            "mem_slope", ">=", 1, "the memorization time grows at least in proportion to n (slope)"
        ),
        Claim("margin_optimal_rise", ">", 0, "5. copying D*'s image rises along training (margin)"),
    ],
}


def claims_frame(chapter: str) -> pd.DataFrame:
    """The chapter's claims beside what this notebook recorded (glue.recorded_value): the bound, the
    measured number and its 95% interval, and where the interval lies against the bound."""
    rows = {}
    for claim in CLAIMS[chapter]:
        value, low, high = (recorded_value(claim.name + end) for end in ("", "_low", "_high"))
        rows[claim.text] = {
            "bound": f"{WORDS[claim.side]} {claim.bound:g}",
            "measured": f"{value:.3g}",
            "95% interval": f"[{low:.3g}, {high:.3g}]",
            "the interval": claim.interval(low, high),
        }
    return pd.DataFrame(rows).T.rename_axis("claim")


def claims_table(chapter: str) -> ReadersTable:
    """claims_frame as the appendix shows it (tables.for_readers)."""
    return for_readers(claims_frame(chapter))


def crossing(chapter: str) -> str:
    """The chapter's claims whose interval does not lie on the claim's side of the bound, in
    words ("none" if every one does)."""
    table = claims_frame(chapter)
    named = table.index[table["the interval"] != "on the claim's side"]
    return "; ".join(named) if len(named) else "none"
