"""difflab: the helper library of the book, in four layers, each importing only those below it:

- difflab.core: the numerics (forward process, data, networks, denoisers, the Gaussian closed form,
  samplers, metrics);
- difflab.training: making models (the training loop, checkpoints, the model store, the classifier);
- difflab.book: the book's machinery (profiles, the catalogue and its trained models, the papers'
  numbers, studies, plotting, glue, the build's sample cache);
- difflab.chapters: one module per chapter, its experiments.

Models, samplers and training come from diffusers and torch. The names chapters use are here too,
loaded when first used: importing a layer loads only that layer and those below it, and no import
changes global state (a chapter's first cell calls `start_chapter()`: the figure style and the
precision)."""

import importlib

# each name chapters use, by the module that defines it
_NAMES = {
    "difflab.book.plotting": ("comparison_grid", "image_grid"),
    "difflab.book.profiles": ("get_profile",),
    "difflab.book.sample_cache": ("sample",),
    "difflab.book.start": ("start_chapter",),
    "difflab.book.catalogue": (
        "FINE_TUNING_CLASS",
        "Role",
        "catalogue",
        "conditional_models",
        "convolution_only_models",
        "dip_sweep",
        "disjoint_pairs",
        "fine_tuning_models",
        "fine_tuning_parent",
        "labelled",
        "memorization_sweep",
        "reproducibility_models",
        "standard",
        "time_runs",
    ),
    "difflab.book.trained": ("get_denoiser", "get_snapshot", "manifest"),
    "difflab.core.data": (
        "disjoint_subsets",
        "gaussian_mixture",
        "load_images",
        "nested_subset",
        "two_points",
    ),
    "difflab.core.denoisers": (
        "Denoiser",
        "EmpiricalDenoiser",
        "GaussianDenoiser",
        "GaussianMixtureDenoiser",
        "NetDenoiser",
    ),
    "difflab.core.devices": ("set_float32_precision",),
    "difflab.core.metrics": (
        "SSCD",
        "Agreement",
        "OfficialSSCD",
        "agreement",
        "calibrated_threshold",
        "centred_pixels",
        "copied_image",
        "gl_score",
        "nearest_neighbours",
        "nearest_ratio",
        "pair_similarity",
        "retrieval_accuracy",
        "rp_score",
        "same_copy_score",
        "shuffled_similarity",
        "similarity_matrix",
    ),
    "difflab.core.sampling": ("SAMPLERS", "make_sampler", "seeded_noise"),
    "difflab.training.loop": ("TrainConfig", "train"),
    "difflab.training.store": ("load_denoiser",),
}
_MODULE_OF = {name: module for module, names in _NAMES.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    """A chapter's name, imported from its module on first use (PEP 562)."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'difflab' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *__all__})
