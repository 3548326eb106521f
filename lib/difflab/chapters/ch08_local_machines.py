"""Chapter 8: why networks agree. The local machines of difflab.core.local, their patch size
calibrated against each network along its own trajectory, and how well each closed form predicts
each network's images from the same noises (the paper's r^2 and the book's RP)."""

from dataclasses import dataclass
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from matplotlib.ticker import NullLocator

from difflab.book.catalogue import (
    Role,
    convolution_only_models,
    labelled,
    memorization_sweep,
    reproducibility_models,
)
from difflab.book.glue import with_interval
from difflab.book.plotting import FULL_WIDTH, shared_legend
from difflab.book.profiles import Profile
from difflab.book.sample_cache import sample
from difflab.book.tables import error_bars, estimates, verdict_row
from difflab.book.trained import get_denoiser
from difflab.core import intervals, metrics
from difflab.core.data import load_images
from difflab.core.denoisers import Denoiser, EmpiricalDenoiser, GaussianDenoiser
from difflab.core.local import (
    BorderedLocalScoreMachine,
    LocalDenoiser,
    LocalScoreMachine,
    searched_images,
)
from difflab.training.loop import training_images

MACHINES = {"LS": LocalScoreMachine, "bbELS": BorderedLocalScoreMachine}
CLOSED_FORMS = ("LS", "bbELS", "Gaussian", "D*")


def patch_sizes(resolution: int) -> tuple[int, ...]:
    """The sizes a calibration tries: every odd size from 3 to the whole image seen from every
    pixel (2 side - 1: LS and bbELS are then D*)."""
    return tuple(range(3, 2 * resolution, 2))


@dataclass(frozen=True)
class Search:
    """How many training images the machines search (None: all of them). Both machines search the
    same ones (one draw), and D* is the optimal denoiser of those, so that what separates them is
    how each looks at an image; the calibration, which tries every size, searches fewer.
    Chapter 8's study measures what the counts cost in r^2."""

    machines: int | None = None
    calibration: int | None = None

    def describe(self) -> str:
        """The counts in a sentence (Markdown), for the chapter's set-up cell."""
        count = lambda n: "every training image" if n is None else f"the same {n:,} training images"
        calibration = "every image" if self.calibration is None else f"{self.calibration:,}"
        return (
            f"LS, bbELS (every patch of each image) and D* search {count(self.machines)}; "
            f"the calibration of the patch sizes searches {calibration}."
        )


def search_for(profile: Profile) -> Search:
    """The profile's counts (`local_machine_images`, `local_calibration_images`): every image at
    the `paper` scale (a GPU's job), fewer on a CPU."""
    return Search(profile.local_machine_images, profile.local_calibration_images)


@dataclass(frozen=True)
class Roles:
    """Which network plays which part in the predictions: chapter 2's U-Nets and its ResNet
    (predictions 2-4 call them convolutional, though all but the ResNet have attention), the
    standard U-Net's seed twin, the DiT, the ResNet, chapter 3's sweep at its (smallest, largest)
    training set, the convolution-only networks, and each convolution-only U-Net beside the U-Net
    with attention of the same seed. Each network by its label."""

    unets_and_resnet: tuple[str, ...]
    standard: str
    twin: str
    attention: str
    resnet: str
    ends: tuple[str, str]
    convolution_only: tuple[str, ...]
    attention_pairs: tuple[tuple[str, str], ...]

    @property
    def original(self) -> list[str]:
        """The networks of predictions 1-6: chapter 2's seven and the sweep's ends."""
        return [*self.unets_and_resnet, self.attention, *self.ends]


def arch_title(arch: str) -> str:
    """A sweep width's name for a reader: "unet-xs" is "U-Net XS"; other networks keep theirs."""
    family, _, size = arch.partition("-")
    return f"U-Net {size.upper()}" if family == "unet" else arch


def networks(profile: Profile, device) -> tuple[dict, dict, dict, Roles]:
    """Chapter 2's seven networks, the two convolution-only U-Nets, and chapter 3's sweep at its
    smallest and largest training sets (its wider U-Net, and its narrower one as the peer): the
    networks, the training images each learned from, the peers of each network that the
    machines predict, and the parts they play."""
    train, _ = load_images(profile.dataset, profile.resolution)
    configs = labelled(reproducibility_models(profile) | convolution_only_models(profile))
    nets = {name: get_denoiser(config, device) for name, config in configs.items()}
    trains = dict.fromkeys(configs, train)
    peers = {name: [other for other in configs if other != name] for name in configs}
    sweep, (narrow, wide) = memorization_sweep(profile), profile.sweep_archs
    ends = []
    for n in (profile.sweep_sizes[0], profile.sweep_sizes[-1]):
        name, peer = (f"sweep's {arch_title(a)}, {n:,} images" for a in (wide, narrow))
        nets |= {
            name: get_denoiser(sweep[wide, n], device),
            peer: get_denoiser(sweep[narrow, n], device),
        }
        trains[name] = training_images(sweep[wide, n])
        peers[name] = [peer]
        ends.append(name)
    roles = Roles(
        unets_and_resnet=tuple(
            role.label for role in reproducibility_models(profile) if role is not Role.DIT
        ),
        standard=Role.STANDARD.label,
        twin=Role.SEED_TWIN.label,
        attention=Role.DIT.label,
        resnet=Role.RESNET.label,
        ends=tuple(ends),
        convolution_only=(
            Role.CONVOLUTION_ONLY.label,
            Role.CONVOLUTION_ONLY_TWIN.label,
            Role.RESNET.label,
        ),
        attention_pairs=(
            (Role.CONVOLUTION_ONLY.label, Role.STANDARD.label),
            (Role.CONVOLUTION_ONLY_TWIN.label, Role.SEED_TWIN.label),
        ),
    )
    return nets, trains, peers, roles


@dataclass(frozen=True)
class Calibration:
    """How well a machine with each patch size agrees with a network along the network's own DDIM
    trajectories, shape (steps, sizes, trajectories): `agreements`, the centred cosine of the
    clean-image estimates (the book's rule); `score_cosines`, the uncentred cosine of the scores
    (the authors'). The trajectories are the calibration's random unit: `indices` picks some of
    them (all by default, or a batch of resamples, shape (resamples, trajectories))."""

    steps: tuple[int, ...]
    sizes: tuple[int, ...]
    agreements: np.ndarray
    score_cosines: np.ndarray

    def scores(self, indices=slice(None)) -> np.ndarray:
        """The median agreement over the chosen trajectories: (steps, sizes[, resamples])."""
        chosen = self.agreements[..., indices]
        return intervals.lower_median(chosen, axis=-1)

    def table(self) -> pd.DataFrame:
        """The median agreements (rows: steps t, columns: sizes k)."""
        return pd.DataFrame(self.scores(), index=self.steps, columns=self.sizes).rename_axis("t")

    def best_sizes(self, indices=slice(None)) -> np.ndarray:
        """The book's rule: at each step the size whose median agreement is best (steps[,
        resamples])."""
        return np.asarray(self.sizes)[self.scores(indices).argmax(axis=1)]

    def with_sizes_of(self, other: "Calibration") -> "Calibration":
        """This calibration with the sizes it lacks taken from `other`, a calibration on the same
        steps and trajectories (of a machine that is this one at those sizes), sizes in order."""
        sizes = sorted(set(self.sizes) | set(other.sizes))
        pick = lambda k: (
            (self, self.sizes.index(k)) if k in self.sizes else (other, other.sizes.index(k))
        )
        join = lambda field: np.stack(
            [getattr(c, field)[:, i] for c, i in map(pick, sizes)], axis=1
        )
        return Calibration(self.steps, tuple(sizes), join("agreements"), join("score_cosines"))

    def authors_sizes(self) -> np.ndarray:
        """Kamb and Ganguli's rule: each trajectory's best size by the cosine of the scores, then
        the (lower) median of those sizes at each step."""
        best = np.asarray(self.sizes)[self.score_cosines.argmax(axis=1)]  # (steps, trajectories)
        return intervals.lower_median(best, axis=-1)


def trajectories(network: Denoiser, noise: torch.Tensor, steps: int):
    """The network's own DDIM trajectories from `noise` (a sampling.Trajectory: its states and
    its clean-image estimates), what a calibration compares the machines with."""
    return sample(network, noise, "ddim", steps, return_trajectory=True)[1]


@torch.no_grad()
def calibrate(path, machine: LocalDenoiser, sizes) -> Calibration:
    """Along a network's trajectories (`path`, from `trajectories`), how well `machine` with
    each patch size agrees with the network from the same states (a Calibration)."""
    machine = machine.to(path.x.device)
    centred, scores = [], []
    for x, x0, t in zip(path.x, path.x0, path.t):
        a = machine.alphas_cumprod[t].sqrt().item()
        made = [machine.predict(x, t, k) for k in sizes]
        centred.append([metrics.pair_similarity(m, x0).cpu().numpy() for m in made])
        scores.append([_cosine(x - a * m, x - a * x0) for m in made])
    return Calibration(tuple(path.t), tuple(sizes), np.array(centred), np.array(scores))


def _cosine(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """The uncentred cosine of a_i and b_i."""
    return F.cosine_similarity(a.flatten(1), b.flatten(1)).cpu().numpy()


def calibrations_of(
    nets: dict, trains: dict, noise: torch.Tensor, steps: int, search: Search, sizes, seed: int = 0
) -> dict[str, dict[str, Calibration]]:
    """Each machine calibrated for itself against each network: {network: {machine:
    Calibration}}, the machines searching `search.calibration` images drawn with `seed`. bbELS is
    LS once no pixel is inner (sizes above the image's side), so those sizes are LS's, computed
    once."""
    found = {}
    for name, train in trains.items():
        path = trajectories(nets[name], noise, steps)
        drawn = {"candidates": search.calibration, "seed": seed}
        ls = calibrate(path, LocalScoreMachine(train, sizes[0], **drawn), sizes)
        inner = [k for k in sizes if k <= train.shape[-1]]
        bbels = BorderedLocalScoreMachine(train, sizes[0], **drawn)
        found[name] = {"LS": ls, "bbELS": calibrate(path, bbels, inner).with_sizes_of(ls)}
    return found


def schedule(calibration: Calibration) -> dict[int, int]:
    """The calibrated patch size at each step, {t: k}."""
    return dict(zip(calibration.steps, calibration.best_sizes().tolist()))


def stability(first: dict, second: dict) -> pd.DataFrame:
    """Two calibrations of each network and machine on different draws (noises and images), and
    the authors' rule beside the book's on the first: the share of steps where they pick the same
    size, and the most median agreement (first draw's, at any step) that the other's sizes lose
    against the book's. Rows: (network, machine)."""
    rows = {}
    for name, machines in second.items():
        for machine, again in machines.items():
            once = first[name][machine]
            book = once.best_sizes()
            rules = {"another draw": again.best_sizes(), "the authors' rule": once.authors_sizes()}
            rows[name, machine] = {
                (rule, column): value
                for rule, sizes in rules.items()
                for column, value in (
                    ("same size", np.mean(book == sizes)),
                    ("agreement lost", np.max(_agreement(once, book) - _agreement(once, sizes))),
                )
            }
    frame = pd.DataFrame(rows).T
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame.rename_axis(["network", "machine"])


def _agreement(calibration: Calibration, sizes) -> np.ndarray:
    """The calibration's median agreement at each step with the given size at that step."""
    columns = [calibration.sizes.index(k) for k in sizes]
    return calibration.scores()[np.arange(len(columns)), columns]


@torch.no_grad()
def ddim_images(denoisers: dict, noise: dict, steps: int) -> dict[str, dict]:
    """Each denoiser's DDIM images from each seed's noises (the build's cache holds those another
    chapter made): {denoiser: {seed: images}}."""
    return {
        name: {seed: sample(d, x, "ddim", steps).cpu() for seed, x in noise.items()}
        for name, d in denoisers.items()
    }


def machine_images(
    train: torch.Tensor, sizes: dict[str, dict[int, int]], noise: dict, steps: int, search: Search
) -> dict[str, dict]:
    """Each local machine's DDIM images from each seed's noises with its own calibrated patch
    sizes (sizes[machine]), all searching the same images: {machine: {seed: images}}."""
    device = next(iter(noise.values())).device
    machines = {
        name: machine(train, sizes[name], candidates=search.machines).to(device)
        for name, machine in MACHINES.items()
    }
    return ddim_images(machines, noise, steps)


@torch.no_grad()
def predictions(trains: dict, schedules: dict, noise: dict, steps: int, search: Search) -> dict:
    """Every closed form's images for each calibrated network: {network: {predictor: {seed:
    images}}}; the Gaussian's and D*'s are made once per training set."""
    closed = {}
    made = {}
    for name, sizes in schedules.items():
        train = trains[name]
        if id(train) not in closed:
            closed[id(train)] = closed_form_images(train, noise, steps, search)
        made[name] = machine_images(train, sizes, noise, steps, search) | closed[id(train)]
    return made


def closed_form_images(
    train: torch.Tensor, noise: dict, steps: int, search: Search
) -> dict[str, dict]:
    """The Gaussian denoiser's (fitted to every training image) and D*'s (of the images the
    machines search) DDIM images: {name: {seed: images}}."""
    device = next(iter(noise.values())).device
    denoisers = {
        "Gaussian": GaussianDenoiser.fit(train).to(device),
        "D*": EmpiricalDenoiser(searched_images(train, search.machines)).to(device),
    }
    return ddim_images(denoisers, noise, steps)


def correlations(a: dict, b: dict) -> np.ndarray:
    """The correlation r of a[seed] with b[seed] (their centred pixel cosine), noise by noise, over
    every seed of b in order."""
    return torch.cat([metrics.pair_similarity(a[seed], b[seed]) for seed in b]).numpy()


def median_r_squared(a: dict, b: dict) -> float:
    """The median r^2 of a[seed] with b[seed] over every noise of every seed of b."""
    return float(intervals.lower_median(correlations(a, b) ** 2))


@dataclass(frozen=True)
class Correlations:
    """The correlation r of each closed form's images, and of each peer network's, with each
    network's, noise by noise: the chapter's tables and intervals are medians of these or of their
    squares (the paper's r^2). values[network][column] holds one r per noise, the seeds' noises in
    order (seeds[seed]: their indices); the columns of peers[network] are the networks it is
    compared with, the others its closed forms. A median takes the noises `indices` (all, one
    seed's, or a batch of resamples)."""

    values: dict[str, dict[str, np.ndarray]]
    peers: dict[str, list[str]]
    seeds: dict[int, np.ndarray]

    PEERS = "other networks"

    @classmethod
    def of(cls, networks: dict, predictors: dict, peers: dict, everyone: dict) -> "Correlations":
        """From images: networks[name][seed] a network's, predictors[name][predictor][seed] the
        closed forms' that predict them, everyone[peer][seed] those of its peers[name]."""
        values = {
            name: {p: correlations(images, networks[name]) for p, images in predictors[name].items()}
            | {peer: correlations(everyone[peer], networks[name]) for peer in peers[name]}
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

    def median(self, network: str, column: str, indices=slice(None), squared: bool = True):
        """A column's median r^2 (or r) over the chosen noises; for the peers, the median over the
        peers of each one's median."""
        if column == self.PEERS:
            peers = [self.median(network, p, indices, squared) for p in self.peers[network]]
            return np.median(peers, axis=0)
        r = self.values[network][column][indices]
        return intervals.lower_median(r**2 if squared else r)

    def interval(self, network: str, column: str, squared: bool = True) -> intervals.Interval:
        """median's 95% interval over the noises."""
        return intervals.bootstrap_indices(
            partial(self.median, network, column, squared=squared), self.n
        )

    def table(self) -> pd.DataFrame:
        """The median r^2 (rows: networks; columns: the closed forms and the peers), each an
        Interval over the noises."""
        return pd.DataFrame(
            {name: {c: self.interval(name, c) for c in self.columns} for name in self.values}
        ).T.rename_axis("network")

    def machines_table(self) -> pd.DataFrame:
        """Each machine's median r and r^2 with each network (Intervals): the paper's text gives
        r^2, its evaluation code computes r."""
        return pd.DataFrame(
            {
                name: {
                    (machine, quantity): self.interval(name, machine, squared)
                    for machine in MACHINES
                    for quantity, squared in (("r", False), ("r²", True))
                }
                for name in self.values
            }
        ).T.rename_axis("network")


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
    return pd.DataFrame(rp).T.rename_axis("network"), pd.Series(thresholds)


def locality(sizes) -> tuple:
    """The mean calibrated patch size over the first third of the steps and over the last third,
    of a schedule {t: k} or of an array of sizes (steps[, resamples])."""
    values = np.asarray(list(sizes.values()) if isinstance(sizes, dict) else sizes, dtype=float)
    third = len(values) // 3
    return values[:third].mean(axis=0), values[-third:].mean(axis=0)


def shrink_margin(calibrations: dict, names, indices=slice(None)):
    """Prediction 1's deciding difference: the smallest drop, over the networks `names`, of
    bbELS's calibrated patch size from the first third of the steps to the last, calibrated on
    the trajectories `indices`."""
    sizes = [calibrations[n]["bbELS"].best_sizes(indices) for n in names]
    return np.min([np.subtract(*locality(s)) for s in sizes], axis=0)


def smaller_margin(calibrations: dict, pairs, indices=slice(None)):
    """Prediction 9's deciding difference: the smallest amount, over the (convolution-only,
    attention) pairs, by which bbELS's patch size averaged over the steps is smaller for the
    convolution-only network, calibrated on the trajectories `indices`."""
    mean = lambda name: calibrations[name]["bbELS"].best_sizes(indices).mean(axis=0)
    return np.min([mean(attention) - mean(conv) for conv, attention in pairs], axis=0)


PAPER_R_BOUND = 0.9  # prediction 10's

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
    "conv_better": "7. bbELS predicts the convolution-only U-Net better",
    "conv_over_ls": "8. without attention, bbELS predicts better than LS",
    "conv_smaller": "9. smaller patches without attention",
    "conv_r": "10. bbELS's median r with the convolution-only U-Net is at least 0.9",
}
FROM_CALIBRATIONS = ("shrinks", "conv_smaller")  # decided on the calibration's trajectories


def prediction_margins(
    corr: Correlations, calibrations: dict, roles: Roles, indices=slice(None)
) -> dict[str, float]:
    """The difference that decides each of the chapter's predictions (PREDICTIONS; positive: it
    held), from the medians over the noises `indices` (all, a seed's, or a batch of resamples);
    those of FROM_CALIBRATIONS from the calibrations, on all their trajectories."""
    m = lambda name, column: corr.median(name, column, indices)
    over = lambda names, a, b: np.min([m(n, a) - m(n, b) for n in names], axis=0)
    convolutional = lambda column: np.array([m(n, column) for n in roles.unets_and_resnet])
    smallest, largest = roles.ends
    standard = roles.standard
    pairs = roles.attention_pairs
    return {
        "shrinks": shrink_margin(calibrations, roles.original),
        "over_gaussian": over(roles.unets_and_resnet, "bbELS", "Gaussian"),
        "over_dstar": over(roles.unets_and_resnet, "bbELS", "D*"),
        "over_ls": over(roles.unets_and_resnet, "bbELS", "LS"),
        "dit_below": convolutional("bbELS").min(axis=0) - m(roles.attention, "bbELS"),
        "dstar_smallest": m(smallest, "D*") - m(smallest, "bbELS"),
        "bbels_largest": m(largest, "bbELS") - m(largest, "D*"),
        "at_least_08": m(standard, "bbELS") - 0.8,
        "below_twin": m(standard, roles.twin) - m(standard, "bbELS"),
        "conv_better": np.min([m(c, "bbELS") - m(a, "bbELS") for c, a in pairs], axis=0),
        "conv_over_ls": over(roles.convolution_only, "bbELS", "LS"),
        "conv_smaller": smaller_margin(calibrations, pairs),
        "conv_r": corr.median(pairs[0][0], "bbELS", indices, squared=False) - PAPER_R_BOUND,
    }


def margin_intervals(
    corr: Correlations, calibrations: dict, roles: Roles
) -> dict[str, intervals.Interval]:
    """Each prediction's deciding difference with its interval: over the noises, resampled alike
    for every network and closed form; those of FROM_CALIBRATIONS over the calibration
    trajectories."""
    first = next(iter(calibrations.values()))["bbELS"]
    paths, unit = first.agreements.shape[-1], "calibration trajectories"
    found = {
        "shrinks": partial(shrink_margin, calibrations, roles.original),
        "conv_smaller": partial(smaller_margin, calibrations, roles.attention_pairs),
    }
    found = {key: intervals.bootstrap_indices(f, paths, unit) for key, f in found.items()}
    computed = {}  # every key's bootstrap draws the same resamples: all margins once per draw

    def margins(indices):
        drawn = (indices.shape, indices.tobytes())
        if drawn not in computed:
            computed[drawn] = prediction_margins(corr, calibrations, roles, indices)
        return computed[drawn]

    decide = lambda key: lambda i: margins(i)[key]
    return {
        key: found[key] if key in found else intervals.bootstrap_indices(decide(key), corr.n)
        for key in PREDICTIONS
    }


def margins_by_seed(corr: Correlations, calibrations: dict, roles: Roles) -> pd.DataFrame:
    """prediction_margins measured on each seed's noises alone (one column per seed)."""
    return pd.DataFrame(
        {
            seed: prediction_margins(corr, calibrations, roles, block)
            for seed, block in corr.seeds.items()
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


def peers_over_machines(corr: Correlations, trained, indices=slice(None)):
    """How far the better machine stays below the other networks, at worst over `trained`."""
    m = lambda name, column: corr.median(name, column, indices)
    gaps = [m(n, corr.PEERS) - np.maximum(m(n, "LS"), m(n, "bbELS")) for n in trained]
    return np.min(gaps, axis=0)


# each column's range over chapter 2's U-Nets and ResNet, glued as (its minimum, its maximum)
CH2_RANGES = {
    "bbELS": ("r2_bbels_ch2_min", "r2_bbels_ch2_max"),
    "LS": ("r2_ls_ch2_min", "r2_ls_ch2_max"),
    "Gaussian": ("r2_gaussian_ch2_min", "r2_gaussian_ch2_max"),
    "D*": ("r2_dstar_ch2_min", "r2_dstar_ch2_max"),
    "other networks": ("r2_peers_ch2_min", "r2_peers_ch2_max"),
}


def glue_table(
    table: pd.DataFrame, rp: pd.DataFrame, thresholds, corr: Correlations, roles: Roles
) -> dict:
    """The r^2, r and RP numbers the text quotes: ranges over chapter 2's U-Nets and ResNet
    (`_ch2_`), single networks' values with their intervals, how far the better machine stays
    below the peers, and which network the peers agree with least and bbELS predicts worst."""
    medians = estimates(table)
    unet, (smallest, largest) = roles.standard, roles.ends
    (conv, _), (conv_twin, _) = roles.attention_pairs
    glued = {"rp_threshold_unet": thresholds[unet], "rp_fpr_percent": 1}
    for column, (low, high) in CH2_RANGES.items():
        values = medians.loc[list(roles.unets_and_resnet), column]
        glued |= {low: values.min(), high: values.max()}
    cells = {
        "r2_bbels_unet": table.loc[unet, "bbELS"],
        "r2_ls_unet": table.loc[unet, "LS"],
        "r2_bbels_dit": table.loc[roles.attention, "bbELS"],
        "r2_bbels_resnet": table.loc[roles.resnet, "bbELS"],
        "r2_ls_resnet": table.loc[roles.resnet, "LS"],
        "r2_peers_resnet": table.loc[roles.resnet, "other networks"],
        "r2_dstar_smallest": table.loc[smallest, "D*"],
        "r2_ls_smallest": table.loc[smallest, "LS"],
        "r2_dstar_largest": table.loc[largest, "D*"],
        "r2_bbels_largest": table.loc[largest, "bbELS"],
        "r2_bbels_conv": table.loc[conv, "bbELS"],
        "r2_ls_conv": table.loc[conv, "LS"],
        "r2_bbels_conv_twin": table.loc[conv_twin, "bbELS"],
        "r2_gaussian_conv": table.loc[conv, "Gaussian"],
        "r2_dstar_conv": table.loc[conv, "D*"],
        "r_bbels_conv": corr.interval(conv, "bbELS", squared=False),
        "r_bbels_unet": corr.interval(unet, "bbELS", squared=False),
        "r_bbels_dit": corr.interval(roles.attention, "bbELS", squared=False),
        "rp_bbels_unet": rp.loc[unet, "bbELS"],
        "rp_ls_unet": rp.loc[unet, "LS"],
        "rp_gaussian_unet": rp.loc[unet, "Gaussian"],
        "r2_twin": corr.interval(unet, roles.twin),
        "r2_twin_conv": corr.interval(conv, conv_twin),
    }
    trained = [*roles.unets_and_resnet, roles.attention, conv, conv_twin]
    gap = intervals.bootstrap_indices(partial(peers_over_machines, corr, trained), corr.n)
    resnet = lambda i: corr.median(roles.resnet, "bbELS", i) - corr.median(roles.resnet, "LS", i)
    cells |= {
        "peers_over_machines_min": gap,
        "bbels_over_ls_resnet": intervals.bootstrap_indices(resnet, corr.n),
    }
    for name, interval in cells.items():
        glued |= with_interval(name, interval)
    return glued | {
        "least_agreed": medians.loc[trained, "other networks"].idxmin(),
        "worst_predicted": medians.loc[trained, "bbELS"].idxmin(),
    }


def glue_schedules(schedules: dict, roles: Roles, sizes) -> dict:
    """What the text says of bbELS's calibrated sizes: at how many steps it takes the whole
    image, and a wide patch (wider than the image's side, short of the whole image: bbELS
    is then LS), for the standard U-Net and its convolution-only twin; the smallest size any
    network reaches, the ResNet's first size and its largest after, and the mean sizes of
    prediction 9."""
    (conv, unet), _ = roles.attention_pairs
    whole = lambda name: sum(k == sizes[-1] for k in schedules[name]["bbELS"].values())
    mean = lambda name: np.mean(list(schedules[name]["bbELS"].values()))
    resnet = list(schedules[roles.resnet]["bbELS"].values())
    side = (sizes[-1] + 1) // 2  # the image's: the whole-image size is 2 side - 1
    wide = lambda name: sum(side < k < sizes[-1] for k in schedules[name]["bbELS"].values())
    return {
        "wide_steps_unet": wide(unet),
        "wide_steps_conv": wide(conv),
        "whole_steps_unet": whole(unet),
        "whole_steps_conv": whole(conv),
        "k_reached_min": min(min(s[m].values()) for s in schedules.values() for m in MACHINES),
        "k_resnet_first": resnet[0],
        "k_resnet_later_max": max(resnet[1:]),
        "k_mean_unet": mean(unet),
        "k_mean_conv": mean(conv),
    }


def schedule_map(schedules: dict, sizes):
    """The calibrated patch sizes as maps, one per machine: one row per network, one column per
    step, the size read off the colour bar (a number in each cell would be too small to read)."""
    frames = {m: pd.DataFrame({n: s[m] for n, s in schedules.items()}).T for m in MACHINES}
    rows = len(next(iter(frames.values())))
    fig, axes = plt.subplots(
        len(frames), 1, figsize=(FULL_WIDTH, 2 * (0.3 * rows + 0.6)), sharex=True
    )
    colours = plt.get_cmap("viridis", len(sizes))  # one colour per size
    for ax, (machine, frame) in zip(axes, frames.items()):
        codes = frame.map(list(sizes).index).to_numpy()
        image = ax.imshow(codes, cmap=colours, aspect="auto", vmin=-0.5, vmax=len(sizes) - 0.5)
        ax.set(yticks=range(len(frame)), yticklabels=frame.index, title=machine)
    axes[-1].set_xticks(range(len(frame.columns)), frame.columns, rotation=90)
    axes[-1].set_xlabel("DDIM step t")
    cbar = fig.colorbar(image, ax=axes, ticks=range(len(sizes)))
    cbar.ax.set_yticklabels(sizes)
    cbar.set_label("patch size k")
    return fig


def agreement_map(tables: dict[str, pd.DataFrame]):
    """Calibrations' agreements, one panel each (titled by its key): one row per patch size, one
    column per step."""
    fig, axes = plt.subplots(len(tables), 1, figsize=(FULL_WIDTH, 3.2 * len(tables)), sharex=True)
    for ax, (title, scores) in zip(np.atleast_1d(axes), tables.items()):
        image = ax.imshow(scores.T.to_numpy(), cmap="magma", aspect="auto", vmin=0, vmax=1)
        shown = range(0, len(scores.columns), 2)
        ax.set(yticks=shown, yticklabels=scores.columns[::2], ylabel="patch size k", title=title)
    ax.set_xticks(range(len(scores)), scores.index, rotation=90)
    ax.set_xlabel("DDIM step t")
    fig.colorbar(image, ax=axes, label="median centred cosine")
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
    network, with the chapter's count marked."""
    rows = search_rows(study)
    fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH, 3.4), sharey=True)
    for ax, machine in zip(axes, ("bbELS", "LS")):
        for network, part in rows[rows["machine"] == machine].groupby("network"):
            part = part.sort_values("searched")
            ax.plot(part["searched"], part["r2_median"], marker="o", label=network)
        if search.machines:
            ax.axvline(search.machines, ls="--", color="0.5")
        counts = sorted(rows.loc[rows["machine"] == machine, "searched"].unique())
        ax.set(xscale="log", xlabel="training images searched", title=machine)
        ax.set_xticks(counts, [f"{n:,}" for n in counts])
        ax.xaxis.set_minor_locator(NullLocator())
    axes[0].set_ylabel("median $r^2$ with the network")
    shared_legend(fig, axes, columns=3)
    return fig


def study_glue(study: dict, search: Search) -> dict:
    """What the study says of the chapter's counts: the largest r^2 gained by searching the most
    images measured, per machine, and the largest change from calibrating with more images."""
    rows, at = pd.DataFrame(study["rows"]), search_rows(study)
    glued = {"study_noises": len(study["seeds"]) * study["noises_per_seed"]}
    names = {
        "bbELS": ("study_bbels_gain_max", "study_bbels_gain_min", "study_bbels_most"),
        "LS": ("study_ls_gain_max", "study_ls_gain_min", "study_ls_most"),
    }
    for machine, (gain_max, gain_min, most_searched) in names.items():
        mine = at[at["machine"] == machine]
        most = mine[mine["searched"] == mine["searched"].max()].set_index("network")["r2_median"]
        here = mine[mine["searched"] == search.machines].set_index("network")["r2_median"]
        glued |= {
            gain_max: (most - here).max(),
            gain_min: (most - here).min(),
            most_searched: int(mine["searched"].max()),
        }
    calibrated = rows[rows["searched"] == search.machines]
    spread = calibrated.groupby(["network", "machine"])["r2_median"].agg(
        lambda r: r.max() - r.min()
    )
    stable = pd.DataFrame(study["stability"])
    ends = {  # (images, trajectories) -> the names of (same size at most, agreement lost at most)
        (search.calibration, stable["trajectories"].min()): (
            "study_same_max_chapter",
            "study_lost_max_chapter",
        ),
        (stable["images"].max(), stable["trajectories"].max()): (
            "study_same_max_most",
            "study_lost_max_most",
        ),
    }
    for (images, paths), (same, lost) in ends.items():
        rows = stable[(stable["images"] == images) & (stable["trajectories"] == paths)]
        glued |= {same: rows["same_size"].max(), lost: rows["agreement_lost"].max()}
    return glued | {
        "study_calibration_spread_max": spread.max(),
        "study_calibration_most": int(calibrated["calibration"].max()),
        "study_stability_images_most": int(stable["images"].max()),
        "study_stability_paths_most": int(stable["trajectories"].max()),
    }


def study_stability(study: dict) -> pd.DataFrame:
    """The study's pairs of calibrations on different draws, by images searched and trajectories:
    over its networks and machines, the share of steps where both pick the same size (lowest and
    highest) and the most median agreement the second draw's sizes lose."""
    rows = pd.DataFrame(study["stability"]).groupby(["images", "trajectories"], sort=False)
    return pd.DataFrame(
        {
            "same size, lowest": rows["same_size"].min(),
            "same size, highest": rows["same_size"].max(),
            "agreement lost, at worst": rows["agreement_lost"].max(),
        }
    ).rename_axis(["images searched", "trajectories"])
