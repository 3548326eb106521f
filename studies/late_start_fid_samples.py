"""How many samples chapter 5's final FID table needs: its claims measured over many seeds.

The chapter claims that the Gaussian late start cuts FID to at most 0.8x the standard start's
(DDIM and PNDM at 3 and 5 steps), that its samples' labels are closer in entropy to the training
set's (every sampler at 3 steps), and that gls with 3 steps beats the standard start with 5 (every
sampler). This study repeats the chapter's final table with the best starts of its seed-0 sweep and
a fresh seed per row, at each sample count given, and writes every seed's worst case of each claim
to data/studies/late_start_fid_samples.json.

    python studies/late_start_fid_samples.py [--counts 1000 3000] [--seeds 10]
"""

import argparse

import torch
from tqdm import tqdm

import difflab
from difflab.classifier import profile_classifier
from difflab.gaussian_start import (CLAIMED, DataMoments, claim_margins, fid_reference, generate, start_scores,
                                    start_sweep)
from difflab.quality import FeatureDistance, label_entropy
from difflab.studies import over_seeds, write_study

STARTS = [100, 200, 300, 400, 500, 600, 700, 800, 900]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--sweep-samples", type=int, default=500)
    args = parser.parse_args()
    torch.manual_seed(0)
    settings = difflab.get_profile("ci")
    train, _ = difflab.load_images(settings.dataset, settings.resolution)
    model = difflab.get_denoiser(difflab.standard(settings), settings.device)
    classifier = profile_classifier(settings)
    reference = fid_reference(train)
    distance, moments = FeatureDistance(reference, classifier), DataMoments.of(train)
    train_entropy = label_entropy(reference, classifier)
    rows = sorted({row for claim in CLAIMED.values() for row in claim})
    best = {}
    for sampler, steps in tqdm(rows, desc="seed-0 sweep"):
        fid = start_sweep(model, moments, distance, sampler, steps, STARTS, args.sweep_samples, 0)
        best[sampler, steps] = min(STARTS, key=fid.get)

    def measure(n, seed):
        scores = {(s, k, start): start_scores(generate(model, moments, s, k, n, seed, t_s), distance, classifier)
                  for s, k in rows for start, t_s in (("baseline", None), ("gls", best[s, k]))}
        return claim_margins(scores, train_entropy)

    write_study("late_start_fid_samples", {"best_starts": {f"{s}, {k}": t for (s, k), t in best.items()},
                                           "sweep_samples": args.sweep_samples,
                                           "rows": over_seeds(measure, args.counts, range(1, args.seeds + 1))})


if __name__ == "__main__":
    main()
