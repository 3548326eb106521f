"""How many noises chapter 2's sampler and training checks need: their claims over many seeds.

Chapter 2 claims that other samplers and step counts land on the reference's image (median
same-noise similarity at least 0.95 for DDIM, DPM++ and Heun at 10, 25 and 50 steps) and that
the two training runs agree much more at the end of training than at the first snapshot (RP up by
at least 0.3). This study runs both checks on the first n noises of each seed and writes every
seed's worst similarity and RP gain to data/studies/reproducibility_checks.json. The RP threshold
is chapter 2's calibrated one, fixed by the committed models and the chapter's seeds.

    python studies/reproducibility_checks.py [--counts 250] [--seeds 8] [--threshold 0.9218]
"""

import argparse

import torch

import difflab
from difflab import Role
from difflab.book.studies import measured_rows, write_study
from difflab.chapters.ch02_reproducibility import emergence, sampler_consistency


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--counts", type=int, nargs="+", default=[250])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--threshold", type=float, default=0.9218)
    args = parser.parse_args()
    settings = difflab.get_profile("ci")
    configs = difflab.reproducibility_models(settings)
    runs = [configs[Role.STANDARD], configs[Role.SEED_TWIN]]
    checkpoints = [*runs[0].snapshots, settings.train_steps]
    along = [
        {
            k: difflab.get_denoiser(c) if k == c.steps else difflab.get_snapshot(c, k)
            for k in checkpoints
        }
        for c in runs
    ]
    standard = along[0][settings.train_steps]

    def measure(n, seed):
        z = torch.randn(
            n,
            1,
            settings.resolution,
            settings.resolution,
            generator=torch.Generator().manual_seed(seed),
        )
        reference = difflab.sample(standard, z, "ddim", 4 * settings.sample_steps)
        consistency = sampler_consistency(standard, z, reference, args.threshold)
        agreement = emergence(*along, z, settings.sample_steps, args.threshold)[
            "RP between the runs"
        ]
        return {
            "sampler_similarity_min": min(r["median_similarity"] for r in consistency),
            "emergence_gain": agreement[-1] - agreement[0],
        }

    write_study(
        "reproducibility_checks",
        {
            "threshold": args.threshold,
            "checkpoints": checkpoints,
            "rows": measured_rows(measure, args.counts, range(args.seeds)),
        },
    )


if __name__ == "__main__":
    main()
