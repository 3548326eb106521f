"""Chapter 6: reproducibility beyond unconditional generation, in three experiments.

Class-conditional models, beyond what the label explains. Two conditional models given the same
label draw the same kind of garment whatever the noise, so agreement between them is judged against
pairs with the **same label and different noises**: the threshold is the similarity that a share
`false_positive_rate` of those exceed, and retrieval looks for a sample's same-noise partner among
the partner model's images of the same label only.

Inverse problems with an unconditional denoiser: noiseless linear measurements (inpainting,
down-sampling) solved by projection (DDNM) and by deterministic DPS, the operators and solvers of
difflab.core.inverse, and the solutions of two models from the same noises compared on what the
measurement leaves open.

Fine-tuning: two parents fine-tuned on one class, against each other and
against a model trained on that class from scratch, which shares no weights with them (the control
against agreement inherited from the parents).
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from difflab.book.plotting import FULL_WIDTH, shared_legend
from difflab.book.sample_cache import sample
from difflab.book.tables import decided, error_bars, predictions_table
from difflab.book.trained import get_snapshot
from difflab.core import intervals, metrics
from difflab.core.denoisers import Denoiser
from difflab.core.inverse import Operator, dps, project, residual
from difflab.core.models import CLASSES
from difflab.training.loop import TrainConfig


def balanced_labels(n: int) -> torch.Tensor:
    """Labels 0, 1, ..., CLASSES - 1, 0, 1, ...: every class as often as the others."""
    if not isinstance(n, int) or n < 2 * CLASSES:
        raise ValueError(
            f"n={n!r} is not allowed; allowed: an integer >= {2 * CLASSES} (two noises per class)"
        )
    return torch.arange(n) % CLASSES


def same_label_derangement(labels: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A permutation that sends every index to another index with the same label."""
    counts = torch.bincount(labels)
    if (counts == 1).any():
        raise ValueError(
            f"labels {torch.nonzero(counts == 1).flatten().tolist()} occur once; allowed: "
            "every label that occurs at least twice (it needs a partner with other noise)"
        )
    partner = torch.empty_like(labels)
    for label in labels.unique():
        members = torch.nonzero(labels == label).flatten()
        partner[members] = members[metrics.derangement(len(members), seed + int(label))]
    return partner


def within_class_hits(a: torch.Tensor, b: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """For each i, whether b_i is the most similar to a_i of the b with a_i's label."""
    similarity = metrics.similarity_matrix(a, b)
    similarity[labels[:, None] != labels[None, :]] = -float("inf")
    return (similarity.argmax(1) == torch.arange(len(a))).numpy()


def within_class_retrieval(a: torch.Tensor, b: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of i for which b_i is the most similar to a_i of the b with a_i's label."""
    return float(within_class_hits(a, b, labels).mean())


def label_agreement(
    a: torch.Tensor,
    b: torch.Tensor,
    labels: torch.Tensor,
    seed: int = 0,
    false_positive_rate: float = 0.01,
) -> dict[str, float]:
    """The Agreement of two models' images from the same noises and labels, same-label pairs of
    different noises as the null, and their within-class retrieval; and, noise by noise (PER_NOISE),
    the similarities, whether each passes the threshold, and whether each is retrieved."""
    same = metrics.pair_similarity(a, b)
    null = metrics.pair_similarity(a, b[same_label_derangement(labels, seed)])
    found = metrics.agreement(same, null, false_positive_rate)
    retrieved = within_class_hits(a, b, labels)
    return {
        **found._asdict(),
        "retrieval": float(retrieved.mean()),
        "similarity": same.numpy(),
        "null": null.numpy(),
        "hits": (same > found.threshold).numpy(),
        "retrieved": retrieved,
    }


def conditional_samples(
    models: dict[str, Denoiser],
    noises: dict[int, torch.Tensor],
    labels: torch.Tensor,
    guidances: tuple[float, ...],
    steps: int,
) -> dict[tuple[str, float], dict[int, torch.Tensor]]:
    """DDIM images of every model at every guidance weight from every seed's noises, one label per noise."""
    return {
        (name, w): {
            seed: sample(model, noise, "ddim", steps, labels=labels, guidance=w).cpu()
            for seed, noise in noises.items()
        }
        for name, model in models.items()
        for w in guidances
    }


def agreement_table(
    samples: dict, pairs: list[tuple[str, str]], labels: torch.Tensor
) -> pd.DataFrame:
    """label_agreement for each pair of models at each guidance weight and seed (samples: as
    conditional_samples returns them)."""
    guidances = sorted({w for _, w in samples})
    return pd.DataFrame(
        [
            {
                "pair": f"{a} vs {b}",
                "guidance": w,
                "seed": seed,
                **label_agreement(samples[a, w][seed], samples[b, w][seed], labels, seed),
            }
            for a, b in pairs
            for w in guidances
            for seed in samples[a, w]
        ]
    )


def label_accuracy(samples: dict, labels: torch.Tensor, classifier) -> pd.DataFrame:
    """The share of each model's images that the classifier assigns to the label they were drawn with."""
    return pd.DataFrame(
        [
            {
                "model": name,
                "guidance": w,
                "seed": seed,
                "accuracy": float(correct.mean()),
                "correct": correct,
            }
            for (name, w), by_seed in samples.items()
            for seed, images in by_seed.items()
            for correct in [(classifier.predict(images).argmax(1).cpu() == labels.cpu()).numpy()]
        ]
    )


def guidance_gain(accuracy: pd.DataFrame) -> float:
    """The smallest rise of label accuracy from no guidance to the strongest, over models and seeds."""
    table = accuracy.pivot_table(index=["model", "seed"], columns="guidance", values="accuracy")
    return (table[table.columns.max()] - table[0.0]).min()


def conditional_claims(
    table: pd.DataFrame, accuracy: pd.DataFrame, seed_pair: str
) -> dict[str, float]:
    """The numbers the conditional claims rest on, each the worst over seeds: RP of every pair at
    every weight; the two training runs' (`seed_pair`) RP and retrieval; the other pairs' (across
    families) RP without and with guidance; label accuracy without and with guidance, and its rise.
    Also, to explain them, the median null similarity without and with guidance and the families'
    median same-noise similarity with guidance (medians over pairs and seeds)."""
    runs, families = table[table["pair"] == seed_pair], table[table["pair"] != seed_pair]
    guided = lambda rows, on: rows[(rows["guidance"] > 0) == on]
    return {
        "class_rp_min": table["rp"].min(),
        "class_seed_rp_min": runs["rp"].min(),
        "class_seed_retrieval_min": runs["retrieval"].min(),
        "class_dit_rp_w0_min": guided(families, False)["rp"].min(),
        "class_dit_rp_w2_min": guided(families, True)["rp"].min(),
        "class_accuracy_w0_min": guided(accuracy, False)["accuracy"].min(),
        "class_accuracy_w2_min": guided(accuracy, True)["accuracy"].min(),
        "class_guidance_gain_min": guidance_gain(accuracy),
        "class_null_median_w0": guided(table, False)["null_median"].median(),
        "class_null_median_w2": guided(table, True)["null_median"].median(),
        "class_family_similarity_w2": guided(families, True)["median_similarity"].median(),
    }


SOLVERS = ("projection", "dps")


def solve(
    denoiser: Denoiser,
    operator: Operator,
    y: torch.Tensor,
    noise: torch.Tensor,
    solver: str = "projection",
    steps: int = 25,
    step_size: float = 1.0,
) -> torch.Tensor:
    """The named solver's images (difflab.core.inverse's project or dps; step_size is DPS's)."""
    if solver not in SOLVERS:
        raise ValueError(f"solver={solver!r} is unknown; allowed: {', '.join(map(repr, SOLVERS))}")
    if solver == "projection":
        return project(denoiser, operator, y, noise, steps)
    return dps(denoiser, operator, y, noise, steps, step_size)


def solution_agreement(
    first: torch.Tensor,
    second: torch.Tensor,
    second_other_noise: torch.Tensor,
    truth: torch.Tensor,
    operator: Operator,
    false_positive_rate: float = 0.01,
) -> dict[str, float]:
    """Do two models solve the same measurements alike, beyond what the measurement forces?
    Scored on what it leaves open (centred pixel cosine of operator.unseen): `first` and `second`
    from the same noises, `second_other_noise` from other noises for the same measurements, the
    null. Returns their Agreement and the median similarity of `first` to the true images, and,
    noise by noise, the similarities of the pair and of `first` to the truth and the pair's hits."""
    similarity = lambda a, b: metrics.pair_similarity(operator.unseen(a), operator.unseen(b))
    same, to_truth = similarity(first, second), similarity(first, truth)
    found = metrics.agreement(same, similarity(first, second_other_noise), false_positive_rate)
    return {
        **found._asdict(),
        "truth_median": to_truth.median().item(),
        "similarity": same.cpu().numpy(),
        "truth_similarity": to_truth.cpu().numpy(),
        "hits": (same > found.threshold).cpu().numpy(),
    }


def solve_and_compare(
    models: dict[str, Denoiser],
    operator: Operator,
    truth: torch.Tensor,
    noise: torch.Tensor,
    other_noise: torch.Tensor,
    solver: str = "projection",
    steps: int = 25,
    step_size: float = 1.0,
) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """Solve y = A(truth) with every model from `noise`, and score the first model against each
    other one (`solution_agreement`, the other one's solutions from `other_noise` as the null). Returns the
    solutions by model and one row per partner, with the first model's median and largest residual."""
    y = operator(truth)
    run = lambda model, z: solve(model, operator, y, z, solver, steps, step_size)
    (reference, first), *partners = models.items()
    images = {reference: run(first, noise)}
    errors = residual(operator, images[reference], y)
    rows = []
    for name, model in partners:
        images[name] = run(model, noise)
        rows.append(
            {
                "partner": name,
                **solution_agreement(
                    images[reference], images[name], run(model, other_noise), truth, operator
                ),
                "median residual": errors.median().item(),
                "largest residual": errors.max().item(),
                "residuals": errors.cpu().numpy(),
            }
        )
    return images, rows


def inverse_experiment(
    priors: dict[str, Denoiser],
    tasks: dict[str, Operator],
    test_images: torch.Tensor,
    noise: dict,
    seeds,
    n: int,
    steps: int,
    device: str = "cpu",
) -> tuple[dict, pd.DataFrame]:
    """Every task by every solver at every seed: seed i measures the i-th block of n test images
    and solves them from its own noises (the next seed's noises are the null). Returns the solutions
    by (task, solver, seed), and solve_and_compare's rows with the task, solver and seed."""
    solutions, rows = {}, []
    for i, seed in enumerate(seeds):
        truth = test_images[i * n : (i + 1) * n].to(device)
        other = noise[seeds[(i + 1) % len(seeds)]][:n]
        for (task, operator), solver in itertools.product(tasks.items(), SOLVERS):
            solutions[task, solver, seed], found = solve_and_compare(
                priors, operator, truth, noise[seed][:n], other, solver, steps
            )
            rows += [{"task": task, "solver": solver, "seed": seed, **row} for row in found]
    return solutions, pd.DataFrame(rows)


def inverse_claims(
    table: pd.DataFrame, seed_partner: str, family_partner: str, baseline: str
) -> dict[str, float]:
    """The numbers the inverse-problem claims rest on, each the worst over tasks and seeds (table:
    solve_and_compare's rows with task, solver and seed columns): for the projection solver the
    residual, the RP of the second training run and of another family, their margin over the
    baseline prior's RP and over their similarity to the true image; for DPS the residuals, the
    second run's null threshold and its RP in each task."""
    projection, dps = (table[table["solver"] == solver] for solver in SOLVERS)
    rp = lambda rows: rows.set_index(["task", "seed", "partner"])["rp"].unstack("partner")
    networks = projection[projection["partner"] != baseline]
    dps_rp = rp(dps)[seed_partner]
    return {
        "projection_residual_max": projection["largest residual"].max(),
        "projection_seed_rp_min": rp(projection)[seed_partner].min(),
        "projection_family_rp_min": rp(projection)[family_partner].min(),
        "projection_baseline_margin_min": (
            rp(projection)[[seed_partner, family_partner]].min(axis=1) - rp(projection)[baseline]
        ).min(),
        "projection_truth_margin_min": (
            networks["median_similarity"] - networks["truth_median"]
        ).min(),
        "dps_residual_median_min": dps["median residual"].min(),
        "dps_residual_median_max": dps["median residual"].max(),
        "dps_null_min": dps[dps["partner"] == seed_partner]["threshold"].min(),
        "dps_inpainting_seed_rp_max": dps_rp.loc["inpainting"].max(),
        "dps_downsampling_seed_rp_min": dps_rp.loc["down-sampling"].min(),
    }


def along_fine_tuning(
    images: dict[int, torch.Tensor], references: dict[str, torch.Tensor], threshold: float
) -> pd.DataFrame:
    """How a fine-tuning run's images (by fine-tuning step; step 0: the parent's) move against
    reference images from the same noises: the median same-noise similarity and the RP at
    `threshold`, one row per step and reference."""
    rows = []
    for step, run in images.items():
        for name, reference in references.items():
            similarity = metrics.pair_similarity(run, reference)
            rows.append(
                {
                    "step": step,
                    "against": name,
                    "median_similarity": similarity.median().item(),
                    "rp": (similarity > threshold).double().mean().item(),
                    "similarity": similarity.numpy(),
                }
            )
    return pd.DataFrame(rows)


def trend(table: pd.DataFrame, against: str, score: str = "median_similarity") -> float:
    """The change of a score from the parent (step 0) to the end of fine-tuning."""
    rows = table[table["against"] == against].sort_values("step")[score]
    return rows.iloc[-1] - rows.iloc[0]


def along_images(
    config: TrainConfig,
    parent_images: torch.Tensor,
    final_images: torch.Tensor,
    noise: torch.Tensor,
    steps: int,
    device: str | None = None,
) -> dict[int, torch.Tensor]:
    """A fine-tuning run's DDIM images from `noise` by fine-tuning step: its parent's (step 0, given),
    its snapshots' (sampled here) and its final model's (given): each model sampled once."""
    return {
        0: parent_images,
        **{
            k: sample(get_snapshot(config, k, device), noise, "ddim", steps).cpu()
            for k in config.snapshots
        },
        config.steps: final_images,
    }


def class_hits(images: torch.Tensor, classifier, label: int) -> np.ndarray:
    """For each image, whether the classifier assigns it to `label`."""
    return (classifier.predict(images).argmax(1) == label).cpu().numpy()


def class_hits_joined(samples: dict, names, seeds, classifier, label: int) -> dict:
    """class_hits of each named model's images (samples[name][seed]), the seeds joined in order."""
    return {
        name: np.concatenate([class_hits(samples[name][s], classifier, label) for s in seeds])
        for name in names
    }


def class_share(images: torch.Tensor, classifier, label: int) -> float:
    """The share of images that the classifier assigns to `label`."""
    return float(class_hits(images, classifier, label).mean())


def fine_tuning_runs(
    configs: dict[str, TrainConfig],
    samples: dict,
    runs: dict[str, tuple[str, str]],
    scratch: str,
    noise: dict,
    steps: int,
    threshold: float,
    device: str = "cpu",
) -> pd.DataFrame:
    """along_fine_tuning of each run (runs[run] = (its parent, the other fine-tuned run)) at every
    seed of `noise`, against its parent's, the other run's and the `scratch` model's final images
    (samples[name][seed]), with the run and the seed as columns."""
    return pd.concat(
        [
            along_fine_tuning(
                along_images(
                    configs[run], samples[parent][seed], samples[run][seed], z, steps, device
                ),
                {
                    "its parent": samples[parent][seed],
                    "the other fine-tuned model": samples[other][seed],
                    "from scratch": samples[scratch][seed],
                },
                threshold,
            ).assign(run=run, seed=seed)
            for run, (parent, other) in runs.items()
            for seed, z in noise.items()
        ]
    )


def trends(along: pd.DataFrame) -> pd.DataFrame:
    """Per run and seed of fine_tuning_runs' rows, the change (trend) of the median similarity to
    the parent and to the from-scratch model over fine-tuning."""
    return along.groupby(["run", "seed"]).apply(
        lambda t: pd.Series({a: trend(t, a) for a in ("its parent", "from scratch")})
    )


def joined(rows: pd.DataFrame, by: list[str], column: str) -> dict[tuple, np.ndarray]:
    """A per-noise column of a table (one array per row: one seed's noises), the seeds joined in
    their order, for each group of the columns `by`: {group: array}."""
    return {
        key: np.concatenate(list(group.sort_values("seed")[column]))
        for key, group in rows.groupby(by, sort=False)
    }


def pooled(rows: pd.DataFrame, by: list[str], scores: dict) -> pd.DataFrame:
    """Each group's scores over all the seeds' noises, each an Interval: scores[name] = (a
    per-noise column, the function of difflab.core.intervals that takes it: proportion for hits,
    median for similarities)."""
    frame = pd.DataFrame(
        {
            name: {key: interval(values) for key, values in joined(rows, by, column).items()}
            for name, (column, interval) in scores.items()
        }
    )
    return frame.rename_axis(by)


def pair_hits(samples: dict, pairs, seeds, threshold: float) -> dict[tuple, np.ndarray]:
    """For each pair of models, whether their images from each noise are more similar than
    `threshold`, the seeds' noises joined in order."""
    return {
        (a, b): np.concatenate(
            [
                (metrics.pair_similarity(samples[a][s], samples[b][s]) > threshold).numpy()
                for s in seeds
            ]
        )
        for a, b in pairs
    }


# What the chapter's tables show of each group of rows, over all the seeds' noises (pooled)
CLASS_SCORES = {
    "RP": ("hits", intervals.proportion),
    "retrieval": ("retrieved", intervals.proportion),
    "median similarity": ("similarity", intervals.median),
    "null median": ("null", intervals.median),
}
INVERSE_SCORES = {
    "RP": ("hits", intervals.proportion),
    "median similarity": ("similarity", intervals.median),
    "similarity to the truth": ("truth_similarity", intervals.median),
    "median residual": ("residuals", intervals.median),
}


def trend_plot(along: pd.DataFrame):
    """Along each fine-tuning run, the median same-noise similarity of its images to each reference
    over all the seeds' noises, with its 95% interval (bootstrap over the noises)."""
    scores = pooled(along, ["run", "against", "step"], {"median": ("similarity", intervals.median)})
    fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH, 3.4), sharey=True)
    for ax, (run, curves) in zip(axes, scores["median"].groupby(level="run")):
        for against, curve in curves.groupby(level="against"):
            centre, error = error_bars(curve)
            steps = curve.index.get_level_values("step")
            ax.errorbar(steps, centre, yerr=error, marker="o", capsize=3, label=against)
        ax.set(title=run, xlabel="fine-tuning step", ylabel="median similarity")
    shared_legend(fig, axes)
    return fig


PREDICTIONS = {
    "seed_pair": "1. the two runs: RP >= 0.5 and retrieval >= 0.8",
    "family_w0": "1. U-Net and DiT: RP >= 0.3 without guidance",
    "family_w2": "1. ... and with guidance",
    "accuracy": "2. guided label accuracy >= 0.9, every model",
    "guidance_gain": "2. ... and above the unguided",
    "projection_seed": "3. projection: the two runs' RP >= 0.7 / 0.85",
    "projection_family": "3. projection: U-Net and DiT RP >= 0.6",
    "projection_baseline": "3. projection: the Gaussian prior below both",
    "projection_truth": "3. projection: nearer each other than the truth",
    "dps_residual": "3. DPS: median residual 5-20%",
    "dps_inpainting": "3. DPS, inpainting: RP below 0.05",
    "tuned_pair": "4. the fine-tuned models: RP >= 0.5",
    "tuned_scratch": "4. each with the one from scratch: RP >= 0.2",
    "toward_scratch": "4. along fine-tuning: toward the one from scratch",
    "from_parent": "4. ... and away from its parent",
    "sneakers": "4. at least 90% of their samples sneakers",
}
RP_BOUNDS = {"inpainting": 0.7, "down-sampling": 0.85}  # prediction 3, the two runs' RP


@dataclass(frozen=True)
class Parts:
    """Who plays which part in the predictions: the conditional pairs (the two runs first) and
    models, the priors of the inverse problems (the second run, the DiT, the Gaussian), the
    fine-tuned models' pairs (with each other first) and runs."""

    seed_pair: str
    family_pairs: tuple[str, ...]
    conditional: tuple[str, ...]
    seed_partner: str
    family_partner: str
    baseline: str
    tuned_pairs: tuple[tuple[str, str], ...]
    runs: tuple[str, ...]


def per_noise_tables(
    class_table, accuracy, inverse_table, tuned_hits: dict, sneaker_hits: dict, along
) -> dict[str, dict]:
    """Every per-noise array the predictions read, by experiment (each experiment's arrays share
    their noises: the conditional models', the inverse problems' measurements, the fine-tuned
    models') and keyed by what it holds."""
    last = along["step"].max()
    inverse = lambda column: joined(inverse_table, ["task", "solver", "partner"], column)
    return {
        "conditional": {
            **{("hits", *k): v for k, v in joined(class_table, ["pair", "guidance"], "hits").items()},
            **{("retrieved", *k): v for k, v in joined(class_table, ["pair", "guidance"], "retrieved").items()},
            **{("correct", *k): v for k, v in joined(accuracy, ["model", "guidance"], "correct").items()},
        },
        "inverse": {
            (column, *k): v
            for column in ("hits", "similarity", "truth_similarity", "residuals")
            for k, v in inverse(column).items()
        },
        "fine-tuning": {
            **{("tuned", *pair): v for pair, v in tuned_hits.items()},
            **{("sneaker", name): v for name, v in sneaker_hits.items()},
            **{
                ("along", run, against, "end" if step == last else "start"): v
                for (run, against, step), v in joined(along, ["run", "against", "step"], "similarity").items()
                if step in (0, last)
            },
        },
    }  # fmt: skip


def margins(parts: Parts, tasks, guidances) -> dict[str, tuple[str, Callable]]:
    """Each prediction's experiment and deciding difference (positive: as predicted), a function of
    that experiment's table of per-noise arrays (per_noise_tables, or a resample of it at some
    noises): rates are means of hits, the similarities' statistics medians."""
    mean = lambda t, key: t[key].mean(-1)
    median = lambda t, key: np.median(t[key], -1)
    worst = lambda values: np.min(np.stack(list(values)), axis=0)
    w0, w2 = min(guidances), max(guidances)
    projection = lambda column, task, partner: (column, task, "projection", partner)
    networks = (parts.seed_partner, parts.family_partner)
    return {
        "seed_pair": ("conditional", lambda t: worst(
            np.minimum(mean(t, ("hits", parts.seed_pair, w)) - 0.5, mean(t, ("retrieved", parts.seed_pair, w)) - 0.8)
            for w in guidances
        )),
        "family_w0": ("conditional", lambda t: worst(mean(t, ("hits", p, w0)) - 0.3 for p in parts.family_pairs)),
        "family_w2": ("conditional", lambda t: worst(mean(t, ("hits", p, w2)) - 0.3 for p in parts.family_pairs)),
        "accuracy": ("conditional", lambda t: worst(mean(t, ("correct", m, w2)) - 0.9 for m in parts.conditional)),
        "guidance_gain": ("conditional", lambda t: worst(
            mean(t, ("correct", m, w2)) - mean(t, ("correct", m, w0)) for m in parts.conditional
        )),
        "projection_seed": ("inverse", lambda t: worst(
            mean(t, projection("hits", task, parts.seed_partner)) - RP_BOUNDS[task] for task in tasks
        )),
        "projection_family": ("inverse", lambda t: worst(
            mean(t, projection("hits", task, parts.family_partner)) - 0.6 for task in tasks
        )),
        "projection_baseline": ("inverse", lambda t: worst(
            worst(mean(t, projection("hits", task, p)) for p in networks)
            - mean(t, projection("hits", task, parts.baseline))
            for task in tasks
        )),
        "projection_truth": ("inverse", lambda t: worst(
            median(t, projection("similarity", task, p)) - median(t, projection("truth_similarity", task, p))
            for task in tasks
            for p in networks
        )),
        "dps_residual": ("inverse", lambda t: worst(
            np.minimum(r - 0.05, 0.2 - r)
            for task in tasks
            for r in [median(t, ("residuals", task, "dps", parts.seed_partner))]
        )),
        "dps_inpainting": ("inverse", lambda t: 0.05 - mean(t, ("hits", "inpainting", "dps", parts.seed_partner))),
        "tuned_pair": ("fine-tuning", lambda t: mean(t, ("tuned", *parts.tuned_pairs[0])) - 0.5),
        "tuned_scratch": ("fine-tuning", lambda t: worst(
            mean(t, ("tuned", *pair)) - 0.2 for pair in parts.tuned_pairs[1:]
        )),
        "toward_scratch": ("fine-tuning", lambda t: worst(
            median(t, ("along", run, "from scratch", "end")) - median(t, ("along", run, "from scratch", "start"))
            for run in parts.runs
        )),
        "from_parent": ("fine-tuning", lambda t: worst(
            median(t, ("along", run, "its parent", "start")) - median(t, ("along", run, "its parent", "end"))
            for run in parts.runs
        )),
        "sneakers": ("fine-tuning", lambda t: worst(mean(t, ("sneaker", run)) - 0.9 for run in parts.runs)),
    }  # fmt: skip


def margin_intervals(tables: dict, parts: Parts, tasks, guidances, n_seeds: int) -> dict:
    """Each prediction's deciding difference over all the seeds' noises of its experiment, with
    its bootstrap interval, and at each of the `n_seeds` seeds alone (tables.decided): {key:
    (interval, per-seed values)}."""
    return {
        key: decided(margin, tables[part], n_seeds)
        for key, (part, margin) in margins(parts, tasks, guidances).items()
    }


def checks(found: dict) -> pd.DataFrame:
    """The predictions' table (tables.predictions_table) from margin_intervals."""
    return predictions_table({PREDICTIONS[key]: result for key, result in found.items()})
