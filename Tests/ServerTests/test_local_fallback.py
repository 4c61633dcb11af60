"""The Firebase fallback in a local run: `apply --target local` starts the Realtime Database stand-in, the servers
mirror to it and sign fallback tokens with a local key, and the token endpoint answers through the front door."""
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from test_local_runtime import ENVIRONMENT, haproxy, publish_directly, spec, state_directory, status, tfctl
from conftest import REQUIRE_TOOLS, free_port
import shutil

FIREBASE_AUDIENCE = "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit"


@pytest.fixture
def project(tmp_path):
    from test_local_runtime import TFCTL
    import os
    for tool, found in (("redis-server", shutil.which("redis-server")), ("haproxy", haproxy()),
                        ("python3", shutil.which("python3")), ("tfctl", os.access(TFCTL, os.X_OK) and TFCTL)):
        if not found:
            if REQUIRE_TOOLS:
                pytest.fail(f"{tool} is not installed, and TFCTL_REQUIRE_ORACLES=1 requires it")
            pytest.skip(f"SKIPPED: {tool} is not installed")
    (tmp_path / "Environments").mkdir()
    one_region = ENVIRONMENT.replace("regions: [us-central1, europe-west1]", "regions: [us-central1]")
    (tmp_path / "Environments" / "local.yaml").write_text(one_region + "firebase: { location: us-central1 }\n")
    yield tmp_path
    tfctl(tmp_path, "destroy", "--target", "local")


def test_a_local_run_mirrors_to_the_stand_in_and_signs_fallback_tokens(project):
    port = free_port()
    applied = tfctl(project, "apply", "--target", "local", "--port", str(port))
    assert "+ start rtdb" in applied.stdout, applied.stdout
    # Two users' links to the live-tender demo, through the front door, with tokens the servers take.
    links = [line.split(": ", 1)[1] for line in applied.stdout.splitlines() if "/fallback/v1/demo.html#" in line]
    assert len(links) == 2 and all(link.startswith(f"http://127.0.0.1:{port}/") for link in links), applied.stdout
    demo_token = links[0].split("token=", 1)[1]
    for asset in ("demo.html", "client.js", "socket.io.min.js"):
        answer = requests.get(f"http://127.0.0.1:{port}/fallback/v1/{asset}", timeout=5)
        assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "*", asset
    health = {process["id"]: process["health"] for process in status(project)["processes"]}
    assert health.get("rtdb") == "ready" and set(health.values()) == {"ready"}, health
    processes = {process["id"]: process for process in spec(project)["processes"]}
    database = processes["rtdb"]
    server = processes["realtime/us-central1/1"]["environment"]
    assert server["FIREBASE_DATABASE_EMULATOR_HOST"] == f"127.0.0.1:{database['port']}"
    assert server["FIREBASE_DATABASE_URL"] == "https://tfctl-local-test-rt.firebaseio.com"

    publish_directly(project, "realtime/us-central1/1", "7", 1)
    url = f"http://127.0.0.1:{database['port']}/tenders/7/events.json"
    deadline = time.monotonic() + 10
    while True:
        events = requests.get(url, params={"ns": "tfctl-local-test-rt"}, headers={"Authorization": "Bearer owner"},
                              timeout=5).json()
        if events or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    (record,) = events.values()
    assert record["event"] == "tender:update"

    # Through the front door, as a browser asks: /fallback/v1/token is not an admin path.
    answer = requests.post(f"http://127.0.0.1:{port}/fallback/v1/token", timeout=5,
                           headers={"Authorization": "Bearer " + demo_token,
                                    "X-Tfctl-Region": "us-central1"})
    assert answer.status_code == 200, answer.text
    key = serialization.load_pem_private_key(
        (state_directory(project) / "secrets" / "fallback-token.private.pem").read_bytes(), None)
    claims = jwt.decode(answer.json()["token"], key.public_key(), algorithms=["RS256"], audience=FIREBASE_AUDIENCE)
    assert claims["uid"] == "alice" and claims["claims"]["tenders"] == ",demo,"
    # Signed in at the stand-in, the client reads its tender under the rules tfctl renders, and no other.
    signed_in = requests.post(f"http://127.0.0.1:{database['port']}/identitytoolkit.googleapis.com/v1/"
                              "accounts:signInWithCustomToken", params={"key": "local"}, timeout=5,
                              json={"token": answer.json()["token"], "returnSecureToken": True})
    assert signed_in.status_code == 200, signed_in.text
    for tender, status_code in (("demo", 200), ("7", 401)):
        assert requests.get(f"http://127.0.0.1:{database['port']}/tenders/{tender}/events.json", timeout=5,
                            params={"ns": "tfctl-local-test-rt", "auth": signed_in.json()["idToken"]}
                            ).status_code == status_code, tender
    assert requests.post(f"http://127.0.0.1:{port}/v1/publish", timeout=5).status_code == 403
