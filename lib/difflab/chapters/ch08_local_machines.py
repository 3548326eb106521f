"""Chapter 8: why networks agree. The local machines of difflab.core.local, their patch size
calibrated against each network along its own trajectory, and how well each closed form predicts
each network's images from the same noises (the paper's r^2 and the book's RP)."""

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from difflab.book.profiles import Profile
from difflab.book.sample_cache import sample
from difflab.book.zoo import get_denoiser, memorization_sweep, reproducibility_models
from difflab.core import metrics
from difflab.core.data import load_images
from difflab.core.denoisers import Denoiser, EmpiricalDenoiser, GaussianDenoiser
from difflab.core.local import (
    BorderedLocalScoreMachine,
    LocalScoreMachine,
    best_patch_sizes,
    patch_size_scores,
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


@torch.no_grad()
def calibrate(
    network: Denoiser,
    train: torch.Tensor,
    noise: torch.Tensor,
    steps: int,
    candidates: int | None,
    sizes,
) -> pd.DataFrame:
    """Along the network's own DDIM trajectories from `noise`, how well bbELS with each patch size
    agrees with the network (rows: steps t, columns: sizes; the median centred cosine)."""
    _, path = sample(network, noise, "ddim", steps, return_trajectory=True)
    machine = BorderedLocalScoreMachine(train, sizes[0], candidates=candidates).to(noise.device)
    return pd.DataFrame(patch_size_scores(machine, path, sizes)).T.rename_axis("t")


def schedule(scores: pd.DataFrame) -> dict[int, int]:
    """The calibrated patch size at each step (best_patch_sizes of a `calibrate` frame)."""
    return best_patch_sizes({t: row.to_dict() for t, row in scores.iterrows()})


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


def median_r_squared(a: dict, b: dict) -> float:
    """The median r^2 of a[seed] with b[seed] over every noise of every seed of b."""
    return torch.cat([metrics.r_squared(a[seed], b[seed]) for seed in b]).median().item()


def r_squared_table(
    networks: dict[str, dict], predictors: dict[str, dict[str, dict]]
) -> pd.DataFrame:
    """The median r^2 of each predictor's images with each network's (rows: networks; columns:
    predictors): networks[name][seed] are a network's images, predictors[name][predictor][seed]
    the images that predict them."""
    return pd.DataFrame(
        {
            name: {
                p: median_r_squared(images, networks[name])
                for p, images in predictors[name].items()
            }
            for name in networks
        }
    ).T


def peer_r_squared(networks: dict[str, dict], peers: dict[str, list[str]]) -> pd.Series:
    """How well the networks predict each other: for each network, the median over its peers of
    the median r^2 of their images with its own."""
    return pd.Series(
        {
            name: float(np.median([median_r_squared(networks[p], networks[name]) for p in others]))
            for name, others in peers.items()
        }
    )


def one_seed(images: dict, seed) -> dict:
    """The images of one seed, nested as before: {name: {seed: images}} or deeper."""
    if seed in images:
        return {seed: images[seed]}
    return {name: one_seed(inner, seed) for name, inner in images.items()}


def rp_table(
    networks: dict[str, dict], predictors: dict[str, dict[str, dict]], seeds, rate: float = 0.01
) -> tuple[pd.DataFrame, pd.Series]:
    """The book's RP of each predictor with each network, at each network's threshold: the
    similarity that a share `rate` of the shuffled pairs (different noises) of all its predictors
    exceed. Per network, since a memorizing network's few images make its null far higher."""
    rp, thresholds = {}, {}
    for name, images in networks.items():
        same, null = {}, []
        for predictor, predicted in predictors[name].items():
            pairs = [(predicted[s], images[s]) for s in seeds]
            same[predictor] = torch.cat([metrics.pair_similarity(a, b) for a, b in pairs])
            null += [metrics.shuffled_similarity(a, b, s) for s, (a, b) in zip(seeds, pairs)]
        thresholds[name] = metrics.null_threshold(torch.cat(null), rate)
        rp[name] = {p: (v > thresholds[name]).double().mean().item() for p, v in same.items()}
    return pd.DataFrame(rp).T, pd.Series(thresholds)


def locality(sizes: dict[int, int]) -> tuple[float, float]:
    """The mean calibrated patch size over the first third of the steps and over the last third."""
    values = list(sizes.values())
    third = len(values) // 3
    return float(np.mean(values[:third])), float(np.mean(values[-third:]))


PREDICTIONS = {
    "shrinks": "1. the patch shrinks as the noise falls",
    "over_gaussian": "2. bbELS predicts better than the Gaussian",
    "over_dstar": "2. bbELS predicts better than D*",
    "over_ls": "3. bbELS predicts better than LS",
    "dit_below": "4. bbELS predicts the DiT worst",
    "dstar_smallest": "5. D* beats bbELS at the smallest set",
    "bbels_largest": "5. bbELS beats D* at the largest set",
    "at_least_08": "6. bbELS's r^2 with the U-Net S is at least 0.8",
    "below_twin": "6. ... and below the U-Net S's with its twin",
}


def prediction_margins(
    table: pd.DataFrame, schedules: dict, twin: float, convolutional, attention: str, ends
) -> dict[str, float]:
    """The difference that decides each of the chapter's predictions (PREDICTIONS; positive: it
    held), from an r^2 table (r_squared_table), the calibrated sizes, the standard U-Net's r^2 with
    its seed twin (`twin`), the names of the convolutional networks (the standard U-Net first) and
    of the attention one, and chapter 3's sweep at its (smallest, largest) training set."""
    conv = table.loc[list(convolutional)]
    smallest, largest = (table.loc[name] for name in ends)
    standard = table.loc[convolutional[0], "bbELS"]
    return {
        "shrinks": min(first - last for first, last in map(locality, schedules.values())),
        "over_gaussian": (conv["bbELS"] - conv["Gaussian"]).min(),
        "over_dstar": (conv["bbELS"] - conv["D*"]).min(),
        "over_ls": (conv["bbELS"] - conv["LS"]).min(),
        "dit_below": conv["bbELS"].min() - table.loc[attention, "bbELS"],
        "dstar_smallest": smallest["D*"] - smallest["bbELS"],
        "bbels_largest": largest["bbELS"] - largest["D*"],
        "at_least_08": standard - 0.8,
        "below_twin": twin - standard,
    }


def margins_by_seed(
    networks: dict,
    predictors: dict,
    schedules: dict,
    seeds,
    twin: str,
    convolutional,
    attention,
    ends,
) -> pd.DataFrame:
    """prediction_margins measured on each seed's noises alone (one column per seed); `twin`
    names the standard U-Net's seed twin among `networks`."""
    by_seed = {}
    for seed in seeds:
        nets = one_seed(networks, seed)
        twin_r2 = median_r_squared(nets[twin], nets[convolutional[0]])
        table = r_squared_table(nets, one_seed(predictors, seed))
        by_seed[seed] = prediction_margins(
            table, schedules, twin_r2, convolutional, attention, ends
        )
    return pd.DataFrame(by_seed)


def checks(margins: dict, by_seed: pd.DataFrame) -> pd.DataFrame:
    """The predictions' table: each deciding difference on all noises and at the worst seed."""
    frame = pd.DataFrame({"all noises": margins, "worst seed": by_seed.min(axis=1)})
    frame["held"] = frame["all noises"] > 0
    return frame.rename(index=PREDICTIONS)


def glue_margins(margins: dict, by_seed: pd.DataFrame) -> dict:
    """margin_KEY (all noises) and margin_KEY_seed_min (the worst seed) of each prediction."""
    glued = {}
    for key, value in margins.items():
        glued |= {f"margin_{key}": value, f"margin_{key}_seed_min": by_seed.loc[key].min()}
    return glued


def glue_table(table, rp, thresholds, twin: float, convolutional, attention: str, ends) -> dict:
    """The r^2 and RP numbers the text quotes: ranges over the convolutional networks, single
    networks' values, how far the better machine stays below the peers, and which network the
    peers agree with least and bbELS predicts worst."""
    conv, unet = table.loc[list(convolutional)], convolutional[0]
    ranges = {"bbELS": "bbels", "LS": "ls", "Gaussian": "gaussian", "D*": "dstar",
              "other networks": "peers"}  # fmt: skip
    glued = {"r2_twin": twin, "rp_threshold_unet": thresholds[unet], "rp_fpr_percent": 1}
    for column, short in ranges.items():
        glued |= {
            f"r2_{short}_conv_min": conv[column].min(),
            f"r2_{short}_conv_max": conv[column].max(),
        }
    glued |= {
        "r2_bbels_unet": table.loc[unet, "bbELS"],
        "r2_ls_unet": table.loc[unet, "LS"],
        "r2_bbels_dit": table.loc[attention, "bbELS"],
        "r2_bbels_resnet": table.loc["ResNet", "bbELS"],
        "r2_peers_resnet": table.loc["ResNet", "other networks"],
        "r2_dstar_smallest": table.loc[ends[0], "D*"],
        "r2_dstar_largest": table.loc[ends[1], "D*"],
        "r2_bbels_largest": table.loc[ends[1], "bbELS"],
        "rp_bbels_unet": rp.loc[unet, "bbELS"],
        "rp_ls_unet": rp.loc[unet, "LS"],
        "rp_gaussian_unet": rp.loc[unet, "Gaussian"],
    }
    trained = [*convolutional, attention]
    machines = table.loc[trained, ["LS", "bbELS"]].max(axis=1)
    return glued | {
        "peers_over_machines_min": (table.loc[trained, "other networks"] - machines).min(),
        "least_agreed": table.loc[trained, "other networks"].idxmin(),
        "worst_predicted": table.loc[trained, "bbELS"].idxmin(),
    }


def schedule_map(schedules: dict, sizes):
    """The calibrated patch sizes as a map: one row per network, one column per step."""
    frame = pd.DataFrame(schedules).T
    fig, ax = plt.subplots(figsize=(10, 0.4 * len(frame) + 1.2))
    image = ax.imshow(np.log(frame.to_numpy()), cmap="viridis", aspect="auto")
    for (row, col), k in np.ndenumerate(frame.to_numpy()):
        ax.text(col, row, k, ha="center", va="center", fontsize=7, color="white")
    ax.set(yticks=range(len(frame)), yticklabels=frame.index, xlabel="DDIM step t")
    ax.set_xticks(range(len(frame.columns)), frame.columns, fontsize=7, rotation=90)
    cbar = fig.colorbar(image, ax=ax, ticks=np.log(sizes))
    cbar.ax.set_yticklabels(sizes)
    cbar.set_label("patch size k")
    return fig


def agreement_map(scores: pd.DataFrame):
    """A calibration's agreements: one row per patch size, one column per step."""
    fig, ax = plt.subplots(figsize=(10, 3))
    image = ax.imshow(scores.T.to_numpy(), cmap="magma", aspect="auto", vmin=0, vmax=1)
    ax.set(yticks=range(len(scores.columns)), yticklabels=scores.columns)
    ax.set(xlabel="DDIM step t", ylabel="patch size k")
    ax.set_xticks(range(len(scores)), scores.index, fontsize=7, rotation=90)
    fig.colorbar(image, ax=ax, label="median centred cosine")
    return fig


def r_squared_plot(table: pd.DataFrame):
    """Each predictor's median r^2 with each network (markers) and the peers' (bars)."""
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(table) + 1))
    rows = np.arange(len(table))
    ax.barh(rows, table["other networks"], color="0.85", label="other networks")
    for column, marker in zip(CLOSED_FORMS, "osD^"):
        ax.scatter(table[column], rows, marker=marker, label=column, zorder=3)
    ax.set(yticks=rows, yticklabels=table.index, xlabel="median r^2", xlim=(0.4, 1.0))
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="lower left")
    return fig


def search_rows(study: dict) -> pd.DataFrame:
    """The study's rows at the chapter's calibration count."""
    rows = pd.DataFrame(study["rows"])
    return rows[rows["calibration"] == study["chapter"]["calibration"]]


def search_plot(study: dict, search: Search):
    """The study: each machine's median r^2 against the images it searches, one line per
    network, with the chapter's counts marked."""
    rows = search_rows(study)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
    for ax, (machine, count) in zip(axes, [("bbELS", search.bbels), ("LS", search.ls)]):
        for network, part in rows[rows["machine"] == machine].groupby("network"):
            part = part.sort_values("searched")
            ax.plot(part["searched"], part["r2_median"], marker="o", label=network)
        if count:
            ax.axvline(count, ls="--", color="0.5")
        ax.set(xscale="log", xlabel="training images searched", title=machine)
    axes[0].set_ylabel("median r^2 with the network")
    axes[0].legend(fontsize=8)
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
