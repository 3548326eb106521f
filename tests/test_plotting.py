"""The chapters' shared plotting and bookkeeping helpers."""

import matplotlib.pyplot as plt
import pandas as pd
import torch

from difflab.book import glue as book
from difflab.book import plotting
from difflab.book.plotting import (
    comparison_grid,
    mark_steps,
    pair_heatmaps,
    paper_curves,
    score_panel,
    similarity_histogram,
)


def test_mark_steps_draws_one_labelled_line_per_prediction():
    fig, ax = plt.subplots()
    mark_steps(ax, {"points formula": 300, "speciation": 450})
    assert [(line.get_xdata()[0], line.get_label(), line.get_linestyle()) for line in ax.lines] == [
        (300, "points formula: 300", "--"),
        (450, "speciation: 450", ":"),
    ]
    plt.close(fig)


def test_record_all_records_each_value(monkeypatch):
    seen = []
    monkeypatch.setattr(book, "record", lambda name, value: seen.append((name, value)))
    book.record_all({"a": 1, "b": 2.5})
    assert seen == [("a", 1), ("b", 2.5)]


def test_comparison_grid_titles_its_columns():
    fig = comparison_grid(
        {"a": torch.zeros(3, 1, 4, 4), "b": torch.ones(3, 1, 4, 4)}, ncols=3, titles=["x", "y", "z"]
    )
    assert [ax.get_title() for ax in fig.axes[:3]] == ["x", "y", "z"] and fig.axes[
        3
    ].get_title() == ""
    plt.close(fig)


def test_score_panel_draws_mean_and_range_and_shades_regimes():
    summary = pd.DataFrame(
        {"mean": [0.2, 0.5], "min": [0.1, 0.4], "max": [0.3, 0.6]},
        index=pd.MultiIndex.from_product([["RP"], [16, 64]], names=["score", "images"]),
    )
    fig, ax = plt.subplots()
    score_panel(
        ax, summary, {"RP": {"color": "tab:blue"}}, "title", {"tab:red": [16], "tab:green": []}
    )
    assert [line.get_label() for line in ax.lines] == ["RP"] and list(ax.lines[0].get_ydata()) == [
        0.2,
        0.5,
    ]
    assert (
        ax.get_title() == "title" and ax.get_xscale() == "log" and len(ax.patches) == 1
    )  # one shaded stretch
    plt.close(fig)


def test_similarity_histogram_draws_the_pairs_and_the_thresholds():
    fig, ax = plt.subplots()
    g = torch.Generator().manual_seed(0)
    similarity_histogram(
        ax,
        torch.rand(100, generator=g) - 0.5,
        {"A, same noise": torch.rand(50, generator=g) / 2 + 0.5},
        {"calibrated threshold": 0.4, "paper's 0.6": 0.6},
    )
    assert ax.get_legend_handles_labels()[1] == [
        "shuffled pairs",
        "A, same noise",
        "calibrated threshold",
        "paper's 0.6",
    ]
    assert [(line.get_xdata()[0], line.get_linestyle()) for line in ax.lines] == [
        (0.4, "--"),
        (0.6, ":"),
    ]
    assert ax.get_xlabel() == "centred pixel cosine similarity"
    plt.close(fig)


def test_record_glues_numbers_plain_and_strings_for_both_roles(monkeypatch):
    glued = {}
    monkeypatch.setattr(book, "glue", lambda name, value, display: glued.setdefault(name, value))
    assert book.record("n", torch.tensor(3)) == 3 and type(glued["n"]) is int
    book.record("pair", "the U-Net and the DiT")
    assert glued["pair"]._repr_markdown_() == "the U-Net and the DiT"  # {glue:md} on its page
    assert repr(glued["pair"]) == "'the U-Net and the DiT'"  # {glue:text} from the intro


def test_pair_heatmaps_show_each_pair_mean_symmetrically():
    fig, axes = plt.subplots(1, 2)
    pair_heatmaps(
        axes, ["a", "b"], {"RP": {("a", "b"): [0.2, 0.4]}, "other": {("a", "b"): [1.0, 1.0]}}
    )
    assert [ax.get_title() for ax in axes] == ["RP", "other"]
    texts = [t.get_text() for t in axes[0].texts]
    assert texts == ["1.00", "0.30", "0.30", "1.00"]
    plt.close(fig)


def test_per_step_gives_one_colour_per_label_and_shades_the_critical_band():
    fig, ax = plt.subplots()
    lines = [
        ("a", [999, 500, 0], [0, 1, 2]),
        ("b", [999, 500, 0], [1, 1, 1]),
        ("a", [999, 500, 0], [0, 2, 2]),
    ]
    colours = plotting.per_step(ax, lines, {"points formula": 621, "speciation": 563}, "y")
    assert colours == {"a": "C0", "b": "C1"} and len(ax.lines) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    assert ax.xaxis_inverted() and len(ax.patches) == 1
    plt.close(fig)


def test_paper_curves_draw_every_curve_dashed_on_a_log2_axis():
    fig, ax = plt.subplots()
    paper_curves(ax, {"RP a": ([64, 128], [0.5, 0.4]), "GL a": ([64], [0.1])}, "title")
    assert [line.get_label() for line in ax.lines] == ["paper: RP a", "paper: GL a"]
    assert [line.get_marker() for line in ax.lines] == ["s", "^"] and ax.get_xscale() == "log"
    plt.close(fig)


def test_the_book_style_sets_every_text_at_the_smallest_legible_size_or_more():
    plotting.book_style()
    sizes = [plt.rcParams[key] for key in plotting.STYLE if key.endswith("size")]
    assert min(sizes) == plotting.MIN_FONT_PT and plt.rcParams["figure.dpi"] == plotting.DPI
    # its smallest text at 9 pt (12 CSS pixels) once scaled into the column
    widest = plotting.widest_figure_px()
    assert plotting.MIN_FONT_PT * plotting.DPI / 72 * plotting.COLUMN_PX / widest >= 12
    assert plotting.FULL_WIDTH * plotting.DPI < widest


def test_image_grids_shrink_their_images_to_the_books_width():
    images = torch.zeros(20, 1, 8, 8)
    wide = comparison_grid({"a": images, "b": images}, ncols=20, scale=1.0)
    assert wide.get_figwidth() <= plotting.FULL_WIDTH + 1e-9
    assert plotting.image_grid(images, ncols=20).get_figwidth() <= plotting.FULL_WIDTH + 1e-9
    narrow = comparison_grid({"a": images}, ncols=4, scale=1.0)
    assert narrow.get_figwidth() == 4 + plotting.LABELS_WIDTH  # small grids keep their scale
    plt.close("all")


def test_panels_share_one_legend_with_each_label_once():
    fig, axes = plt.subplots(1, 2)
    for ax in axes:
        ax.plot([0, 1], label="shared")
        ax.legend()
    axes[1].plot([1, 0], label="right only")
    plotting.shared_legend(fig, axes)
    assert all(ax.get_legend() is None for ax in axes)
    (legend,) = fig.legends
    assert [text.get_text() for text in legend.get_texts()] == ["shared", "right only"]
    plt.close(fig)


def test_log_ticks_label_plain_numbers_and_no_minor_ticks():
    fig, ax = plt.subplots()
    ax.plot([16, 256], [250, 8000])
    plotting.log_ticks(ax.xaxis, [16, 64, 256])
    plotting.log_ticks(ax.yaxis, [250, 1000, 4000])
    fig.canvas.draw()
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["250", "1,000", "4,000"]
    assert list(ax.get_xticks()) == [16, 64, 256] and not ax.xaxis.get_minorticklocs().size
    plt.close(fig)
