"""The trained models the book uses, by profile. `python -m difflab.zoo ci` trains (or finds) them."""

import argparse

from .cache import get_denoiser
from .profiles import Profile, get_profile
from .training import TrainConfig


def standard(profile: Profile) -> TrainConfig:
    """The book's standard model: the small U-Net on the profile's full training set."""
    return TrainConfig(dataset=profile.dataset, resolution=profile.resolution, arch="unet-s",
                       steps=profile.train_steps, batch_size=profile.batch_size)


ZOO = {"standard": standard}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", nargs="?", default="ci")
    args = parser.parse_args()
    profile = get_profile(args.profile)
    for name, make in ZOO.items():
        print(f"{name}: {make(profile)}")
        get_denoiser(make(profile), profile.device, command=f"python -m difflab.zoo {args.profile}")


if __name__ == "__main__":
    main()
