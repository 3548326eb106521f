"""Image grids for the book's figures, the marks of predicted steps on its curves, and its other
recurring panels (similarity histograms, score curves, pair matrices)."""

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from difflab.core import intervals

# The book's one plotting style: every text of a figure at MIN_FONT_PT or more. A figure is drawn at
# DPI dots per inch and shown at most COLUMN_PX wide (the book's column at a 1440-pixel window), so
# its smallest text reads at no less than 9 pt (12 CSS pixels) while it is at most
# widest_figure_px() wide.
MIN_FONT_PT = 10
DPI = 100
COLUMN_PX = 774
STYLE = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "figure.titlesize": 12,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.title_fontsize": MIN_FONT_PT,
    "mathtext.fontset": "dejavusans",
}


def book_style() -> None:
    """Use the book's plotting style (STYLE) from here on: each chapter's first cell calls it."""
    plt.rcParams.update(STYLE)


def widest_figure_px(smallest_px: float = 12.0) -> int:
    """The widest figure (in its own pixels) whose MIN_FONT_PT text still reads at `smallest_px`
    CSS pixels once the page scales it into its column (COLUMN_PX)."""
    return int(COLUMN_PX * MIN_FONT_PT * DPI / 72 / smallest_px)


# The width the book's figures are drawn at, at most: widest_figure_px() less room for the labels
# that a tight bounding box adds around the axes.
FULL_WIDTH = 8.2
LABELS_WIDTH = 1.5  # a comparison grid's row names


def _to_display(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) in [-1, 1] -> (N, H, W, C) in [0, 1] for imshow."""
    return ((images.detach().cpu().float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1)


def _show(ax, image: torch.Tensor) -> None:
    ax.imshow(image.squeeze(-1), cmap="gray" if image.shape[-1] == 1 else None, vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])


def image_grid(images: torch.Tensor, ncols: int = 8, title: str | None = None, scale: float = 1.0):
    """A grid of images, row by row."""
    nrows = -(-len(images) // ncols)
    scale = min(scale, FULL_WIDTH / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(scale * ncols, scale * nrows), squeeze=False)
    for ax, image in zip(axes.flat, _to_display(images)):
        _show(ax, image)
    for ax in axes.flat[len(images) :]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def comparison_grid(
    rows: dict[str, torch.Tensor],
    ncols: int = 8,
    scale: float = 1.0,
    titles: list[str] | None = None,
):
    """One row per model (or sampler), one column per noise: same column, same starting noise.
    `titles` labels the columns (the steps, when a row is one trajectory). At most FULL_WIDTH wide:
    the images shrink to fit."""
    scale = min(scale, (FULL_WIDTH - LABELS_WIDTH) / ncols)
    fig, axes = plt.subplots(
        len(rows), ncols, figsize=(scale * ncols + LABELS_WIDTH, scale * len(rows)), squeeze=False
    )
    for ax_row, (name, images) in zip(axes, rows.items()):
        for ax, image in zip(ax_row, _to_display(images[:ncols])):
            _show(ax, image)
        ax_row[0].set_ylabel(name, rotation=0, ha="right", va="center")
    for ax, title in zip(axes[0], titles or []):
        ax.set_title(title)
    fig.tight_layout()
    return fig


PREDICTION_STYLES = ("--", ":", "-")


def mark_steps(ax, steps: dict, color: str = "tab:red") -> None:
    """Vertical lines at predicted steps, one line style each, labelled with their name and step."""
    for (name, step), style in zip(steps.items(), PREDICTION_STYLES):
        ax.axvline(step, color=color, ls=style, label=f"{name}: {step}")


THRESHOLD_STYLES = ({"color": "k", "ls": "--"}, {"color": "tab:red", "ls": ":"})


def similarity_histogram(
    ax,
    shuffled,
    same: dict,
    thresholds: dict,
    low: float = -0.4,
    xlabel: str = "centred pixel cosine similarity",
) -> None:
    """The book's picture of reproducibility: the similarities of same-noise pairs (one outline per
    entry of `same`, label: values) over those of shuffled pairs (grey), with a vertical line at each
    threshold (label: value). Bins of 0.01 from `low` to 1."""
    bins = np.linspace(low, 1, round((1 - low) * 100) + 1)
    ax.hist(
        np.asarray(shuffled), bins, density=True, alpha=0.6, color="grey", label="shuffled pairs"
    )
    for label, values in same.items():
        ax.hist(np.asarray(values), bins, density=True, histtype="step", lw=2, label=label)
    for (label, value), style in zip(thresholds.items(), itertools.cycle(THRESHOLD_STYLES)):
        ax.axvline(value, label=label, **style)
    ax.set(xlabel=xlabel, ylabel="density")
    ax.legend()


def pair_matrix(names: list[str], values: dict) -> pd.DataFrame:
    """The symmetric matrix of a pair score (mean over seeds), ones on the diagonal."""
    matrix = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for (a, b), v in values.items():
        matrix.loc[a, b] = matrix.loc[b, a] = np.mean(v)
    return matrix


def pair_heatmaps(axes, names: list[str], panels: dict[str, dict]) -> None:
    """One annotated matrix of a pair score per axis (panels: title -> the score of each pair,
    one value per seed, as metrics.pairwise_scores gives it), mean over seeds, 0 to 1. The
    panels side by side share the first one's row names."""
    for i, (ax, (title, values)) in enumerate(zip(axes, panels.items())):
        sns.heatmap(
            pair_matrix(names, values),
            annot=True,
            annot_kws={"size": MIN_FONT_PT},
            fmt=".2f",
            vmin=0,
            vmax=1,
            cmap="viridis",
            ax=ax,
            cbar=False,
            square=True,
            yticklabels=names if i == 0 else False,
        )
        ax.set_title(title)


def score_panel(
    ax, summary, scores: dict, title: str, shaded: dict | None = None, counted=None
) -> None:
    """Scores against training-set size (log2 axis): each score's mean over seeds with, shaded, its
    95% interval where `counted(score)` gives the noises of all seeds the mean is a share of
    (Wilson's), else its range over seeds (`summary.loc[score]` has columns mean, min, max by size;
    `scores` maps a score to its line style, whose `label`, if any, names it in the legend instead
    of the score); and stretches of sizes shaded by colour (`shaded`: colour -> sizes)."""
    for score, given in scores.items():
        style = {key: value for key, value in given.items() if key != "label"}
        rows = summary.loc[score]
        ax.plot(rows.index, rows["mean"], marker="o", label=given.get("label", score), **style)
        if counted:
            cells = [intervals.proportion_of(share, counted(score)) for share in rows["mean"]]
            low, high = [c.low for c in cells], [c.high for c in cells]
        else:
            low, high = rows["min"], rows["max"]
        ax.fill_between(rows.index, low, high, alpha=0.2, **style)
    for color, sizes in (shaded or {}).items():
        if sizes:
            ax.axvspan(sizes[0] / 1.5, sizes[-1] * 1.5, color=color, alpha=0.07)
    ax.set_xscale("log", base=2)
    ax.set(ylim=(-0.02, 1.02), xlabel="training images n", title=title)
    ax.legend()


def per_step(
    ax,
    lines,
    critical: dict,
    ylabel: str,
    xlabel: str = "DDIM step t",
    bands: dict | None = None,
    **style,
) -> dict:
    """Curves over the sampler's steps, t falling to the right, with the band between chapter 4's
    predicted critical steps shaded: `lines` holds (label, t, values), one colour per label (labelled
    once, so several seeds share it), and `bands` each label's 95% interval, (low, high) along its
    t, shaded in its colour. Returns each label's colour."""
    colours = {}
    for label, t, values in lines:
        first = label not in colours
        colours.setdefault(label, f"C{len(colours)}")
        ax.plot(t, values, color=colours[label], label=label if first else None, **style)
        if first and bands and label in bands:
            ax.fill_between(t, *bands[label], color=colours[label], alpha=0.2, lw=0)
    ax.axvspan(min(critical.values()), max(critical.values()), color="0.85")
    ax.invert_xaxis()
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    return colours


def paper_curves(ax, curves: dict, title: str) -> None:
    """A paper's curves read off its figures (name: (sizes, values)), dashed: RP as squares, GL as
    triangles, against the training-set size on a log2 axis."""
    for name, (n, values) in curves.items():
        marker = "s" if name.startswith("RP") else "^"
        ax.plot(n, values, marker=marker, ls="--", label=f"paper: {name}")
    ax.set_xscale("log", base=2)
    ax.legend()
    ax.set(xlabel="training images n", ylabel="RP / GL", title=title)


def log_ticks(axis, ticks) -> None:
    """A log-scaled axis (ax.xaxis or ax.yaxis) labelled at `ticks` in plain numbers (1,000), with
    no minor labels: matplotlib's own, 3x10^2 and the like, run into each other."""
    axis.axes.set(**{f"{axis.axis_name}scale": "log"})
    axis.set_ticks(ticks, [f"{tick:,}" for tick in ticks])
    axis.set_minor_locator(plt.NullLocator())


def shared_legend(fig, axes, columns: int = 4) -> None:
    """One legend for all the panels of `fig` (each label once, in the order first drawn), below
    them, in place of each panel's own."""
    entries = {}
    for ax in np.ravel(axes):
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.legend(
        entries.values(),
        entries.keys(),
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(columns, len(entries)),
        frameon=False,
    )
