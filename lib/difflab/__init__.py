"""difflab: the helper library of the book, in four layers, each importing only those below it:

- difflab.core: the numerics (forward process, data, networks, denoisers, the Gaussian closed form,
  samplers, metrics);
- difflab.training: making models (the training loop, checkpoints, the model store, the classifier);
- difflab.book: the book's machinery (profiles, the zoo, the papers' numbers, studies, plotting, glue,
  the build's sample cache);
- difflab.chapters: one module per chapter, its experiments.

Models, samplers and training come from diffusers and torch. The names chapters use are here too."""

from difflab.book.plotting import comparison_grid, image_grid
from difflab.book.profiles import get_profile
from difflab.book.sample_cache import sample
from difflab.book.zoo import (
    FINE_TUNING_CLASS,
    conditional_models,
    dip_sweep,
    disjoint_pairs,
    fine_tuning_models,
    get_denoiser,
    get_snapshot,
    manifest,
    memorization_sweep,
    reproducibility_models,
    standard,
    zoo,
)
from difflab.core.data import (
    disjoint_subsets,
    gaussian_mixture,
    load_images,
    nested_subset,
    two_points,
)
from difflab.core.denoisers import (
    Denoiser,
    EmpiricalDenoiser,
    GaussianDenoiser,
    GaussianMixtureDenoiser,
    NetDenoiser,
)
from difflab.core.devices import set_float32_precision
from difflab.core.metrics import (
    SSCD,
    Agreement,
    OfficialSSCD,
    agreement,
    calibrated_threshold,
    centred_pixels,
    copied_image,
    gl_score,
    nearest_neighbours,
    nearest_ratio,
    pair_similarity,
    retrieval_accuracy,
    rp_score,
    same_copy_score,
    shuffled_similarity,
    similarity_matrix,
)
from difflab.core.sampling import SAMPLERS, make_sampler, seeded_noise
from difflab.training.loop import TrainConfig, train
from difflab.training.store import load_denoiser

set_float32_precision(
    exact=True
)  # float32 as float32 on a GPU, no TF32: samples differ from the CPU's by rounding
