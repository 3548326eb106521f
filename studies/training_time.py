"""Chapter 9's plane of training-set size and training time: long runs of chapter 3's two widths,
measured at every snapshot.

The runs (catalogue.time_runs at profile ci): unet-xs on the first 16, 32, 64, 128 and 256 images
of chapter 3's permutation for 8,000 steps, unet-s on the first 16 to 128 for 6,000, each
configured as chapter 3's sweep (batch 64, learning rate 1e-3, EMA 0.999, seed 0) with EMA
snapshots every half-octave from 250 steps and at chapter 3's budget of 3,000. At each snapshot,
500 samples (DDIM, 25 steps, the noises of chapter 3's seed 0) give: which are copies of a training
image (nearest / second-nearest L2 distance below 1/3, the paper's test and the book's GL), which
copy the image that the optimal denoiser D* gives from the same noise, the FID against 10,000
training images in the book classifier's features (on all noises and on 200 fixed draws of them),
and, where both widths have the snapshot, whether the two make the same image (centred pixel cosine
above chapter 3's calibrated threshold).

Definitions and predictions, written before the first run (2026-12-08, 00:55 UTC):

- tau_mem(n): the first training time at which the copy share reaches 0.1, interpolated in log
  time between snapshots; interval over the noises (bootstrap).
- tau_gen(n): the first time at which the FID has made 0.9 of its fall from the first snapshot's
  value to the run's lowest; interval over the fixed draws.
- P1 (the paper's tau_mem ~ n): over the sizes whose copy share reaches 0.1 within the run, the
  slope of log tau_mem against log n lies in 0.5-1.5. Held if its 95% interval lies inside
  [0.5, 1.5], failed if it lies outside, undecided otherwise. Predicted: 0.6-1.0 (the small
  networks fit fewer images per step than the paper's), with tau_mem(64) within 1,500-4,000 steps
  (chapter 3's unet-xs copies at n = 32 and mostly does not at 64 after 3,000 steps).
- P2 (the paper's tau_gen independent of n): the slope of log tau_gen against log n lies in
  [-0.3, 0.3], with the same rule. Predicted: held for unet-xs.
- P3 (the largest size, 256, at this budget): its copy share stays below 0.1 through 8,000 steps
  (predicted tau_mem(256) > 8,000): the run is too short to see it copy, and the chapter says so.
- P4 (the bridge: the dip moves with the budget): the size (16-128) at which RP between the widths
  is lowest is at least one doubling larger at 5,700 steps than at 1,400 steps. Held if so in at
  least 95% of resamples of the noises, failed if so in at most 5%, undecided otherwise.
  Predicted: held (the dip at 32 at chapter 3's 3,000 steps; about 16 at 1,400 and 64 at 5,700).
- P5 (the bridge: copying D* takes training): at each of the sizes 16, 32 and 64, the share of
  samples that copy D*'s image is higher at the run's end (8,000) than at 1,000 steps (interval of
  the difference above 0). Predicted: held at all three.

    python studies/training_time.py    # about 80 minutes on 2 CPU cores; resumes where it stopped
"""

import argparse

import torch

import difflab
from difflab.book.catalogue import time_runs
from difflab.book.studies import read_study, study_path, write_study
from difflab.chapters.ch09_training_time import measure_runs

NAME = "training_time"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="ci", help="ci (the chapter's); another: its own file")
    args = parser.parse_args()
    difflab.set_float32_precision(exact=True)
    settings = difflab.get_profile(args.profile)
    name = NAME if args.profile == "ci" else f"{NAME}_{args.profile}"
    study = read_study(name) if study_path(name).exists() else {"rows": [], "runs": []}
    done = {(run["arch"], run["images"]) for run in study["runs"]}
    for measured, rows, run in measure_runs(settings, time_runs(settings), done, True):
        study["settings"] = measured
        study["rows"] += rows
        study["runs"].append(run)
        write_study(name, study)  # after each run: a stopped study resumes at the next
        print(f"{run['arch']} n={run['images']}: {run['wall_time_s'] / 60:.1f} minutes")


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
