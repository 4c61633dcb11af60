"""The CI workflow tfctl ships (Templates/github/realtime-infrastructure.yml) is checked as GitHub would read it:
actionlint (its expressions, its shell steps through shellcheck, its actions' inputs and runtimes) and the GitHub
workflow JSON schema (check-jsonschema's vendored `vendor.github-workflows`). README links the file rather than
keeping a copy that could drift, and the workflow uses the formats made for review."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "Templates" / "github" / "realtime-infrastructure.yml"
REQUIRED = os.environ.get("TFCTL_REQUIRE_ORACLES") == "1"


def tool(name):
    """The tool from the test's virtual environment, else PATH; missing: a loud skip, or a failure in CI."""
    found = shutil.which(name, path=str(pathlib.Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        if REQUIRED:
            pytest.fail(f"{name} is not installed, and TFCTL_REQUIRE_ORACLES=1 requires it")
        pytest.skip(f"SKIPPED: {name} is not installed")
    return found


def test_actionlint_finds_nothing():
    result = subprocess.run([tool("actionlint"), "-no-color", str(WORKFLOW)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_github_workflow_schema_accepts_it():
    result = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_uses_the_review_formats_and_readme_links_it():
    text = WORKFLOW.read_text()
    for expected in ("render --env \"$env\" --check", "--format github", "--format markdown", "gh pr comment",
                     "environment: production", "id-token: write", "google-github-actions/auth@",
                     "workload_identity_provider"):
        assert expected in text, expected
    readme = (ROOT / "README.md").read_text()
    assert "Templates/github/realtime-infrastructure.yml" in readme
    # No copy of the workflow in README: its jobs are only in the file.
    assert "check-and-plan:" not in readme
