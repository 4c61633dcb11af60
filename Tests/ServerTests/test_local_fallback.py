"""The Firebase fallback in a local run: `apply --target local` starts the Realtime Database stand-in, the servers
mirror to it and sign fallback tokens with a local key, and the token endpoint answers through the front door."""
import json
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


def test_a_local_run_uses_firebase_s_emulators_when_the_cli_is_installed(project, tmp_path):
    """With `firebase` on PATH the local run starts `firebase emulators:start` (here a stand-in for the CLI that holds
    tfctl to its command line and `firebase.json`, fake_firebase_cli.py) instead of tfctl's stand-in: the servers
    mirror to the database emulator, and their clients sign in at the Auth emulator, a host of its own."""
    import os
    import sys
    from pathlib import Path
    here = Path(__file__).resolve().parent
    stand_in = here.parents[1] / "Sources" / "LocalRuntime" / "Resources" / "rtdb_standin.py"
    bin_directory = tmp_path / "firebase-cli"
    bin_directory.mkdir()
    cli = bin_directory / "firebase"
    cli.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{here / "fake_firebase_cli.py"}" "{stand_in}" "$@"\n')
    cli.chmod(0o755)
    # tfctl picks the emulators only where the Java they run on is installed; the fake CLI runs none, so any
    # executable named java satisfies that check.
    java = bin_directory / "java"
    java.write_text("#!/bin/sh\nexit 0\n")
    java.chmod(0o755)
    environment = {**os.environ, "PATH": f"{bin_directory}:{os.environ['PATH']}"}
    port = free_port()
    applied = tfctl(project, "apply", "--target", "local", "--port", str(port), env=environment)
    assert "+ start rtdb" in applied.stdout, applied.stdout
    health = {process["id"]: process["health"] for process in status(project)["processes"]}
    assert set(health.values()) == {"ready"}, health

    database = {process["id"]: process for process in spec(project)["processes"]}["rtdb"]
    config_file = state_directory(project) / "firebase.json"
    assert database["executable"] == str(cli)
    assert database["arguments"] == ["emulators:start", "--only", "auth,database", "--project",
                                     "demo-tfctl-local-test", "--config", str(config_file)]
    emulators = json.loads(config_file.read_text())["emulators"]
    assert emulators["database"]["port"] == database["port"]
    auth_host = f"127.0.0.1:{emulators['auth']['port']}"
    server = {process["id"]: process for process in spec(project)["processes"]}["realtime/us-central1/1"]
    assert server["environment"]["FIREBASE_DATABASE_EMULATOR_HOST"] == f"127.0.0.1:{database['port']}"
    assert server["environment"]["FIREBASE_AUTH_EMULATOR_HOST"] == auth_host

    publish_directly(project, "realtime/us-central1/1", "demo", 1)
    links = [line.split(": ", 1)[1] for line in applied.stdout.splitlines() if "/fallback/v1/demo.html#" in line]
    token = links[0].split("token=", 1)[1]
    grant = requests.post(f"http://127.0.0.1:{port}/fallback/v1/token", timeout=5,
                          headers={"Authorization": "Bearer " + token}).json()
    assert grant["emulatorHost"] == f"127.0.0.1:{database['port']}" and grant["authEmulatorHost"] == auth_host
    assert "apiKey" not in grant, "a local run has no browser key: an emulator takes any"
    # As the reference client does: sign in at the Auth emulator, read at the database emulator.
    signed_in = requests.post(f"http://{auth_host}/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken",
                              params={"key": "local"}, json={"token": grant["token"], "returnSecureToken": True},
                              timeout=5)
    assert signed_in.status_code == 200, signed_in.text
    deadline = time.monotonic() + 10
    while True:
        events = requests.get(f"http://{grant['emulatorHost']}/tenders/demo/events.json", timeout=5,
                              params={"ns": "tfctl-local-test-rt", "auth": signed_in.json()["idToken"]})
        assert events.status_code == 200, events.text
        if events.json() or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    (record,) = events.json().values()
    assert record["event"] == "tender:update"
