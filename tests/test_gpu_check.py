"""`make gpu-check` is run only where a GPU is lent: its code runs here on the CPU with small counts,
so that it cannot rot between the sessions that have one."""

import subprocess
import sys

from book import ROOT


def test_the_gpu_check_runs_its_parts_and_writes_its_report(tmp_path):
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "gpu_check.py"),
            "--device",
            "cpu",
            "--samples",
            "8",
            "--archs",
            "unet-xs",
            "unet-s-class",
            "--train-steps",
            "1",
            "--train-batch",
            "2",
            "--budget",
            "0",
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    report = (tmp_path / "report.md").read_text()
    assert "| GPU twice (determinism) | 0.00e+00 (bit-identical: True) |" in report
    assert "| unet-s-class | 2 | bf16 |" in report and "| unet-xs | 2 | float32 |" in report
    assert "| 07_when_decided | not run: the time budget is spent |" in report
    assert report.rstrip().splitlines()[-1].startswith("Done in")
