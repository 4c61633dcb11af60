"""Starts the real realtime-server binary for the protocol tests, on a port the OS picks.

The binary is REALTIME_SERVER (default: the debug build, `swift build --product realtime-server`). The
suites' server profile: pingInterval 300 ms, pingTimeout 200 ms, connectTimeout 1000 ms, maxPayload 1e6.
"""
import json
import os
import pathlib
import re
import socket
import subprocess
import threading
import time

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("REALTIME_SERVER", str(ROOT / ".build" / "debug" / "realtime-server"))

PING_INTERVAL = 300
PING_TIMEOUT = 200


class Server:
    def __init__(self, profile, **settings):
        env = dict(os.environ)
        env.update({
            "HOST": "127.0.0.1", "PORT": "0", "REALTIME_PROFILE": profile,
            "PING_INTERVAL_MS": str(PING_INTERVAL), "PING_TIMEOUT_MS": str(PING_TIMEOUT),
            "CONNECT_TIMEOUT_MS": "1000", "LOG_LEVEL": "debug", "MAX_PAYLOAD_BYTES": "1000000", "CORS_ORIGINS": "*",
        })
        env.update({key: str(value) for key, value in settings.items()})
        self.process = subprocess.Popen([BINARY], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        event = {}
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read()}")
            record = json.loads(line)  # every line of standard output is a JSON log record
            assert {"severity", "message", "time", "logger"} <= set(record), line
            if record.get("event") == "listening":
                event = record
                break
        assert event, "the server never reported that it listens"
        self.port = int(event["port"])
        # Keep reading the log so a full pipe never blocks the server; every line must stay JSON.
        self.log = []
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"

    def _read_log(self):
        for line in self.process.stdout:
            self.log.append(json.loads(line))

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def socketio_server():
    server = Server("socketio-test-suite")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def engine_server():
    server = Server("engine-echo")
    yield server
    server.stop()


PUBLISH_TOKEN = "test-publish-token-0123456789"


def publish(server, body, token=PUBLISH_TOKEN):
    """POST /v1/publish with `body` as JSON, as a backend service would (no token: no Authorization header)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(server.url + "/v1/publish", json=body, headers=headers, timeout=5)


def metrics(server):
    """The server's /metrics as {"name{labels}": value}."""
    response = requests.get(server.url + "/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values = {}
    for line in response.text.splitlines():
        match = re.match(r"^([a-z_]+(?:\{[^}]*\})?) (\S+)$", line)
        if match:
            values[match.group(1)] = float(match.group(2))
    return values


@pytest.fixture(scope="module")
def tenderflow_server():
    server = Server("tenderflow", PUBLISH_TOKEN=PUBLISH_TOKEN, MAX_ROOMS_PER_SOCKET=3)
    yield server
    server.stop()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Redis:
    """A real redis-server (Debian's package) on a free loopback port; `kill` and `start` to play an outage."""

    def __init__(self, *options):
        self.port = free_port()
        self.options = list(options)
        self.process = None
        self.start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--loglevel", "warning", *self.options], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def kill(self):
        """SIGKILL, as when Memorystore's node goes away."""
        self.process.kill()
        self.process.wait()

    def cli(self, *arguments):
        return subprocess.run(["redis-cli", "-p", str(self.port), *arguments], capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
