"""`tfctl apply --target local` end to end: a two-region topology on this machine (a redis-server with AUTH and TLS
per region, two server instances per region, haproxy as the front door), reached by real clients through one URL.

A broadcast published in one region reaches subscribers in the other; a killed instance is restarted by the
supervisor while its client reconnects through the front door to the other instance and recovers what it missed;
a second apply changes nothing, a changed variable restarts the servers one at a time; a run whose supervisor died
is found and stopped; destroy leaves no process behind, and a second destroy is a no-op."""
import asyncio
import json
import os
import pathlib
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time

import aiohttp
import jwt
import pytest
import requests
import socketio
from websockets.sync.client import connect

from conftest import REQUIRE_TOOLS, free_port
from tenderflow_client import TendersOverWebSocket

TFCTL = os.environ.get("TFCTL", str(pathlib.Path(__file__).parents[2] / ".build" / "debug" / "tfctl"))
ISSUER, AUDIENCE = "https://auth.local.test", "tenderflow-local"
ENVIRONMENT = f"""
project: tfctl-local-test
name: rt
regions: [us-central1, europe-west1]
services:
  realtime:
    image: bundled
    min_instances: 1
    max_instances: 4
    env: {{ LOG_LEVEL: info, JWT_ISSUER: "{ISSUER}", JWT_AUDIENCE: {AUDIENCE} }}
    secrets: {{ JWT_RS256_PUBLIC_KEY: rt-jwt-public-key, PUBLISH_TOKEN: rt-publish-token }}
memorystore: {{ tier: basic, memory_gb: 1, version: "7.2", auth: true, transit_encryption: true }}
load_balancer:
  domains: [rt.example.com]
  rate_limit: {{ requests: 100000, interval_seconds: 60 }}
"""


def haproxy():
    return shutil.which("haproxy", path=os.environ.get("PATH", "") + ":/usr/sbin")


@pytest.fixture
def project(tmp_path):
    for tool, found in (("redis-server", shutil.which("redis-server")), ("haproxy", haproxy()),
                        ("tfctl", os.access(TFCTL, os.X_OK) and TFCTL)):
        if not found:
            if REQUIRE_TOOLS:
                pytest.fail(f"{tool} is not installed, and TFCTL_REQUIRE_ORACLES=1 requires it")
            pytest.skip(f"SKIPPED: {tool} is not installed")
    (tmp_path / "Environments").mkdir()
    (tmp_path / "Environments" / "local.yaml").write_text(ENVIRONMENT)
    yield tmp_path
    # Whatever happened, nothing is left running.
    tfctl(tmp_path, "destroy", "--target", "local")


def tfctl(project, *arguments, check=True, env=None):
    result = subprocess.run([TFCTL, *arguments, "--env", "local", "--chdir", str(project)], capture_output=True,
                            text=True, timeout=300, env=env)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def state_directory(project):
    return project / ".tfctl" / "local" / "local"


def spec(project):
    return json.loads((state_directory(project) / "spec.json").read_text())


def status(project):
    return json.loads(tfctl(project, "status", "--format", "json").stdout)


def pids(project):
    return {process["id"]: process["pid"] for process in status(project)["processes"]}


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def token(project, user, tenders):
    key = (state_directory(project) / "secrets" / "rt-jwt-public-key.private.pem").read_text()
    claims = {"sub": user, "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600, "tenders": tenders}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "rs256"})


def publish_directly(project, instance, tender, sequence):
    """POST /v1/publish to one instance, as a backend in the VPC does (the front door refuses /v1)."""
    port = next(process["port"] for process in spec(project)["processes"] if process["id"] == instance)
    publish_token = (state_directory(project) / "secrets" / "rt-publish-token").read_text()
    response = requests.post(f"http://127.0.0.1:{port}/v1/publish", timeout=5,
                             headers={"Authorization": f"Bearer {publish_token}"},
                             json={"namespace": "/tenders", "room": f"tender:{tender}", "event": "tender:update",
                                   "data": {"sequence": sequence}})
    assert response.status_code == 202, response.text


class FrontDoorClient(TendersOverWebSocket):
    """Socket.IO on /tenders over a raw WebSocket through the front door, speaking connection state recovery as
    socket.io-client does, and keeping the affinity cookie the front door sets, as a browser does."""

    def __init__(self, url, region, bearer, cookie=None, pid=None, offset=None):
        headers = {"X-Tfctl-Region": region, **({"Cookie": cookie} if cookie else {})}
        self.ws = connect(url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
                          additional_headers=headers, open_timeout=10).__enter__()  # open until the run stops
        set_cookie = self.ws.response.headers.get("set-cookie", "")
        self.cookie = set_cookie.split(";")[0] if set_cookie else cookie
        assert self.ws.recv(timeout=10).startswith("0{")
        self.connect_namespace({"token": bearer}, pid, offset)


async def socketio_client(url, region, bearer, transport):
    """python-socketio through the front door on one transport, subscribed to tender 7; events go to a queue."""
    # Cookies kept as a browser keeps them (aiohttp refuses cookies from an IP address by default): the affinity
    # cookie keeps the polls on the client's region and instance. python-engineio sends `headers` on the
    # handshake only.
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    client = socketio.AsyncClient(reconnection=False, http_session=session)
    events = asyncio.Queue()
    client.on("tender:update", lambda data, *offset: events.put_nowait(data["sequence"]), namespace="/tenders")
    await client.connect(url, headers={"X-Tfctl-Region": region}, namespaces=["/tenders"],
                         auth={"token": bearer}, transports=[transport], wait_timeout=10)
    assert (await client.call("subscribe", {"tenderId": "7"}, namespace="/tenders", timeout=10))["ok"]
    return client, events, session


def wait_for(condition, within=30, message="condition"):
    deadline = time.monotonic() + within
    while True:
        if result := condition():
            return result
        assert time.monotonic() < deadline, f"{message} not met within {within} s"
        time.sleep(0.2)


def test_a_two_region_topology_runs_locally_end_to_end(project):
    port = free_port()
    applied = tfctl(project, "apply", "--target", "local", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    assert f"front door on {url}" in applied.stdout
    assert "+ start redis/europe-west1" in applied.stdout
    ids = set(pids(project))
    assert ids == {"redis/us-central1", "redis/europe-west1", "front-door",
                   *(f"realtime/{region}/{n}" for region in ("us-central1", "europe-west1") for n in (1, 2))}
    health = {process["id"]: process["health"] for process in status(project)["processes"]}
    assert set(health.values()) == {"ready"}, health
    # The Redis of a model with AUTH and in-transit encryption takes only TLS with the password.
    redis_config = (state_directory(project) / "redis" / "us-central1" / "redis.conf").read_text()
    assert "port 0" in redis_config and "tls-port" in redis_config and "requirepass" in redis_config
    # The admin and metrics paths are refused at the front door, however they are spelled.
    for path in ("/metrics", "/v1/publish", "//V1/instances", "/%76%31/publish"):
        assert requests.get(url + path, timeout=5).status_code == 403, path

    # A broadcast published in us-central1 reaches subscribers of both regions, on both transports.
    async def broadcast():
        clients = [await socketio_client(url, region, token(project, user, ["7"]), transport)
                   for region, user, transport in (("us-central1", "ann", "websocket"),
                                                  ("europe-west1", "ben", "polling"),
                                                  ("europe-west1", "bo", "websocket"))]
        await asyncio.to_thread(publish_directly, project, "realtime/us-central1/1", "7", 1)
        for _, events, _ in clients:
            assert await asyncio.wait_for(events.get(), 10) == 1
        for client, _, session in clients:
            await client.disconnect()
            await session.close()
    asyncio.run(broadcast())

    # An instance killed: its client comes back through the front door on the other instance and recovers.
    client = FrontDoorClient(url, "europe-west1", token(project, "cy", ["9"]))
    assert client.cookie and client.cookie.startswith("GAESA=europe-west1-i"), client.cookie
    client.subscribe("9")
    publish_directly(project, "realtime/europe-west1/1", "9", 0)
    assert client.sequences(1) == [0]
    doomed = "realtime/europe-west1/" + client.cookie[-1]
    survivor = "realtime/europe-west1/" + ("2" if doomed.endswith("1") else "1")
    before = pids(project)
    os.kill(before[doomed], signal.SIGKILL)
    publish_directly(project, survivor, "9", 1)
    publish_directly(project, "realtime/us-central1/2", "9", 2)
    back = FrontDoorClient(url, "europe-west1", token(project, "cy", ["9"]), cookie=client.cookie, pid=client.pid,
                           offset=client.offset)
    assert back.sid == client.sid, "the session was not recovered"
    assert back.sequences(2) == [1, 2]
    # Its instance being gone, the front door sent it to the other one and said so with a new affinity cookie
    # (unless the supervisor's replacement, 2 s later, was up first: then the client stays with the replacement).
    moved = back.cookie == "GAESA=europe-west1-i" + survivor[-1]
    assert moved or wait_for(lambda: pids(project)[doomed] != before[doomed], within=1), back.cookie
    # The supervisor starts the killed instance again, as Cloud Run would.
    restarted = wait_for(lambda: next((p for p in status(project)["processes"]
                                       if p["id"] == doomed and p["restarts"] == 1 and p["health"] == "ready"),
                                      None), message="the killed instance restarted")
    assert restarted["pid"] != before[doomed]
    assert any(p["id"] in (survivor, doomed) and p.get("connections", 0) >= 1 for p in status(project)["processes"])
    # Every instance's metrics in one exposition, each sample labelled with its instance.
    exposition = tfctl(project, "status", "--metrics").stdout
    for instance in ("realtime/us-central1/1", "realtime/us-central1/2", "realtime/europe-west1/1"):
        assert f'realtime_redis_connected{{instance="{instance}"}} 1' in exposition, exposition[:2000]
    assert exposition.count("# TYPE realtime_connections ") == 1

    # Nothing changed: plan says so and a second apply restarts nothing.
    assert "No changes" in tfctl(project, "plan", "--target", "local").stdout
    steady = pids(project)
    assert "No changes" in tfctl(project, "apply", "--target", "local").stdout
    assert pids(project) == steady

    # A changed variable restarts every server, one at a time; Redis and the front door stay, and the front door
    # answers every handshake meanwhile: no instance stops before the front door routes to the one before it.
    environment = project / "Environments" / "local.yaml"
    environment.write_text(ENVIRONMENT.replace("LOG_LEVEL: info", "LOG_LEVEL: debug"))
    planned = tfctl(project, "plan", "--target", "local", "--detailed-exitcode", check=False)
    assert planned.returncode == 2 and "4 to restart" in planned.stdout, planned.stdout
    answers, rolling = [], threading.Event()

    def handshakes():
        while not rolling.is_set():
            for region in ("us-central1", "europe-west1"):
                response = requests.get(url + "/socket.io/?EIO=4&transport=polling", timeout=10,
                                        headers={"X-Tfctl-Region": region})
                answers.append(response.status_code)
            time.sleep(0.05)
    watcher = threading.Thread(target=handshakes)
    watcher.start()
    try:
        tfctl(project, "apply", "--target", "local")
    finally:
        rolling.set()
        watcher.join()
    logs = state_directory(project) / "logs"
    assert len(answers) > 20 and set(answers) == {200}, (
        answers, (logs / "supervisor.log").read_text()[-3000:], (logs / "front-door.log").read_text()[-3000:])
    rolled = pids(project)
    for process, pid in rolled.items():
        assert (pid != steady[process]) == process.startswith("realtime/"), process
    log = (state_directory(project) / "logs" / "supervisor.log").read_text()
    restarts = [line for line in log.splitlines() if "its definition changed" in line or " is ready" in line]
    assert len([line for line in restarts if "restarting" in line]) == 4

    # tfctl dies with its supervisor: the run is found stale, and destroy stops what it left.
    everything = set(rolled.values())
    supervisor = status(project)["supervision"]
    os.kill(int(supervisor.split("pid ")[1].rstrip(")")), signal.SIGKILL)
    assert wait_for(lambda: status(project)["supervision"].startswith("gone"), within=10)
    assert "is stopped" in tfctl(project, "destroy", "--target", "local").stdout
    wait_for(lambda: not any(alive(pid) for pid in everything), within=15, message="every process gone")
    assert "Nothing runs" in tfctl(project, "destroy", "--target", "local").stdout


def test_a_front_door_port_in_use_is_refused_with_a_way_out_and_starts_nothing(project):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = tfctl(project, "apply", "--target", "local", "--port", str(port), check=False)
    assert result.returncode == 1
    assert f"port {port} (front-door) is in use by another program" in result.stderr
    assert "--port" in result.stderr
    assert not (state_directory(project) / "state.json").exists()
    assert status(project)["supervision"] == "none"


def test_loadtest_measures_a_local_run_through_the_front_door_on_both_transports(project):
    port = free_port()
    tfctl(project, "apply", "--target", "local", "--port", str(port))
    for transport in ("websocket", "polling"):
        result = tfctl(project, "loadtest", "--connections", "40", "--rooms", "4", "--rate", "20", "--duration", "2",
                       "--transport", transport, "--region", "europe-west1", "--format", "json")
        report = json.loads(result.stdout)
        assert report["format"] == "tfctl.loadtest/v1"
        assert report["subscribed"] == 40, report
        assert report["errors"] == {}, report
        assert report["publishes"] >= 30, report
        # Every accepted publish reached the ten subscribers of its room, each once.
        assert report["deliveries"] == report["expected_deliveries"] == report["publishes"] * 10, report
        assert 0 < report["latency_ms"]["p50"] <= report["latency_ms"]["p99"] <= report["latency_ms"]["max"], report
        assert report["loadtest_cpu_us_per_delivery"] > 0, report
    # Only this machine, unless told otherwise.
    refused = tfctl(project, "loadtest", "--url", "http://192.0.2.1:80", check=False)
    assert refused.returncode == 1 and "--allow-remote" in refused.stderr


def test_follow_prefixes_every_process_and_ctrl_c_stops_the_whole_run(project):
    command = [TFCTL, "up", "--follow", "--port", str(free_port()), "--env", "local", "--chdir", str(project)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()

    def next_line_with(text, within=60):
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} within {within} s")

    try:
        next_line_with("is ready")
        started = pids(project)
        # Something happens: the supervisor's own log line comes through, prefixed (no colour: not a terminal).
        os.kill(started["realtime/us-central1/2"], signal.SIGKILL)
        assert next_line_with("realtime/us-central1/2 exited").startswith("tfctl ")
        next_line_with(" | ")
        process.send_signal(signal.SIGINT)  # Ctrl-C
        assert process.wait(timeout=60) == 0
        assert "Stopping the local run" in "".join(iter_remaining(lines))
        wait_for(lambda: not any(alive(pid) for pid in started.values()), within=15, message="every process gone")
        assert status(project)["supervision"] == "none"
    finally:
        if process.poll() is None:
            process.kill()


def iter_remaining(lines):
    while True:
        try:
            yield lines.get(timeout=1)
        except queue.Empty:
            return


def test_a_missing_program_is_named_with_the_command_that_installs_it(project):
    # Without /usr/bin on PATH there is no redis-server (haproxy is found in /usr/sbin all the same).
    result = subprocess.run([TFCTL, "up", "--env", "local", "--chdir", str(project)], capture_output=True, text=True,
                            env={"PATH": "/nonexistent", "HOME": os.environ.get("HOME", "/")}, timeout=60)
    assert result.returncode == 1
    assert "needs redis-server: sudo apt-get install redis-server" in result.stderr, result.stderr
    assert not (state_directory(project) / "spec.json").exists()
