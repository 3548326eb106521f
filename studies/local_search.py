"""What chapter 8's reduced search costs: the local machines' r^2 with four networks as the number
of training images they search, and calibrate with, grows.

Searching every patch of the 60,000 training images is a GPU's job; at the `ci` scale chapter 8's
machines search a few hundred drawn images (bbELS every patch of each), and the calibration fewer
still. For chapter 2's standard U-Net, ResNet and DiT and the convolution-only U-Net, this study
calibrates each machine for itself with several counts, then makes each machine's images from 8
noises of seeds 0 and 1 with several counts, and writes the median
r^2 with the network's own images to data/studies/local_search.json.

    python studies/local_search.py
"""

import time

from tqdm import tqdm

import difflab
from difflab.book.catalogue import (
    Role,
    convolution_only_models,
    labelled,
    reproducibility_models,
)
from difflab.book.studies import write_study
from difflab.chapters import ch08_local_machines as ch08

NETWORKS = (Role.STANDARD.label, Role.CONVOLUTION_ONLY.label, Role.RESNET.label, Role.DIT.label)
SEEDS, NOISES, CALIBRATION_SEED = (0, 1), 8, 3
CALIBRATION = (64, 256)  # images searched while calibrating
SEARCHED = {"bbELS": (64, 256, 1024), "LS": (256, 1024, 4096)}
CHAPTER = ch08.search_for(difflab.get_profile("ci"))  # the counts chapter 8 uses on a CPU
STABILITY = ((64, 8), (256, 8), (256, 24))  # (images, trajectories) of each pair of calibrations


def main() -> None:
    settings = difflab.get_profile("ci")
    steps = settings.sample_steps
    train, _ = difflab.load_images(settings.dataset, settings.resolution)
    shape, sizes = train.shape[1:], ch08.patch_sizes(settings.resolution)
    noise = {seed: difflab.seeded_noise(seed, NOISES, shape) for seed in SEEDS}
    calibration_noise = difflab.seeded_noise(CALIBRATION_SEED, NOISES, shape)
    configs = labelled(reproducibility_models(settings) | convolution_only_models(settings))
    rows, schedules = [], {}

    def r_squared(machine, images):
        tic = time.perf_counter()
        made = {s: difflab.sample(machine, x, "ddim", steps) for s, x in noise.items()}
        r2 = ch08.median_r_squared(made, images)
        return {"r2_median": r2, "seconds": time.perf_counter() - tic}

    def calibrated(network, noise, images, seed=0):
        """Both machines calibrated for themselves against `network`, searching `images`."""
        search = ch08.Search(calibration=images)
        return ch08.calibrations_of({0: network}, {0: train}, noise, steps, search, sizes, seed)[0]

    for name in tqdm(NETWORKS, desc="networks"):
        network = difflab.get_denoiser(configs[name])
        images = {s: difflab.sample(network, x, "ddim", steps) for s, x in noise.items()}
        for count in CALIBRATION:
            for machine_name, calibration in calibrated(network, calibration_noise, count).items():
                schedules[name, machine_name, count] = ch08.schedule(calibration)
        for machine_name, kind in ch08.MACHINES.items():
            for count in SEARCHED[machine_name]:
                for calibrated_with in CALIBRATION:
                    if calibrated_with != CHAPTER.calibration and count != CHAPTER.machines:
                        continue  # other calibrations: at the chapter's search only
                    schedule = schedules[name, machine_name, calibrated_with]
                    machine = kind(train, schedule, candidates=count)
                    rows.append(
                        {"network": name, "machine": machine_name,
                         "searched": count or len(train), "calibration": calibrated_with,
                         **r_squared(machine, images)}
                    )  # fmt: skip
                    print(rows[-1], flush=True)
    stability = []
    for name in tqdm(NETWORKS[:2], desc="stability"):
        network = difflab.get_denoiser(configs[name])
        for images, paths in STABILITY:
            first, second = (
                {name: calibrated(network, difflab.seeded_noise(CALIBRATION_SEED + d, paths, shape),
                                  images, seed=d)}
                for d in (0, 1)
            )  # fmt: skip
            for machine_name in ch08.MACHINES:
                row = ch08.stability(first, second).loc[(name, machine_name), "another draw"]
                stability.append(
                    {"network": name, "machine": machine_name, "images": images,
                     "trajectories": paths, "same_size": float(row["same size"]),
                     "agreement_lost": float(row["agreement lost"])}
                )  # fmt: skip
                print(stability[-1], flush=True)
    write_study(
        "local_search",
        {
            "seeds": list(SEEDS),
            "noises_per_seed": NOISES,
            "calibration_seed": CALIBRATION_SEED,
            "chapter": {"calibration": CHAPTER.calibration, "machines": CHAPTER.machines},
            "train_images": len(train),
            "schedules": [
                {"network": n, "machine": m, "calibration": c, "sizes": list(s.values())}
                for (n, m, c), s in schedules.items()
            ],
            "rows": rows,
            "stability": stability,
        },
    )


if __name__ == "__main__":
    main()
