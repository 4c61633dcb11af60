"""Starts the real realtime-server binary for the protocol tests, on a port the OS picks.

The binary is REALTIME_SERVER (default: the debug build, `swift build --product realtime-server`). The
suites' server profile: pingInterval 300 ms, pingTimeout 200 ms, connectTimeout 1000 ms, maxPayload 1e6.
"""
import contextlib
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import weakref

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("REALTIME_SERVER", str(ROOT / ".build" / "debug" / "realtime-server"))

PING_INTERVAL = 300
PING_TIMEOUT = 200
# Seconds from SIGTERM to exit that the server allows itself (DrainService.budget), inside Cloud Run's ten.
DRAIN_BUDGET = 8


class Server:
    def __init__(self, profile, **settings):
        env = dict(os.environ)
        env.update({
            "HOST": "127.0.0.1", "PORT": "0", "METRICS_PORT": "0", "REALTIME_PROFILE": profile,
            "PING_INTERVAL_MS": str(PING_INTERVAL), "PING_TIMEOUT_MS": str(PING_TIMEOUT),
            "CONNECT_TIMEOUT_MS": "1000", "LOG_LEVEL": "debug", "MAX_PAYLOAD_BYTES": "1000000", "CORS_ORIGINS": "*",
        })
        env.update({key: str(value) for key, value in settings.items()})
        self.process = subprocess.Popen([BINARY], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        listening = metrics = None
        self.log = []
        # Both listeners announce themselves, in either order: the server's port and the loopback metrics port.
        while time.monotonic() < deadline and not (listening and metrics):
            line = self.process.stdout.readline()
            if not line:  # end of output: the server exited (perhaps not yet reaped)
                self.process.wait(timeout=10)
                raise RuntimeError(f"server exited: {self.process.stderr.read()}")
            record = json.loads(line)  # every line of standard output is a JSON log record
            assert {"severity", "message", "time", "logger"} <= set(record), line
            self.log.append(record)
            if record.get("event") == "listening":
                listening = record
            if record.get("event") == "metrics_listening":
                metrics = record
        assert listening, "the server never reported that it listens"
        assert metrics, "the server never reported its metrics listener"
        assert metrics["host"] == "127.0.0.1", metrics
        self.port = int(listening["port"])
        # The loopback listener's /metrics.
        self.metrics_url = f"http://127.0.0.1:{metrics['port']}/metrics"
        # Keep reading the log so a full pipe never blocks the server; every line must stay JSON.
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
    # A 2 s connect timeout: the suite's heartbeat cases run three 300 ms ping rounds without connecting.
    server = Server("socketio-test-suite", CONNECT_TIMEOUT_MS=2000)
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
    response = requests.get(server.metrics_url, timeout=5)
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


REQUIRE_TOOLS = os.environ.get("TFCTL_REQUIRE_ORACLES") == "1"


def require_tool(name):
    """Skips the calling test when `name` is not installed, unless TFCTL_REQUIRE_ORACLES=1 (the project's CI
    script sets it), under which a missing tool fails the test."""
    if shutil.which(name):
        return
    if REQUIRE_TOOLS:
        pytest.fail(f"{name} is not installed, and TFCTL_REQUIRE_ORACLES=1 requires it")
    pytest.skip(f"SKIPPED: {name} is not installed; set TFCTL_REQUIRE_ORACLES=1 to make a missing tool a failure")


class RedisDidNotStart(RuntimeError):
    pass


class Redis:
    """A real redis-server (Debian's package) on a free loopback port; `kill` and `start` to play an outage.

    It counts as started when it logs that it accepts connections; one that exits first (a port taken between
    `free_port()` and its bind) is reported with its own last log lines and started again on a fresh port."""

    ATTEMPTS = 3

    def __init__(self, *options):
        require_tool("redis-server")
        self.options = list(options)
        self.process = None
        self.directory = tempfile.mkdtemp(prefix="redis-")
        weakref.finalize(self, shutil.rmtree, self.directory, True)
        failures = []
        for _ in range(self.ATTEMPTS):
            self.port = free_port()
            try:
                self._launch()
                return
            except RedisDidNotStart as failure:
                failures.append(str(failure))
        raise RedisDidNotStart(f"redis-server did not start in {self.ATTEMPTS} attempts:\n" + "\n".join(failures))

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        """Starts it again on the same port (after `kill`), retrying while the old port is not yet free."""
        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                return self._launch()
            except RedisDidNotStart:
                if attempt == self.ATTEMPTS:
                    raise
                time.sleep(0.1 * attempt)

    def _launch(self):
        log_path = os.path.join(self.directory, "redis-server.log")
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", self.directory, "--loglevel", "notice", *self.options], stdout=log, stderr=log)

        def tail():
            with open(log_path) as log:
                return "".join(log.readlines()[-5:]).strip() or "(it logged nothing)"

        # Looked at once more after the deadline: a loaded machine may not run this loop again until after it.
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RedisDidNotStart(f"redis-server on port {self.port} exited with status "
                                       f"{self.process.returncode}: {tail()}")
            with open(log_path) as log:
                if "Ready to accept connections" in log.read():
                    return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        self.process.kill()
        self.process.wait()
        raise RedisDidNotStart(f"redis-server on port {self.port} was not ready after 30 s: {tail()}")

    def kill(self):
        """SIGKILL, as when Memorystore's node goes away."""
        self.process.kill()
        self.process.wait()

    def cli(self, *arguments):
        return subprocess.run(["redis-cli", "-p", str(self.port), *arguments], capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()


@contextlib.contextmanager
def instances(count, **settings):
    """A real redis-server and `count` TenderFlow servers on it, as (redis, servers); afterwards the servers still
    running are stopped (a test may have killed some) and Redis is killed."""
    redis = Redis()
    servers = []
    try:
        servers = [Server("tenderflow", REDIS_URL=redis.url, **settings) for _ in range(count)]
        yield redis, servers
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.stop()
        redis.kill()
