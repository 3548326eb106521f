"""How many images chapter 4's Fashion-MNIST measurements need: its claims over many seeds.

Chapter 4 claims that cloned trajectories commit to a side of the top principal direction (agreement
3/4) at an OU time between 0.8 and 1.5 times Biroli et al.'s speciation time s_S, for the U-Net and
for the optimal denoiser D*, and that the stochastic sampler started from pure noise loses little
FID when it starts at step 700 or earlier in generation (at most 1.8 times the full sampler's) and
much when it starts at step 500 (at least 3 times). This study repeats each measurement on one seed
at a time, at the chapter's counts and at half of them, and writes every seed's crossing (as s / s_S) and FID ratios to
data/studies/critical_time_samples.json.

    python studies/critical_time_samples.py [--clones 125 250] [--fid 300 600] [--seeds 10] [--dstar-seeds 10]

The defaults measured the committed result: 30 minutes on 2 cores.
"""

import argparse

import numpy as np

import difflab
from difflab import Role
from difflab.book.studies import measured_rows, write_study
from difflab.book.trained import profile_classifier
from difflab.chapters import ch04_symmetry_breaking as symmetry
from difflab.core.gaussian import DataMoments
from difflab.core.quality import FeatureDistance

CLONE_STEPS = [900, 800, 700, 650, 600, 550, 500, 400, 300, 200]
START_STEPS = [999, 850, 700, 600, 500, 400]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clones", type=int, nargs="+", default=[125, 250])
    parser.add_argument("--fid", type=int, nargs="+", default=[300, 600])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--dstar-seeds", type=int, default=10)
    args = parser.parse_args()
    settings = difflab.get_profile("ci")
    train, _ = difflab.load_images(settings.dataset, settings.resolution)
    test, _ = difflab.load_images(settings.dataset, settings.resolution, train=False)
    moments = DataMoments.of(train)
    lam = moments.top[0]
    classifier = profile_classifier(settings)
    unet = difflab.get_denoiser(difflab.standard(settings))
    denoisers = {Role.STANDARD.label: unet, "optimal D*": difflab.EmpiricalDenoiser(train)}
    judges = {"side": moments.side}

    def crossing(name):
        def measure(n, seed):
            curve = symmetry.clone_curve(denoisers[name], test, CLONE_STEPS, n, seed, judges)
            step = symmetry.first_crossing(
                [r["step"] for r in curve], [r["side"] for r in curve], 0.75
            )
            return {
                "experiment": f"cloning, {name}",
                "step": step,
                "s_over_sS": float(symmetry.ou_time(round(step)) / (0.5 * np.log(lam))),
            }

        return measure

    distance = FeatureDistance(test[:5000], classifier)

    def fid_ratios(n, seed):
        fid = symmetry.noise_start_fid(unet, distance, START_STEPS, n, seed)
        return {
            "experiment": "starts from noise",
            "early_ratio_max": max(fid[t] / fid[999] for t in (850, 700)),
            "late_ratio": fid[500] / fid[999],
        }

    rows = (
        measured_rows(crossing(Role.STANDARD.label), args.clones, range(args.seeds))
        + measured_rows(crossing("optimal D*"), args.clones, range(args.dstar_seeds))
        + measured_rows(fid_ratios, args.fid, range(args.seeds))
    )
    write_study(
        "critical_time_samples",
        {"clone_steps": CLONE_STEPS, "start_steps": START_STEPS, "rows": rows},
    )


if __name__ == "__main__":
    main()
