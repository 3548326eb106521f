"""The publishing workflow: valid for actionlint, running the README's test command, and
deploying the rendered book from main only."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def _readme_test_command() -> str:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)[1]
    return next(
        line.split("#")[0].strip() for line in block.splitlines() if line.startswith("make test")
    )


def test_actionlint_finds_nothing():
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which(
        "actionlint"
    )
    assert actionlint, "actionlint is missing: `make setup` installs it (requirements.txt)"
    workflows = sorted(WORKFLOW.parent.glob("*.yml"))
    result = subprocess.run(
        [actionlint, "-no-color", *map(str, workflows)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_and_the_workflow_run_the_readme_test_command():
    command = _readme_test_command()
    assert command == "make test"
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == command
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["test"]["steps"]
    assert [s["run"] for s in steps if "run" in s and "make" in s["run"]] == [command]


def test_main_deploys_pages_and_a_failure_keeps_the_notebooks():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["push"]["branches"] == ["main"] and "pull_request" in triggers
    test, deploy = workflow["jobs"]["test"], workflow["jobs"]["deploy"]
    uses = {s["uses"].split("@")[0]: s for s in test["steps"] if "uses" in s}
    assert uses["actions/upload-pages-artifact"]["with"]["path"] == "_build/html"
    kept = [s for s in test["steps"] if s.get("if") == "failure()"]
    assert kept and "_build/source/chapters/*.ipynb" in kept[0]["with"]["path"]
    assert deploy["needs"] == "test" and "refs/heads/main" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["concurrency"]["group"] == "pages"
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]


def test_a_weekly_run_builds_on_the_newest_releases():
    """Drift (a release that breaks a chapter) is found on a day of our choosing: `make latest`."""
    workflow = yaml.safe_load((WORKFLOW.parent / "latest.yml").read_text())
    assert workflow[True]["schedule"][0]["cron"]
    steps = workflow["jobs"]["latest"]["steps"]
    assert [s["run"] for s in steps if "run" in s and "make" in s["run"]] == ["make latest"]
    assert "RANGES=1" in (ROOT / "Makefile").read_text().split("\nlatest:")[1].split("\n\n")[0]
