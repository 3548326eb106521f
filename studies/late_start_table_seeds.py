"""Chapter 5's final table, every row, over seeds: the FID and the labels' entropy of each row.

late_start_fid_samples.py measured the table's claims at their worst rows over ten seeds; the
chapter's improvements (baseline FID over gls FID, row by row: three of them on the intro page) and
its 10-step rows had one seed each. This study scores every row of the chapter's table (its starts:
the paper's, and PLMS's from the chapter's seed-0 sweep, as start_sweep_seeds.json recorded them) at
the chapter's 2,000 samples per FID for seeds 1 to 10, so that each improvement carries its interval
over the seeds. Seed 1 is the chapter's own table; seed 2 is the chapter's second draw.

    DIFFLAB_SAMPLE_CACHE=_build/cache/studies python studies/late_start_table_seeds.py [--seeds 10]
"""

import argparse

import difflab
from difflab.book.studies import measured_rows, read_study, write_study
from difflab.book.trained import profile_classifier
from difflab.chapters.ch05_late_initialization import score_table, table_starts
from difflab.core.gaussian import DataMoments
from difflab.core.quality import FeatureDistance, fid_reference


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    settings = difflab.get_profile("ci")
    train, _ = difflab.load_images(settings.dataset, settings.resolution)
    model = difflab.get_denoiser(difflab.standard(settings), settings.device)
    classifier = profile_classifier(settings)
    distance, moments = FeatureDistance(fid_reference(train), classifier), DataMoments.of(train)
    sweep = [r for r in read_study("start_sweep_seeds")["sweeps"] if r["seed"] == 0]
    plms = {("PLMS", r["steps"]): r["best_start"] for r in sweep if r["sampler"] == "PLMS"}
    starts = table_starts(plms)

    def measure(n, seed):
        table = score_table(model, moments, distance, classifier, list(starts), starts, n, seed)
        columns = ["FID", "label entropy"]
        return {"table": table[columns].reset_index().to_dict(orient="records")}

    write_study(
        "late_start_table_seeds",
        {
            "starts": [[s, k, t] for (s, k), t in starts.items()],
            "rows": measured_rows(measure, [args.count], range(1, args.seeds + 1)),
        },
    )


if __name__ == "__main__":
    main()
