"""How many noises chapter 1's sampler comparison needs: its claims over many seeds.

Chapter 1 claims that five samplers (DDIM, Euler, PNDM at 25 steps, DPM-Solver++ and Heun at 12)
land on the reference's image (DDIM, 100 steps): RP at each sampler's calibrated threshold and
retrieval accuracy at least 0.9 at every seed. This study runs the comparison on the first n
noises of each seed and writes every seed's worst RP and retrieval over the samplers to
data/studies/sampler_agreement.json.

    python studies/sampler_agreement.py [--counts 250] [--seeds 10]
"""

import argparse

import torch

import difflab
from difflab.book.studies import measured_rows, write_study
from difflab.chapters.ch01_deterministic_map import sampler_agreement, sampler_steps


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--counts", type=int, nargs="+", default=[250])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    settings = difflab.get_profile("ci")
    model = difflab.get_denoiser(difflab.standard(settings))
    steps = settings.sample_steps
    samplers = sampler_steps(steps)

    def measure(n, seed):
        z = torch.randn(
            n,
            1,
            settings.resolution,
            settings.resolution,
            generator=torch.Generator().manual_seed(seed),
        )
        _, results = sampler_agreement(model, z, 4 * steps, samplers, seed)
        return {
            "rp_min": min(r["rp"] for r in results.values()),
            "retrieval_min": min(r["retrieval"] for r in results.values()),
        }

    write_study(
        "sampler_agreement",
        {
            "reference_steps": 4 * steps,
            "sampler_steps": samplers,
            "rows": measured_rows(measure, args.counts, range(args.seeds)),
        },
    )


if __name__ == "__main__":
    main()
