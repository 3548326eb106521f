"""Every number a chapter glues is asserted by tests/test_book.py or listed here, in one of two lists.

DESCRIPTIVE: settings, counts, names and intermediate values that the text reports without claiming
anything of them (or whose claim is asserted through another number, named in the note).

UNASSERTED_CLAIMS: numbers behind a claim the prose makes that no test checks yet. Each needs its
spread over seeds measured (a study, as in studies/) before a bound can be asserted honestly; until
then the list says so in the open, and test_book.py fails when a new glued number is in neither list.
Empty since studies/prose_claims.py and studies/start_sweep_seeds.py; where their bounds, written
before they ran, failed, the number is reported (DESCRIPTIVE, with the failure named) and the text
says so.
"""

SETTING = "a setting or count"

DESCRIPTIVE = {
    "01_deterministic_map": {
        "copy_distance": SETTING, "n_agreement": SETTING, "steps_ddim": SETTING, "steps_reference": SETTING,
        "nn_model_min": "reported beside copies_model_max, which is asserted",
        "study_guess_within_half_max": "range end, reported",
    },
    "02_reproducibility": {
        "batch_size": SETTING, "first_snapshot": SETTING, "n_checks": SETTING, "n_per_seed": SETTING,
        "n_train": SETTING, "reference_steps": SETTING, "steps_ddim": SETTING, "train_steps": SETTING,
        "threshold": "the calibrated threshold; its calibration is asserted in tests/test_metrics.py",
        "least_agreeing": "names", "most_agreeing": "names", "worst_pair": "names", "same_noise_models": "a figure for the intro page",
        "rp_trained_max": "reported beside the paper's range", "rp_trained_median": "reported beside the paper's range",
        "gap_middle_t": "the step at which gap_middle_max is read",
        "study_gap_eps_start_max": "range end, reported", "study_gap_v_start_min": "range end, reported",
        "study_gap_edm_start_min": "range end, reported", "study_gap_middle_max_min": "range end, reported",
        "n_sscd": SETTING,
        "sscd_threshold": "SSCD's calibrated threshold, reported with its range over seeds (its predicted band "
                          "0.75-0.85 failed at 4 of 6 seeds, and the text says so)",
        "study_sscd_threshold_min": "range end, reported", "study_sscd_threshold_max": "range end, reported",
        "study_shuffled_above_06_max": "range end, reported (above the predicted 25% at one seed, and the text says so)",
        "sscd_rp06_median": "reported beside the paper's range",
        "study_rp06_trained_min_max": "range end, reported",
        "study_rpcal_trained_min_max": "range end, reported (sscd_rpcal_min is asserted only against the Gaussian "
                                       "denoiser: its predicted bound, 0.4 at every seed, failed at 2 of 6 seeds)",
        "study_rp06_gaussian_max_min": "range end, reported", "study_rpcal_gaussian_max_min": "range end, reported",
        "study_emergence_gain_calibrated_max": "range end, reported",
        "sscd_emergence_first": "reported: at 0.6 most pairs pass anyway; the claim is asserted in calibrated SSCD",
        "sscd_emergence_last": "reported with sscd_emergence_first",
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
        "study_test_above_threshold_max": "range end, reported",
        "n_sscd": SETTING, "dip_sizes": SETTING,
        "sscd_threshold": "SSCD's threshold calibrated on test images by studies/sscd_chapters.py",
        "sscd06_small_end": "reported; asserted through sscd06_ends_min", "sscd06_large_end": "reported; asserted through sscd06_ends_min",
        "sscd06_dip": "reported: the predicted dip at 0.6 failed (sscd06_depth_min / _max)",
        "sscd06_depth_min": "reported: the dip at 0.6 was predicted and failed, and the text says so",
        "sscd06_depth_max": "reported with sscd06_depth_min",
        "study_sscd06_depth_min": "reported with sscd06_depth_min", "study_sscd06_depth_max": "reported with sscd06_depth_min",
        "sscdcal_small_end": "asserted through sscdcal_depth_min", "sscdcal_large_end": "asserted through sscdcal_depth_min",
        "sscdcal_dip": "asserted through sscdcal_depth_min", "sscdcal_dip_size": "the size at which sscdcal_dip is read",
        "gl_widest_64": "reported; asserted through transition_widest (its predicted crossing failed)",
        "gl_widest_128": "reported with gl_widest_64", "gl_widest_256": "reported with gl_widest_64",
        "wide_pair_pixel_min": "the mean over seeds; asserted per seed through wide_pixel_low_min / _max",
        "wide_pair_pixel_min_size": "the size at which wide_pair_pixel_min is read",
        "wide_pair_sscd06_min": "reported (SSCD at 0.6 sees no dip)",
        "wide_pair_sscdcal_min": "the mean over seeds; asserted per seed through wide_sscdcal_low_max",
        "wide_pair_sscdcal_min_size": "the size at which wide_pair_sscdcal_min is read",
        "disjoint_sscd06_small_max": "reported: predicted at most 0.3, failed, and the text says so",
        "study_disjoint_sscd06_small_max": "reported with disjoint_sscd06_small_max",
    },
    "04_symmetry_breaking": {
        "feature_dim": SETTING, "fm_pixels": SETTING, "n_clones": SETTING, "n_fid": SETTING, "n_fid_half": SETTING,
        "n_paths": SETTING, "n_train": SETTING,
        "lam": "the data's top eigenvalue, from which s_S and the predictions follow",
        "lam_second": "reported", "lam_mixture": "the mixture's measured eigenvalue, used by the predictions",
        "theta_c_numeric": "asserted through theta_c_error", "theta_c_paper_error": "theta_c is asserted against 0.6436",
        "mixture_exact_step": "asserted through mixture_hessian_error",
        "mixture_hessian_step": "asserted through mixture_hessian_error and mixture_points_error",
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
        "class_half_unet": "reported; the order it claims is asserted through class_after_side_min",
        "class_half_dstar": "reported; the order it claims is asserted through class_after_side_min",
        "study_path_unet_max": "range end, reported", "study_path_gauss_min": "range end, reported",
        "study_unet_curvature_high_min": "range end, reported", "study_dstar_curvature_high_max": "range end, reported",
    },
    "05_late_initialization": {
        "n_fid": SETTING, "n_sweep": SETTING,
        "train_entropy": "the reference of entropy_gap_margin, which is asserted",
        "entropy_ddim3_base": "asserted through entropy_gap_margin", "entropy_ddim3_gls": "asserted through entropy_gap_margin",
        "entropy_pndm3_base": "asserted through entropy_gap_margin", "entropy_pndm3_gls": "asserted through entropy_gap_margin",
        "ddim_gls3": "asserted through gls3_beats_base5", "ddim_base5": "asserted through gls3_beats_base5",
        "improvement_pndm3": "asserted through gls_ratio_max",
        "sw_early_high": SETTING,
        "study_sw_ratio_400_min": "the range of sw_ratio_400 over seeds, reported (its predicted bound failed)",
        "study_sw_ratio_400_max": "the range of sw_ratio_400 over seeds, reported (its predicted bound failed)",
        "paper_celeba_gls": "the paper's numbers (difflab.papers)", "paper_celeba_ddim": "the paper's numbers (difflab.papers)",
        "paper_celeba_train": "the paper's numbers (difflab.papers)",
        "cost_gls3_base5_max": "a timing, reported (it varies with the machine)",
        "late_loss_max": "read off the sweep, reported",
        "best_min": "the chapter's seed (seed 0 of studies/start_sweep_seeds.py); its claims are asserted through the study",
        "best_max": "the chapter's seed (seed 0 of studies/start_sweep_seeds.py); its claims are asserted through the study",
        "study_pndm_best_min": "reported: the bound written before the study (within one grid step of the critical "
                               "steps at every seed) failed at one seed, and the text says so",
        "study_pndm_best_max": "reported with study_pndm_best_min",
        "study_change_baseline_min": "range end, reported", "study_change_gls_min": "range end, reported",
        "study_sw_ratio_early_max_min": "range end, reported",
        "paper_start_ddim3": "the paper's numbers (difflab.papers)", "paper_start_ddim5": "the paper's numbers (difflab.papers)",
        "paper_start_ddim10": "the paper's numbers (difflab.papers)", "paper_start_pndm5": "the paper's numbers (difflab.papers)",
        "paper_start_ddpm": "the paper's numbers (difflab.papers)", "paper_gain_low": "the paper's numbers (difflab.papers)",
        "paper_gain_high": "the paper's numbers (difflab.papers)",
        "sw_ratio_400": "reported with its range over seeds: the bound predicted before studies/prose_claims.py ran "
                        "(>= 2 at every seed) failed at some seeds, and the text says so",
    },
    "06_beyond_unconditional": {
        "steps_ddim": SETTING, "n_measured": SETTING,
        "class_null_median_w0": "explains class_dit_rp_w2_min, reported", "class_null_median_w2": "explains class_dit_rp_w2_min, reported",
        "class_family_similarity_w2": "explains class_dit_rp_w2_min, reported",
        "tuned_threshold": "the calibrated threshold of the fine-tuned pairs, reported",
        "class_accuracy_w0_min": "reported beside class_accuracy_w2_min; the rise is asserted (class_guidance_gain_min)",
        "class_dit_rp_w2_min": "reported: the prediction (>= 0.3, as at w = 0) failed at w = 2; the text says why",
        "tuned_class_share_min": "reported: the prediction (>= 0.9) failed; the classifier calls only real_class_share "
                                 "of real sneakers sneakers, and the text says so",
        "parent_class_share": "reported beside tuned_class_share_min",
        "real_class_share": "the classifier's own rate on real test sneakers, the ceiling of tuned_class_share_min",
        "dps_inpainting_seed_rp_max": "reported: studies/inverse_problems.py predicted >= 0.05 and it failed; the text says so",
        "study_dps_inpainting_seed_rp_max": "reported with dps_inpainting_seed_rp_max (the failed prediction)",
    },
}

UNASSERTED_CLAIMS = {}
