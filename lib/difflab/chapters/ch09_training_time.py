"""Chapter 9's measurements: along long training runs of the memorization sweep's widths, when
samples become good (tau_gen) and when they start to copy (tau_mem), and where the widths part.

A run's snapshots are sampled from one set of noises; each measurement keeps one value per noise
(copy or not, same image as the other width or not) so that every time and every interval is
found again on resamples of those noises (intervals.paired). The FID, a statistic of the whole
set, is resampled with fixed draws of the noises instead (`fid_draws`), the same for every
snapshot of every run."""

from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch

from difflab.book.catalogue import time_runs
from difflab.book.profiles import Profile
from difflab.book.tables import error_bars
from difflab.book.trained import get_denoiser, get_snapshot, manifest, profile_classifier
from difflab.core import intervals, metrics
from difflab.core.data import load_images
from difflab.core.denoisers import EmpiricalDenoiser
from difflab.core.quality import FeatureDistance, fid_reference
from difflab.core.sampling import run_sampler, seeded_noise
from difflab.training.loop import TrainConfig, training_images

COPY_LEVEL = 0.1  # tau_mem: the copy share reaches a tenth of the samples
FID_FALL = 0.9  # tau_gen: the FID has made nine tenths of its fall to the run's lowest
# a snapshot's measurements that the build finds again, in words
CHECKED = {
    "copies": "the same copies",
    "same_copy_optimal": "the same copies of D*'s image",
    "fid": "the same FID (to 1e-6)",
}
# the keys of the predictions decided by a margin (margin_KEY, verdict_KEY), in the chapter's order
PREDICTIONS = ("mem_slope", "gen_flat", "largest_copies", "optimal_rise")


def bits(hits: torch.Tensor) -> str:
    """One 0/1 per noise as a string (a study's compact form)."""
    return "".join("1" if hit else "0" for hit in hits.tolist())


def unbits(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), dtype=np.uint8) - ord("0")


def snapshot_row(
    images: torch.Tensor,
    train: torch.Tensor,
    optimal: torch.Tensor,
    quality: FeatureDistance,
    draws: np.ndarray,
) -> dict:
    """One snapshot's measurements: which samples copy a training image (nearest / second-nearest
    distance below 1/3, the paper's test and the book's GL), which copy the very image that the
    optimal denoiser D* returns from the same noise, and the FID on all noises and on each draw."""
    copied = metrics.copied_image(images, train)
    same_as_optimal = (copied == metrics.copied_image(optimal, train)) & (copied >= 0)
    fid, resampled = quality.fid_resampled(images, draws)
    return {
        "copies": bits(copied >= 0),
        "same_copy_optimal": bits(same_as_optimal),
        "fid": fid,
        "fid_draws": [float(f"{value:.5g}") for value in resampled],
    }


class Snapshots:
    """What measuring a run's snapshots needs, set up once: the noises, DDIM on `device`, the FID's
    judge (10,000 training images in the book classifier's features) and its draws of the noises,
    and chapter 3's calibrated threshold for "the same image"."""

    def __init__(
        self,
        settings: Profile,
        noise_seed: int = 0,
        draws: int = 200,
        device: str = "cpu",
        allow_training: bool | None = None,
    ):
        every, _ = load_images(settings.dataset, settings.resolution)
        test, _ = load_images(settings.dataset, settings.resolution, train=False)
        half = len(test) // 2
        self.steps, self.device, self.allow_training = settings.sample_steps, device, allow_training
        self.threshold = metrics.calibrated_threshold(test[:half], test[half : 2 * half])
        reference = fid_reference(every)
        self.judge = FeatureDistance(reference, profile_classifier(settings, device))
        self.noise = seeded_noise(noise_seed, settings.n_samples, every.shape[1:]).to(device)
        self.draws = np.random.default_rng(noise_seed).integers(
            0, len(self.noise), (draws, len(self.noise))
        )
        self.settings = {  # the study's record of them
            "noise_seed": noise_seed,
            "noises": len(self.noise),
            "sampler": f"ddim, {settings.sample_steps} steps",
            "fid_reference": len(reference),
            "fid_draws": draws,
            "threshold": self.threshold,
        }

    def images(self, denoiser) -> torch.Tensor:
        return run_sampler(denoiser.to(self.device), self.noise, "ddim", self.steps).cpu()

    def at(self, config: TrainConfig, step: int) -> torch.Tensor:
        """The images of `config`'s model after `step` steps (a snapshot, or the final model)."""
        model = (
            get_denoiser(config, self.device, allow_training=self.allow_training)
            if step == config.steps
            else get_snapshot(config, step, self.device, self.allow_training)
        )
        return self.images(model)

    def rows(self, config: TrainConfig, steps, partner: TrainConfig | None = None) -> list[dict]:
        """One row per step (snapshot_row); with a `partner` (the smaller width on the same images),
        also whether the two make the same image, at the steps the partner has."""
        train = training_images(config)
        optimal = self.images(EmpiricalDenoiser(train))
        rows = []
        for step in steps:
            images = self.at(config, step)
            row = {"arch": config.arch, "images": config.subset, "step": step}
            row |= snapshot_row(images, train, optimal, self.judge, self.draws)
            if partner and (step in partner.snapshots or step == partner.steps):
                same = metrics.pair_similarity(images, self.at(partner, step)) > self.threshold
                row["same_image_small"] = bits(same)
            rows.append(row)
        return rows

    def check(self, config: TrainConfig, steps, stored: list[dict]) -> dict[int, dict[str, bool]]:
        """Whether the rows of `stored` (a study's) are found again at `steps` (found_again)."""
        mine = {
            row["step"]: row
            for row in stored
            if (row["arch"], row["images"]) == (config.arch, config.subset)
        }
        return {
            row["step"]: found_again(row, mine[row["step"]]) for row in self.rows(config, steps)
        }


def measure_runs(
    settings: Profile,
    runs: dict[tuple[str, int], TrainConfig],
    skip=(),
    allow_training: bool | None = None,
    noise_seed: int = 0,
    draws: int = 200,
) -> Iterator[tuple[dict, list[dict], dict]]:
    """Measure every snapshot of the long runs (catalogue.time_runs) but those in `skip`, the
    sizes both widths run first: for each run, yields the measurement's settings, one row per
    snapshot (Snapshots.rows, paired with the smaller width at the wider one's) and the run's
    record."""
    small = settings.sweep_archs[0]
    measuring = Snapshots(settings, noise_seed, draws, "cpu", allow_training)
    both = lambda item: item[0][1] not in settings.time_wide_sizes
    for (arch, n), config in sorted(runs.items(), key=both):
        if (arch, n) in skip:
            continue
        partner = runs.get((small, n)) if arch != small else None
        rows = measuring.rows(config, (*config.snapshots, config.steps), partner)
        spent = manifest(config, "cpu")["wall_time_s"]
        run = {"arch": arch, "images": n, "steps": config.steps, "wall_time_s": spent}
        yield measuring.settings, rows, run


def weight_gap(a: torch.nn.Module, b: torch.nn.Module) -> float:
    """The largest difference between two networks' weights, tensor by tensor (0: the same)."""
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    return max((x - y).abs().max().item() for x, y in pairs)


def measured_study(settings: Profile, allow_training: bool | None = None) -> dict:
    """The study's result (settings, rows, runs) measured here, all runs at once: a profile whose
    runs take minutes (smoke); the `ci` runs are studies/training_time.py's, committed."""
    study = {"rows": [], "runs": []}
    for measured, rows, run in measure_runs(settings, time_runs(settings), (), allow_training):
        study["settings"] = measured
        study["rows"] += rows
        study["runs"].append(run)
    return study


def first_crossing(times, curve: np.ndarray, level: float, falling: bool = False) -> np.ndarray:
    """The first time at which `curve` (time along axis 0, any other axes batched) reaches `level`
    (from below, or from above when `falling`), interpolated in log time between the snapshots
    around it; inf where it never does, the first time where it starts there."""
    steps = np.asarray(times, dtype=float)
    times = np.log(steps)
    curve = -np.asarray(curve, dtype=float) if falling else np.asarray(curve, dtype=float)
    level = -level if falling else level
    reached = curve >= level
    first = reached.argmax(axis=0)
    never = ~reached.any(axis=0)
    before = np.maximum(first - 1, 0)
    take = lambda a, i: np.take_along_axis(a, i[None], axis=0)[0]
    low, high = take(curve, before), take(curve, first)
    share = np.where(high > low, (level - low) / np.where(high > low, high - low, 1), 1.0)
    log_time = times[before] + np.clip(share, 0, 1) * (times[first] - times[before])
    return np.where(never, np.inf, np.where(first == 0, steps[0], np.exp(log_time)))


def copy_time(copies: np.ndarray, times, level: float = COPY_LEVEL) -> intervals.Interval:
    """tau_mem: when the share of copies first reaches `level`, with its interval over the noises;
    copies[i, j] says whether the sample at times[i] from noise j is a copy."""
    with np.errstate(invalid="ignore"):  # resamples that never reach it: inf, kept as such
        return intervals.paired(
            lambda t: first_crossing(times, t["copies"].mean(-1), level), {"copies": copies}
        )


def fid_target(fid: np.ndarray) -> np.ndarray:
    """The level whose crossing is tau_gen: FID_FALL of the way from the first snapshot's FID to
    the run's lowest (time along axis 0)."""
    return fid[0] - FID_FALL * (fid[0] - fid.min(axis=0))


def generation_time(fid: np.ndarray, draws: np.ndarray, times, noises: int) -> intervals.Interval:
    """tau_gen: when the FID first makes FID_FALL of its fall, on all `noises` (fid, one per time)
    and, for the interval, on each draw of them (draws: times x draws)."""
    at = lambda curve: first_crossing(times, curve, fid_target(curve), falling=True)
    return intervals.from_draws(float(at(fid)), at(draws), noises)


def log_slope(sizes, times: np.ndarray) -> np.ndarray:
    """The least-squares slope of log time against log size (sizes along axis 0, any other axes
    batched): 1 where the time grows in proportion to the size, 0 where it does not grow."""
    x = np.log(np.asarray(sizes, dtype=float))
    with np.errstate(invalid="ignore"):  # a time never reached (inf) gives NaN, not a warning
        y = np.log(np.asarray(times, dtype=float))
        x = (x - x.mean()).reshape(-1, *[1] * (y.ndim - 1))
        return (x * (y - y.mean(axis=0))).sum(axis=0) / (x**2).sum()


def copy_time_slope(
    copies: dict[int, np.ndarray], times, level: float = COPY_LEVEL
) -> tuple[intervals.Interval, list[int]]:
    """The slope of log tau_mem against log n over the sizes (copies' keys: n, each a times x noises
    array on the same noises) at which the copy share reaches `level` within the run, with its
    interval over the noises (resamples in which one of them never reaches it are left out)."""
    reached = [n for n in copies if np.isfinite(first_crossing(times, copies[n].mean(-1), level))]
    if len(reached) < 2:  # no slope: an interval undefined on the data (a table's empty cell)
        noises = np.shape(next(iter(copies.values())))[-1]
        why = f"the copy share reaches {level} at {len(reached)} size(s); a slope needs 2"
        return intervals.Interval(np.nan, np.nan, np.nan, noises, "noises", why), reached

    with np.errstate(invalid="ignore"):
        slope = _slope_statistic(times, reached, level)
        return intervals.paired(slope, {n: copies[n] for n in reached}), reached


def _slope_statistic(times, reached: list[int], level: float):
    """The slope of log tau_mem against log n over `reached`, as a statistic of a table of copies
    by size (intervals.paired); NaN in a resample where one size never reaches `level`."""

    def slope(t):
        taus = np.stack([first_crossing(times, t[n].mean(-1), level) for n in reached])
        return np.where(np.isfinite(taus).all(axis=0), log_slope(reached, taus), np.nan)

    return slope


def generation_slopes(
    fid: dict[int, np.ndarray], draws: dict[int, np.ndarray], times
) -> tuple[float, np.ndarray]:
    """The slope of log tau_gen against log n on all noises, and on each draw (fid[n]: one FID per
    time; draws[n]: times x draws, the same draws at every size)."""
    sizes = list(fid)
    at = lambda curve: first_crossing(times, curve, fid_target(curve), falling=True)
    estimate = log_slope(sizes, np.stack([at(fid[n]) for n in sizes]))
    return float(estimate), log_slope(sizes, np.stack([at(draws[n]) for n in sizes]))


def generation_time_slope(fid: dict, draws: dict, times, noises: int) -> intervals.Interval:
    """generation_slopes' slope with its interval over the draws."""
    return intervals.from_draws(*generation_slopes(fid, draws, times), noises)


def flat_margin(fid: dict, draws: dict, times, noises: int, bound: float) -> intervals.Interval:
    """How far inside [-bound, bound] the slope of log tau_gen lies (negative outside)."""
    estimate, drawn = generation_slopes(fid, draws, times)
    return intervals.from_draws(bound - abs(estimate), bound - np.abs(drawn), noises)


def times_panel(ax, times: pd.DataFrame, archs: tuple[str, str], reached: list[int]) -> None:
    """times_table's two times against n with their intervals, for both widths (the wider hollow),
    and slope 1 through the smaller width's memorization times at the sizes `reached`."""
    small, wide = archs
    for arch, marker in ((small, "o"), (wide, "s")):
        for key, color in (("tau_mem", "tab:red"), ("tau_gen", "tab:blue")):
            cells = times.xs(arch)[key]
            cells = cells[[np.isfinite([c.estimate, c.low, c.high]).all() for c in cells]]
            centre, bars = error_bars(cells)
            label = f"{key.replace('tau_', 'τ ')}, {arch}"
            face = "none" if arch == wide else color
            style = dict(fmt=marker, color=color, label=label, mfc=face, capsize=2)
            ax.errorbar(cells.index, centre, bars, **style)
    if len(reached) >= 2:  # through the memorization times' geometric mean
        at_mem = [times.loc[(small, n), "tau_mem"].estimate for n in reached]
        scale = np.exp(np.mean(np.log(at_mem)) - np.mean(np.log(reached)))
        sizes = times.xs(small).index.to_numpy()
        ax.plot(sizes, scale * sizes, color="grey", lw=1)


def read_runs(rows: list[dict]) -> dict[tuple[str, int], dict[str, np.ndarray]]:
    """The study's rows (one per width, size and step) gathered per width and size: its steps, and
    each measurement as a steps x noises array (copies, same copy as D*; the same image as the
    smaller width, at the steps where both have a snapshot: `paired_steps`) or a curve (FID, and
    steps x draws)."""
    runs = {}
    frame = pd.DataFrame(rows).sort_values("step")
    for (arch, n), run in frame.groupby(["arch", "images"], sort=True):
        stacked = lambda key, part=run: np.stack([unbits(b) for b in part[key]])
        runs[arch, n] = {
            "steps": run["step"].to_numpy(),
            "copies": stacked("copies"),
            "same_copy_optimal": stacked("same_copy_optimal"),
            "fid": run["fid"].to_numpy(),
            "fid_draws": np.stack(run["fid_draws"].to_numpy()),
        }
        if "same_image_small" in run and run["same_image_small"].notna().any():
            paired = run[run["same_image_small"].notna()]
            runs[arch, n] |= {
                "paired_steps": paired["step"].to_numpy(),
                "same_image_small": stacked("same_image_small", paired),
            }
    return runs


def times_table(runs: dict, noises: int) -> pd.DataFrame:
    """tau_gen and tau_mem of every run, with their intervals (inf: not within the run)."""
    rows = {}
    for (arch, n), run in runs.items():
        rows[arch, n] = {
            "steps": run["steps"][-1],
            "tau_gen": generation_time(run["fid"], run["fid_draws"], run["steps"], noises),
            "tau_mem": copy_time(run["copies"], run["steps"]),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(["network", "images"])


def rp_between_widths(runs: dict, wide: str) -> pd.DataFrame:
    """RP between the two widths (share of noises from which they make the same image), by step
    (rows) and training-set size (columns)."""
    return pd.DataFrame(
        {
            n: pd.Series(run["same_image_small"].mean(-1), index=run["paired_steps"])
            for (arch, n), run in runs.items()
            if arch == wide
        }
    ).rename_axis(index="step", columns="images")


def dip_shift(runs: dict, wide: str, early: int, late: int, seed: int = 0) -> tuple[float, float]:
    """How many doublings of the training set the dip (the size at which RP between the widths is
    lowest) moves up from budget `early` to budget `late`, and the share of resamples of the noises
    in which it moves by at least one doubling."""
    sizes = sorted(n for arch, n in runs if arch == wide)
    at = lambda step: np.stack(
        [
            runs[wide, n]["same_image_small"][list(runs[wide, n]["paired_steps"]).index(step)]
            for n in sizes
        ]
    )  # sizes x noises
    early_hits, late_hits = at(early), at(late)
    doublings = lambda before, after: np.log2(
        np.asarray(sizes)[after.argmin(0)] / np.asarray(sizes)[before.argmin(0)]
    )
    estimate = float(doublings(early_hits.mean(-1), late_hits.mean(-1)))
    generator = np.random.default_rng(seed)
    moved = []
    for _ in range(intervals.RESAMPLES // 1000 + 1):  # in batches of 1,000 resamples
        draw = generator.integers(0, early_hits.shape[-1], (1000, early_hits.shape[-1]))
        shift = doublings(early_hits[:, draw].mean(-1), late_hits[:, draw].mean(-1))
        moved.append(shift >= 1)
    return estimate, float(np.concatenate(moved)[: intervals.RESAMPLES].mean())


def found_again(again: dict, stored: dict) -> dict[str, bool]:
    """Whether a snapshot measured again gives the study's row (CHECKED's measurements): the copies
    exactly, the FID to a relative 1e-6 (a newer torchmetrics may sum in another order)."""
    return {
        key: bool(np.isclose(again[key], stored[key], rtol=1e-6, atol=0))
        if key == "fid"
        else again[key] == stored[key]
        for key in CHECKED
    }


def nearest(steps, target: float) -> int:
    """The step of `steps` nearest `target` in log time (the snapshots are half-octaves apart)."""
    return int(min(steps, key=lambda step: abs(np.log(step / target))))


def share_verdict(share: float, level: float = 0.95) -> str:
    """A prediction decided by the share of resamples in which it holds: held in at least `level`
    of them, failed in at most 1 - level, undecided otherwise."""
    return "held" if share >= level else "failed" if share <= 1 - level else "undecided"


def optimal_gain(runs: dict, arch: str, sizes, early: int) -> intervals.Interval:
    """The smallest, over `sizes`, rise of the share of samples that copy D*'s image from step
    `early` to the run's end, with its interval over the noises (the same noises at every size)."""
    row = lambda n: list(runs[arch, n]["steps"]).index(early)
    values = {n: runs[arch, n]["same_copy_optimal"][[row(n), -1]] for n in sizes}  # 2 x noises each
    return intervals.paired(
        lambda t: np.min([t[n][1].mean(-1) - t[n][0].mean(-1) for n in sizes], axis=0), values
    )


def slope_margin(
    copies: dict[int, np.ndarray], times, low: float, high: float, level: float = COPY_LEVEL
) -> intervals.Interval:
    """How far inside [low, high] the slope of log tau_mem against log n lies (the smaller of its
    distances to the two ends; negative outside), with its interval over the noises."""
    found, reached = copy_time_slope(copies, times, level)
    if len(reached) < 2:
        return found

    slope = _slope_statistic(times, reached, level)

    def margin(t):
        value = slope(t)
        return np.minimum(value - low, high - value)

    with np.errstate(invalid="ignore"):
        return intervals.paired(margin, {n: copies[n] for n in reached})
