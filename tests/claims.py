"""Every number a chapter glues is asserted by tests/test_book.py or listed here, in one of two lists.

DESCRIPTIVE: settings, counts, names and intermediate values that the text reports without claiming
anything of them (or whose claim is asserted through another number, named in the note).

UNASSERTED_CLAIMS: numbers behind a claim the prose makes that no test checks yet. Each needs its
spread over seeds measured (a study, as in studies/) before a bound can be asserted honestly; until
then the list says so in the open, and test_book.py fails when a new glued number is in neither list.
"""

SETTING = "a setting or count"

DESCRIPTIVE = {
    "01_deterministic_map": {
        "copy_distance": SETTING, "n_agreement": SETTING, "steps_ddim": SETTING, "steps_reference": SETTING,
        "nn_model_min": "reported beside copies_model_max, which is asserted",
    },
    "02_reproducibility": {
        "batch_size": SETTING, "first_snapshot": SETTING, "n_checks": SETTING, "n_per_seed": SETTING,
        "n_train": SETTING, "reference_steps": SETTING, "steps_ddim": SETTING, "train_steps": SETTING,
        "threshold": "the calibrated threshold; its calibration is asserted in tests/test_metrics.py",
        "least_agreeing": "names", "most_agreeing": "names", "worst_pair": "names", "same_noise_models": "a figure for the intro page",
        "rp_trained_max": "reported beside the paper's range", "rp_trained_median": "reported beside the paper's range",
        "gap_middle_t": "the step at which gap_middle_max is read",
    },
    "03_memorization": {
        "disjoint_large_n": SETTING, "disjoint_small_n": SETTING, "n_models": SETTING, "steps_ddim": SETTING,
        "sweep_batch": SETTING, "sweep_steps": SETTING, "threshold": "the calibrated threshold",
        "sweep_train_minutes": "the training cost, reported",
        "rp_small_end": "the dip's depth is asserted through rp_ends_minus_dip_min",
        "rp_dip": "the dip's depth is asserted through rp_ends_minus_dip_min",
        "rp_large_end": "the dip's depth is asserted through rp_ends_minus_dip_min",
        "rp_optimal_large_max": "reported; rp_optimal_low against rp_optimal_small_min is asserted",
        "rp_optimal_low_size": "the size at which rp_optimal_low is read",
    },
    "04_symmetry_breaking": {
        "feature_dim": SETTING, "fm_pixels": SETTING, "n_clones": SETTING, "n_fid": SETTING, "n_fid_half": SETTING,
        "n_paths": SETTING, "n_train": SETTING,
        "lam": "the data's top eigenvalue, from which s_S and the predictions follow",
        "lam_second": "reported", "lam_mixture": "the mixture's measured eigenvalue, used by the predictions",
        "theta_c_numeric": "asserted through theta_c_error", "theta_c_paper_error": "theta_c is asserted against 0.6436",
        "mixture_exact_step": "asserted through mixture_hessian_error",
        "mixture_hessian_step": "asserted through mixture_hessian_error and mixture_points_error",
        "fm_points_step": "a prediction, asserted through ratio_min / ratio_max",
        "fm_speciation_step": "a prediction, asserted through ratio_min / ratio_max",
        "clone_unet": "asserted through ratio_min / ratio_max", "clone_dstar": "asserted through ratio_min / ratio_max",
        "clone_spread": "reported: the two seeds' difference", "path_high_step": "the step at which the curvatures are read",
        "fid_baseline": "asserted through the FID ratios", "fid_floor": "reported: test images against test images",
        "s_S": "the speciation time 1/2 log lambda, the unit of ratio_min / ratio_max",
        "study_early_full_min": "range end, reported",
        "study_late_full_max": "range end, reported",
        "study_dstar_full_min": "reported: one of ten D* seeds crosses below the chapter's band",
        "study_dstar_full_max": "reported with study_dstar_full_min",
        "study_unet_half_min": "the halved count the study's rule rejected",
        "study_unet_half_max": "the halved count the study's rule rejected",
        "study_dstar_half_min": "the halved count the study's rule rejected",
        "study_dstar_half_max": "the halved count the study's rule rejected",
        "study_early_half_min": "the halved count the study's rule rejected",
        "study_early_half_max": "the halved count the study's rule rejected",
        "study_late_half_min": "the halved count the study's rule rejected",
        "study_late_half_max": "the halved count the study's rule rejected",
    },
    "05_late_initialization": {
        "n_fid": SETTING, "n_sweep": SETTING, "crit_points": "chapter 4's prediction", "crit_speciation": "chapter 4's prediction",
        "train_entropy": "the reference of entropy_gap_margin, which is asserted",
        "entropy_ddim3_base": "asserted through entropy_gap_margin", "entropy_ddim3_gls": "asserted through entropy_gap_margin",
        "entropy_pndm3_base": "asserted through entropy_gap_margin", "entropy_pndm3_gls": "asserted through entropy_gap_margin",
        "ddim_gls3": "asserted through gls3_beats_base5", "ddim_base5": "asserted through gls3_beats_base5",
        "improvement_ddim3": "asserted through gls_ratio_max", "improvement_ddim5": "asserted through gls_ratio_max",
        "improvement_pndm3": "asserted through gls_ratio_max",
    },
}

UNASSERTED_CLAIMS = {
    "01_deterministic_map": {
        "guess_within_half": "the image is fixed early: the median guess is within half of the final image by this step",
    },
    "02_reproducibility": {
        "rp_gaussian_max": "the networks share much more than the data's second moments (Gaussian RP far below the pairs')",
        "gap_eps_start": "the eps-networks' estimates are far from the Gaussian denoiser's at the start",
        "gap_v_start": "the v and EDM networks are close to the Gaussian denoiser at the start",
        "gap_edm_start": "the v and EDM networks are close to the Gaussian denoiser at the start",
        "gap_middle_max": "from the middle of the trajectory on, every network is near the Gaussian denoiser",
    },
    "03_memorization": {
        "test_above_threshold": "a new garment often passes the pixel threshold against the training set",
    },
    "04_symmetry_breaking": {
        "path_dstar": "D*'s centre turns into a ridge earlier in generation than the Gaussian model's",
        "path_unet": "the U-Net's does so earlier still, beyond both predictions",
        "unet_curvature_high": "the U-Net's well is too shallow from the start (below D*'s)",
        "dstar_curvature_high": "the U-Net's well is too shallow from the start (below D*'s)",
    },
    "05_late_initialization": {
        "best_min": "the best start times lie near the critical steps",
        "best_max": "the best start times lie near the critical steps",
        "sw_ratio_early_max": "the noised data sit on their Gaussian's sampling floor before the critical steps",
        "sw_ratio_400": "and leave it after them",
        "fid_noise": "a second seed moves the FID far less than the gains",
        "improvement_ddim10": "the gain is smallest at 10 steps, where the baseline is already good",
    },
}
