"""Chapter 8: why networks agree. The local machines of difflab.core.local, their patch size
calibrated against each network along its own trajectory, and how well each closed form predicts
each network's images from the same noises (the paper's r^2 and the book's RP)."""

from dataclasses import dataclass
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from difflab.book.glue import with_interval
from difflab.book.plotting import FULL_WIDTH, shared_legend
from difflab.book.profiles import Profile
from difflab.book.sample_cache import sample
from difflab.book.tables import error_bars, estimates, verdict_row
from difflab.book.zoo import get_denoiser, memorization_sweep, reproducibility_models
from difflab.core import intervals, metrics
from difflab.core.data import load_images
from difflab.core.denoisers import Denoiser, EmpiricalDenoiser, GaussianDenoiser
from difflab.core.local import (
    BorderedLocalScoreMachine,
    LocalScoreMachine,
    patch_size_agreements,
)
from difflab.training.loop import training_images

MACHINES = {"LS": LocalScoreMachine, "bbELS": BorderedLocalScoreMachine}
CLOSED_FORMS = ("LS", "bbELS", "Gaussian", "D*")


def patch_sizes(resolution: int) -> tuple[int, ...]:
    """The sizes a calibration tries: every odd size below the image's side, and the whole image
    seen from every pixel (2 side - 1: LS and bbELS are then D*)."""
    return (*range(3, resolution, 2), 2 * resolution - 1)


@dataclass(frozen=True)
class Search:
    """How many training images each machine searches (None: all of them): bbELS searches every
    patch of each, so it can afford fewer than LS; the calibration tries many sizes, so fewer
    still. Chapter 8's study measures what the counts cost in r^2."""

    calibration: int | None = None
    bbels: int | None = None
    ls: int | None = None

    def describe(self) -> str:
        """The counts in a sentence (Markdown), for the chapter's set-up cell."""
        count = lambda n: "every training image" if n is None else f"{n:,} training images"
        return (
            f"LS searches {count(self.ls)}, bbELS {count(self.bbels)}, and the calibration of "
            f"the patch sizes {count(self.calibration)}."
        )


CPU_SEARCH = Search(calibration=64, bbels=256, ls=1024)  # data/studies/local_search.json


def search_for(profile: Profile) -> Search:
    """Every image at the `paper` scale (a GPU's job); CPU_SEARCH elsewhere."""
    return Search() if profile.name == "paper" else CPU_SEARCH


def networks(profile: Profile, device) -> tuple[dict, dict, dict]:
    """Chapter 2's seven networks, and chapter 3's sweep at its smallest and largest training sets
    (its wider U-Net, and its narrower one as the peer): the networks, the training images each
    learned from, and the peers of each network that the machines predict."""
    train, _ = load_images(profile.dataset, profile.resolution)
    configs = reproducibility_models(profile)
    nets = {name: get_denoiser(config, device) for name, config in configs.items()}
    trains = dict.fromkeys(configs, train)
    peers = {name: [other for other in configs if other != name] for name in configs}
    sweep, (narrow, wide) = memorization_sweep(profile), profile.sweep_archs
    for n in (profile.sweep_sizes[0], profile.sweep_sizes[-1]):
        name, peer = f"{wide}, {n} images", f"{narrow}, {n} images"
        nets |= {
            name: get_denoiser(sweep[wide, n], device),
            peer: get_denoiser(sweep[narrow, n], device),
        }
        trains[name] = training_images(sweep[wide, n])
        peers[name] = [peer]
    return nets, trains, peers


@dataclass(frozen=True)
class Calibration:
    """How well bbELS with each patch size agrees with a network along the network's own DDIM
    trajectories: the centred cosine of each trajectory's clean-image estimates, shape (steps,
    sizes, trajectories). The trajectories are the calibration's random unit: `indices` picks
    some of them (all by default, or a batch of resamples, shape (resamples, trajectories))."""

    steps: tuple[int, ...]
    sizes: tuple[int, ...]
    agreements: np.ndarray

    def scores(self, indices=slice(None)) -> np.ndarray:
        """The median agreement over the chosen trajectories: (steps, sizes[, resamples])."""
        chosen = self.agreements[..., indices]
        return intervals.lower_median(chosen, axis=-1)

    def table(self) -> pd.DataFrame:
        """The median agreements (rows: steps t, columns: sizes k)."""
        return pd.DataFrame(self.scores(), index=self.steps, columns=self.sizes).rename_axis("t")

    def best_sizes(self, indices=slice(None)) -> np.ndarray:
        """Kamb and Ganguli's rule: at each step the size that agrees best (steps[, resamples])."""
        return np.asarray(self.sizes)[self.scores(indices).argmax(axis=1)]


@torch.no_grad()
def calibrate(
    network: Denoiser,
    train: torch.Tensor,
    noise: torch.Tensor,
    steps: int,
    candidates: int | None,
    sizes,
) -> Calibration:
    """Along the network's own DDIM trajectories from `noise`, how well bbELS with each patch size
    agrees with the network (a Calibration)."""
    _, path = sample(network, noise, "ddim", steps, return_trajectory=True)
    machine = BorderedLocalScoreMachine(train, sizes[0], candidates=candidates).to(noise.device)
    agreements = patch_size_agreements(machine, path, sizes)
    cosines = [[row[k].cpu().numpy() for k in sizes] for row in agreements.values()]
    return Calibration(tuple(agreements), tuple(sizes), np.array(cosines))


def schedule(calibration: Calibration) -> dict[int, int]:
    """The calibrated patch size at each step, {t: k}."""
    return dict(zip(calibration.steps, calibration.best_sizes().tolist()))


@torch.no_grad()
def machine_images(
    train: torch.Tensor, sizes: dict[int, int], noise: dict, steps: int, search: Search
) -> dict[str, dict]:
    """Each local machine's DDIM images from each seed's noises with the calibrated patch sizes:
    {machine: {seed: images}}."""
    counts = {"LS": search.ls, "bbELS": search.bbels}
    return {
        name: {
            seed: sample(
                machine(train, sizes, candidates=counts[name]).to(x.device), x, "ddim", steps
            ).cpu()
            for seed, x in noise.items()
        }
        for name, machine in MACHINES.items()
    }


@torch.no_grad()
def predictions(trains: dict, schedules: dict, noise: dict, steps: int, search: Search) -> dict:
    """Every closed form's images for each calibrated network: {network: {predictor: {seed:
    images}}}; the Gaussian's and D*'s are made once per training set."""
    closed = {}
    made = {}
    for name, sizes in schedules.items():
        train = trains[name]
        if id(train) not in closed:
            closed[id(train)] = closed_form_images(train, noise, steps)
        made[name] = machine_images(train, sizes, noise, steps, search) | closed[id(train)]
    return made


@torch.no_grad()
def closed_form_images(train: torch.Tensor, noise: dict, steps: int) -> dict[str, dict]:
    """The Gaussian denoiser's and D*'s DDIM images of one training set: {name: {seed: images}}."""
    device = next(iter(noise.values())).device
    denoisers = {
        "Gaussian": GaussianDenoiser.fit(train).to(device),
        "D*": EmpiricalDenoiser(train).to(device),
    }
    return {
        name: {seed: sample(d, x, "ddim", steps).cpu() for seed, x in noise.items()}
        for name, d in denoisers.items()
    }


def r_squared_values(a: dict, b: dict) -> np.ndarray:
    """The r^2 of a[seed] with b[seed], noise by noise, over every seed of b in order."""
    return torch.cat([metrics.r_squared(a[seed], b[seed]) for seed in b]).numpy()


def median_r_squared(a: dict, b: dict) -> float:
    """The median r^2 of a[seed] with b[seed] over every noise of every seed of b."""
    return float(intervals.lower_median(r_squared_values(a, b)))


@dataclass(frozen=True)
class RSquared:
    """The r^2 of each closed form's images, and of each peer network's, with each network's,
    noise by noise: the chapter's table and its intervals are medians of these. values[network]
    [column] holds one r^2 per noise, the seeds' noises in order (seeds[seed]: their indices);
    the columns of peers[network] are the networks it is compared with, the others its closed
    forms. A median takes the noises `indices` (all, one seed's, or a batch of resamples)."""

    values: dict[str, dict[str, np.ndarray]]
    peers: dict[str, list[str]]
    seeds: dict[int, np.ndarray]

    PEERS = "other networks"

    @classmethod
    def of(cls, networks: dict, predictors: dict, peers: dict, everyone: dict) -> "RSquared":
        """From images: networks[name][seed] a network's, predictors[name][predictor][seed] the
        closed forms' that predict them, everyone[peer][seed] those of its peers[name]."""
        values = {
            name: {p: r_squared_values(images, networks[name]) for p, images in predictors[name].items()}
            | {peer: r_squared_values(everyone[peer], networks[name]) for peer in peers[name]}
            for name in networks
        }  # fmt: skip
        first = next(iter(networks.values()))
        edges = np.cumsum([0, *(len(images) for images in first.values())])
        seeds = {seed: np.arange(a, b) for seed, a, b in zip(first, edges, edges[1:])}
        return cls(values, {name: list(peers[name]) for name in networks}, seeds)

    @property
    def n(self) -> int:
        """The number of noises."""
        return sum(len(block) for block in self.seeds.values())

    @property
    def columns(self) -> list[str]:
        """The closed forms, then the peers' column."""
        name, values = next(iter(self.values.items()))
        return [c for c in values if c not in self.peers[name]] + [self.PEERS]

    def median(self, network: str, column: str, indices=slice(None)):
        """A column's median r^2 over the chosen noises; for the peers, the median over the peers
        of each one's median."""
        if column == self.PEERS:
            peers = [self.median(network, peer, indices) for peer in self.peers[network]]
            return np.median(peers, axis=0)
        return intervals.lower_median(self.values[network][column][indices])

    def table(self) -> pd.DataFrame:
        """The medians (rows: networks; columns: the closed forms and the peers), each an Interval
        over the noises."""
        return pd.DataFrame(
            {
                name: {
                    c: intervals.bootstrap_indices(partial(self.median, name, c), self.n)
                    for c in self.columns
                }
                for name in self.values
            }
        ).T


def rp_table(
    networks: dict[str, dict], predictors: dict[str, dict[str, dict]], seeds, rate: float = 0.01
) -> tuple[pd.DataFrame, pd.Series]:
    """The book's RP of each predictor with each network (an Interval: Wilson's, over the noises),
    at each network's threshold: the similarity that a share `rate` of the shuffled pairs
    (different noises) of all its predictors exceed. Per network, since a memorizing network's few
    images make its null far higher."""
    rp, thresholds = {}, {}
    for name, images in networks.items():
        same, null = {}, []
        for predictor, predicted in predictors[name].items():
            pairs = [(predicted[s], images[s]) for s in seeds]
            same[predictor] = torch.cat([metrics.pair_similarity(a, b) for a, b in pairs])
            null += [metrics.shuffled_similarity(a, b, s) for s, (a, b) in zip(seeds, pairs)]
        thresholds[name] = metrics.null_threshold(torch.cat(null), rate)
        rp[name] = {
            p: intervals.proportion((v > thresholds[name]).numpy()) for p, v in same.items()
        }
    return pd.DataFrame(rp).T, pd.Series(thresholds)


def locality(sizes) -> tuple:
    """The mean calibrated patch size over the first third of the steps and over the last third,
    of a schedule {t: k} or of an array of sizes (steps[, resamples])."""
    values = np.asarray(list(sizes.values()) if isinstance(sizes, dict) else sizes, dtype=float)
    third = len(values) // 3
    return values[:third].mean(axis=0), values[-third:].mean(axis=0)


def shrink_margin(calibrations: dict[str, Calibration], indices=slice(None)):
    """Prediction 1's deciding difference: the smallest drop, over the networks, of the calibrated
    patch size from the first third of the steps to the last, calibrated on the trajectories
    `indices`."""
    drops = [np.subtract(*locality(c.best_sizes(indices))) for c in calibrations.values()]
    return np.min(drops, axis=0)


PREDICTIONS = {
    "shrinks": "1. the patch shrinks as the noise falls",
    "over_gaussian": "2. bbELS predicts better than the Gaussian",
    "over_dstar": "2. bbELS predicts better than D*",
    "over_ls": "3. bbELS predicts better than LS",
    "dit_below": "4. bbELS predicts the DiT worst",
    "dstar_smallest": "5. D* beats bbELS at the smallest set",
    "bbels_largest": "5. bbELS beats D* at the largest set",
    "at_least_08": "6. bbELS's r² with the U-Net S is at least 0.8",
    "below_twin": "6. ... and below the U-Net S's with its twin",
}


@dataclass(frozen=True)
class Roles:
    """Which network plays which part in the predictions: the convolutional networks (the standard
    U-Net first), its seed twin, the network with attention, and chapter 3's sweep at its
    (smallest, largest) training set."""

    convolutional: tuple[str, ...]
    twin: str
    attention: str
    ends: tuple[str, str]


def prediction_margins(
    r2: RSquared, calibrations: dict, roles: Roles, indices=slice(None)
) -> dict[str, float]:
    """The difference that decides each of the chapter's predictions (PREDICTIONS; positive: it
    held), from the medians over the noises `indices` (all, a seed's, or a batch of resamples);
    prediction 1's from the calibrations, on all their trajectories."""
    m = lambda name, column: r2.median(name, column, indices)
    conv = lambda column: np.array([m(name, column) for name in roles.convolutional])
    smallest, largest = roles.ends
    standard = m(roles.convolutional[0], "bbELS")
    return {
        "shrinks": shrink_margin(calibrations),
        "over_gaussian": (conv("bbELS") - conv("Gaussian")).min(axis=0),
        "over_dstar": (conv("bbELS") - conv("D*")).min(axis=0),
        "over_ls": (conv("bbELS") - conv("LS")).min(axis=0),
        "dit_below": conv("bbELS").min(axis=0) - m(roles.attention, "bbELS"),
        "dstar_smallest": m(smallest, "D*") - m(smallest, "bbELS"),
        "bbels_largest": m(largest, "bbELS") - m(largest, "D*"),
        "at_least_08": standard - 0.8,
        "below_twin": m(roles.convolutional[0], roles.twin) - standard,
    }


def margin_intervals(
    r2: RSquared, calibrations: dict, roles: Roles
) -> dict[str, intervals.Interval]:
    """Each prediction's deciding difference with its interval: over the noises, resampled alike
    for every network and closed form; prediction 1's over the calibration trajectories."""
    paths = next(iter(calibrations.values())).agreements.shape[-1]
    shrinks = partial(shrink_margin, calibrations)
    found = {"shrinks": intervals.bootstrap_indices(shrinks, paths, "calibration trajectories")}
    decide = lambda key: lambda i: prediction_margins(r2, calibrations, roles, i)[key]
    return found | {
        key: intervals.bootstrap_indices(decide(key), r2.n)
        for key in PREDICTIONS
        if key not in found
    }


def margins_by_seed(r2: RSquared, calibrations: dict, roles: Roles) -> pd.DataFrame:
    """prediction_margins measured on each seed's noises alone (one column per seed)."""
    return pd.DataFrame(
        {
            seed: prediction_margins(r2, calibrations, roles, block)
            for seed, block in r2.seeds.items()
        }
    )


def checks(margins: dict[str, intervals.Interval], by_seed: pd.DataFrame) -> pd.DataFrame:
    """The predictions' table (tables.verdict_row), with each difference at the worst seed."""
    rows = {
        PREDICTIONS[key]: verdict_row(
            interval,
            "held" if interval.estimate > 0 else "failed",
            beside={"worst seed": intervals.unsigned_zero(by_seed.loc[key].min(), ".3f")},
        )
        for key, interval in margins.items()
    }
    return pd.DataFrame(rows).T.rename_axis("prediction")


def glue_margins(margins: dict[str, intervals.Interval], by_seed: pd.DataFrame) -> dict:
    """margin_KEY with its interval (all noises), margin_KEY_seed_min (the worst seed) and
    verdict_KEY of each prediction."""
    glued = {}
    for key, interval in margins.items():
        glued |= with_interval(f"margin_{key}", interval) | {
            f"margin_{key}_seed_min": by_seed.loc[key].min(),
            f"verdict_{key}": intervals.verdict(interval),
        }
    return glued


def peers_over_machines(r2: RSquared, trained, indices=slice(None)):
    """How far the better machine stays below the other networks, at worst over `trained`."""
    return np.min(
        [
            r2.median(n, r2.PEERS, indices)
            - np.maximum(r2.median(n, "LS", indices), r2.median(n, "bbELS", indices))
            for n in trained
        ],
        axis=0,
    )


def glue_table(
    table: pd.DataFrame, rp: pd.DataFrame, thresholds, r2: RSquared, roles: Roles
) -> dict:
    """The r^2 and RP numbers the text quotes: ranges over the convolutional networks, single
    networks' values with their intervals, how far the better machine stays below the peers, and
    which network the peers agree with least and bbELS predicts worst."""
    medians = estimates(table)
    conv, unet, (smallest, largest) = (
        medians.loc[list(roles.convolutional)],
        roles.convolutional[0],
        roles.ends,
    )
    ranges = {"bbELS": "bbels", "LS": "ls", "Gaussian": "gaussian", "D*": "dstar",
              "other networks": "peers"}  # fmt: skip
    glued = {"rp_threshold_unet": thresholds[unet], "rp_fpr_percent": 1}
    for column, short in ranges.items():
        glued |= {
            f"r2_{short}_conv_min": conv[column].min(),
            f"r2_{short}_conv_max": conv[column].max(),
        }
    cells = {
        "r2_bbels_unet": table.loc[unet, "bbELS"],
        "r2_ls_unet": table.loc[unet, "LS"],
        "r2_bbels_dit": table.loc[roles.attention, "bbELS"],
        "r2_bbels_resnet": table.loc["ResNet", "bbELS"],
        "r2_peers_resnet": table.loc["ResNet", "other networks"],
        "r2_dstar_smallest": table.loc[smallest, "D*"],
        "r2_dstar_largest": table.loc[largest, "D*"],
        "r2_bbels_largest": table.loc[largest, "bbELS"],
        "rp_bbels_unet": rp.loc[unet, "bbELS"],
        "rp_ls_unet": rp.loc[unet, "LS"],
        "rp_gaussian_unet": rp.loc[unet, "Gaussian"],
        "r2_twin": intervals.bootstrap_indices(partial(r2.median, unet, roles.twin), r2.n),
    }
    trained = [*roles.convolutional, roles.attention]
    gap = intervals.bootstrap_indices(partial(peers_over_machines, r2, trained), r2.n)
    for name, interval in (cells | {"peers_over_machines_min": gap}).items():
        glued |= with_interval(name, interval)
    return glued | {
        "least_agreed": medians.loc[trained, "other networks"].idxmin(),
        "worst_predicted": medians.loc[trained, "bbELS"].idxmin(),
    }


def schedule_map(schedules: dict, sizes):
    """The calibrated patch sizes as a map: one row per network, one column per step, the size
    read off the colour bar (a number in each of 25 cells would be too small to read)."""
    frame = pd.DataFrame(schedules).T
    fig, ax = plt.subplots(figsize=(FULL_WIDTH, 0.4 * len(frame) + 1.4))
    image = ax.imshow(np.log(frame.to_numpy()), cmap="viridis", aspect="auto")
    ax.set(yticks=range(len(frame)), yticklabels=frame.index, xlabel="DDIM step t")
    ax.set_xticks(range(len(frame.columns)), frame.columns, rotation=90)
    cbar = fig.colorbar(image, ax=ax, ticks=np.log(sizes))
    cbar.ax.set_yticklabels(sizes)
    cbar.set_label("patch size k")
    return fig


def agreement_map(scores: pd.DataFrame):
    """A calibration's agreements: one row per patch size, one column per step."""
    fig, ax = plt.subplots(figsize=(FULL_WIDTH, 3))
    image = ax.imshow(scores.T.to_numpy(), cmap="magma", aspect="auto", vmin=0, vmax=1)
    ax.set(yticks=range(len(scores.columns)), yticklabels=scores.columns)
    ax.set(xlabel="DDIM step t", ylabel="patch size k")
    ax.set_xticks(range(len(scores)), scores.index, rotation=90)
    fig.colorbar(image, ax=ax, label="median centred cosine")
    return fig


def r_squared_plot(table: pd.DataFrame):
    """Each predictor's median r^2 with each network (markers) and the peers' (bars), each with its
    95% interval over the noises (a table of Intervals, RSquared.table)."""
    fig, ax = plt.subplots(figsize=(FULL_WIDTH - 1, 0.6 * len(table) + 1))
    rows = np.arange(len(table))
    centre, error = error_bars(table["other networks"])
    ax.barh(rows, centre, xerr=error, color="0.85", ecolor="0.6", label="other networks")
    for offset, column, marker in zip((-0.27, -0.09, 0.09, 0.27), CLOSED_FORMS, "osD^"):
        centre, error = error_bars(table[column])
        ax.errorbar(centre, rows + offset, xerr=error, fmt=marker, label=column, zorder=3)
    ax.set(yticks=rows, yticklabels=table.index, xlabel="median $r^2$", xlim=(0.4, 1.01))
    ax.invert_yaxis()
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=5)
    return fig


def search_rows(study: dict) -> pd.DataFrame:
    """The study's rows at the chapter's calibration count."""
    rows = pd.DataFrame(study["rows"])
    return rows[rows["calibration"] == study["chapter"]["calibration"]]


def search_plot(study: dict, search: Search):
    """The study: each machine's median r^2 against the images it searches, one line per
    network, with the chapter's counts marked."""
    rows = search_rows(study)
    fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH, 3.4), sharey=True)
    for ax, (machine, count) in zip(axes, [("bbELS", search.bbels), ("LS", search.ls)]):
        for network, part in rows[rows["machine"] == machine].groupby("network"):
            part = part.sort_values("searched")
            ax.plot(part["searched"], part["r2_median"], marker="o", label=network)
        if count:
            ax.axvline(count, ls="--", color="0.5")
        ax.set(xscale="log", xlabel="training images searched", title=machine)
    axes[0].set_ylabel("median $r^2$ with the network")
    shared_legend(fig, axes, columns=3)
    return fig


def study_glue(study: dict) -> dict:
    """What the study says of the chapter's counts: the largest r^2 gained by searching the most
    images measured, per machine, and the largest change from calibrating with more images."""
    rows, at, chapter = pd.DataFrame(study["rows"]), search_rows(study), study["chapter"]
    glued = {"study_noises": len(study["seeds"]) * study["noises_per_seed"]}
    for machine, short in (("bbELS", "bbels"), ("LS", "ls")):
        mine = at[at["machine"] == machine]
        most = mine[mine["searched"] == mine["searched"].max()].set_index("network")["r2_median"]
        here = mine[mine["searched"] == chapter[machine]].set_index("network")["r2_median"]
        glued |= {
            f"study_{short}_gain_max": (most - here).max(),
            f"study_{short}_most": int(mine["searched"].max()),
        }
    calibrated = rows[(rows["machine"] == "bbELS") & (rows["searched"] == chapter["bbELS"])]
    spread = calibrated.groupby("network")["r2_median"].agg(lambda r: r.max() - r.min())
    glued |= {
        "study_calibration_spread_max": spread.max(),
        "study_calibration_most": int(calibrated["calibration"].max()),
    }
    return glued
