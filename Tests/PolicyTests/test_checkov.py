"""The policy-as-code scan a security team runs in CI: checkov (pinned, Tests/PolicyTests/requirements.txt) over the
Terraform of every shipped environment. No check fails but those in checkov-skips.yaml, and each of those still
fails (so a skip is dropped when the render starts passing it)."""
import json
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SKIPS = pathlib.Path(__file__).with_name("checkov-skips.yaml")
TFCTL = pathlib.Path(os.environ.get("TFCTL", ROOT / ".build" / "debug" / "tfctl"))
CHECKOV = os.environ.get("CHECKOV") or shutil.which("checkov")
ENVIRONMENTS = sorted(path.stem for path in (ROOT / "Environments").glob("*.yaml") if path.stem != "base")


def skipped_checks():
    """The check ids of checkov-skips.yaml (`ID: reason`, the reason folded over indented lines)."""
    checks = {}
    for line in SKIPS.read_text().splitlines():
        if line and not line.startswith(("#", " ")):
            check, _, reason = line.partition(":")
            checks[check.strip()] = reason.strip()
    return checks


@pytest.fixture(scope="module")
def checkov():
    if CHECKOV and pathlib.Path(CHECKOV).exists():
        return CHECKOV
    if os.environ.get("TFCTL_REQUIRE_ORACLES") == "1":
        pytest.fail("checkov is not installed (make test installs it), and TFCTL_REQUIRE_ORACLES=1 requires it")
    pytest.skip("SKIPPED: checkov is not installed; `make test` installs it into .venv-checkov")


def test_every_skip_has_a_reason():
    checks = skipped_checks()
    assert checks, "checkov-skips.yaml lists nothing"
    for check in checks:
        assert check.startswith("CKV_"), check
    text = SKIPS.read_text()
    for check in checks:
        reason = text.split(f"{check}:", 1)[1].split("\nCKV_", 1)[0]
        assert len(reason.split()) >= 10, f"{check} needs a reason"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_no_failed_check_but_the_listed_ones(checkov, environment, tmp_path):
    out = tmp_path / environment
    subprocess.run([str(TFCTL), "render", "--chdir", str(ROOT), "--env", environment, "--out", str(out)],
                   check=True, capture_output=True)
    scan = subprocess.run(
        [checkov, "--directory", str(out / "terraform"), "--framework", "terraform", "--output", "json",
         "--skip-download", "--quiet"],
        capture_output=True, text=True, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    assert scan.returncode in (0, 1), scan.stderr[-2000:]
    report = json.loads(scan.stdout)
    assert report["summary"]["passed"] > 0, "checkov checked nothing"
    failed = {(check["check_id"], check["resource"]) for check in report["results"]["failed_checks"]}
    skips = skipped_checks()
    unexpected = sorted(item for item in failed if item[0] not in skips)
    assert not unexpected, f"{environment}: failed checks not listed in checkov-skips.yaml: {unexpected}"
    assert {check for check, _ in failed} == set(skips), \
        f"{environment}: listed in checkov-skips.yaml but passing now: {set(skips) - {c for c, _ in failed}}"
