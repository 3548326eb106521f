"""difflab: the helper library of the book. Models, samplers and training come from diffusers
and torch; this package holds the glue, the closed-form denoisers and the metrics."""

from .cache import get_denoiser, get_snapshot, load_denoiser
from .data import disjoint_subsets, gaussian_mixture, load_images, nested_subset, two_points
from .denoisers import Denoiser, EmpiricalDenoiser, GaussianDenoiser, GaussianMixtureDenoiser, NetDenoiser
from .devices import set_float32_precision
from .metrics import (SSCD, OfficialSSCD, calibrated_threshold, centred_pixels, copied_image, gl_score, nearest_neighbours,
                      nearest_ratio, pair_similarity, retrieval_accuracy, rp_score, same_copy_score,
                      shuffled_similarity, similarity_matrix)
from .plotting import comparison_grid, image_grid
from .profiles import get_profile
from .sampling import SAMPLERS, make_scheduler, sample, seeded_noise
from .training import TrainConfig, train
from .zoo import (FINE_TUNING_CLASS, conditional_models, dip_sweep, disjoint_pairs, fine_tuning_models, memorization_sweep,
                  reproducibility_models, standard, zoo)

set_float32_precision(exact=True)     # float32 as float32 on a GPU, no TF32: samples differ from the CPU's by rounding
