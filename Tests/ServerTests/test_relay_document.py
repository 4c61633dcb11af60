"""The relay endpoints document deploy.sh assembles in the shell is the JSON the server reads: run the rendered
script's own `json_lines` helper and document line with sample endpoints (a multi-line PEM among them) and parse
what comes out."""
import json
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TFCTL = pathlib.Path(os.environ.get("TFCTL", ROOT / ".build" / "debug" / "tfctl"))
PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----"


def test_the_shell_built_relay_document_is_the_json_the_server_reads(tmp_path):
    if not TFCTL.exists():
        pytest.fail(f"{TFCTL} is not built")
    subprocess.run([str(TFCTL), "render", "--env", "prod", "--out", str(tmp_path / "out")], cwd=ROOT, check=True,
                   capture_output=True)
    script = (tmp_path / "out" / "gcloud" / "deploy.sh").read_text()
    helper = re.search(r"^json_lines\(\) \{\n.*?^\}\n", script, re.M | re.S).group(0)
    document = re.search(r"^ *relay_document=.*$", script, re.M).group(0).strip()
    regions = sorted(set(re.findall(r"\$\{relay_url_(\w+)\}", document)))
    assert regions == ["asia_southeast1", "europe_west1", "us_central1"]
    assignments = []
    for index, region in enumerate(regions):
        assignments.append(f"relay_url_{region}='rediss://:0f1e-auth@10.{index}.0.3:6378'")
        assignments.append(f'relay_ca_{region}="$(json_lines "$PEM")"')
    program = "\n".join([helper, *assignments, document, 'printf "%s" "$relay_document"'])
    result = subprocess.run(["bash", "-euc", program], capture_output=True, text=True, check=True,
                            env={"PEM": PEM, "PATH": os.environ["PATH"]})
    parsed = json.loads(result.stdout)
    assert parsed["format"] == "tfctl.relay-endpoints/v1"
    assert sorted(parsed["regions"]) == ["asia-southeast1", "europe-west1", "us-central1"]
    for index, region in enumerate(sorted(parsed["regions"])):
        assert parsed["regions"][region] == {"ca": PEM, "url": f"rediss://:0f1e-auth@10.{index}.0.3:6378"}
