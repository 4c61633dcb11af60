"""The Realtime Database stand-in (Sources/LocalRuntime/Resources/rtdb_standin.py) for the tests, started as its own
process on a free port, as the local runtime starts it."""
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import requests

from conftest import ROOT, free_port

STANDIN = ROOT / "Sources" / "LocalRuntime" / "Resources" / "rtdb_standin.py"


class StandIn:
    """One database, `namespace`, at http://127.0.0.1:port; `fail_writes()` makes every write answer 503 until
    `heal()`."""

    def __init__(self, namespace="tfctl-test-default-rtdb", admin_tokens=(), rules=None, project="demo-tfctl"):
        self.namespace = namespace
        self.port = free_port()
        self.switch = pathlib.Path(tempfile.mkdtemp()) / "fail-writes"
        arguments = [sys.executable, str(STANDIN), "--port", str(self.port), "--namespace", namespace,
                     "--fail-writes-file", str(self.switch),
                     # A listener the SDK closes ends at the next keep-alive: soon, in tests.
                     "--keep-alive-seconds", "0.5"]
        for token in admin_tokens:
            arguments += ["--admin-token", token]
        if rules:
            arguments += ["--rules", str(rules), "--project", project]
        self.process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        assert "listening" in line, f"the stand-in did not start: {line}{self.process.stderr.read()}"
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"

    def get(self, path, **params):
        """The value at `path` as the owner reads it."""
        answer = requests.get(f"{self.url}/{path.strip('/')}.json", params={"ns": self.namespace, **params},
                              headers={"Authorization": "Bearer owner"}, timeout=5)
        answer.raise_for_status()
        return answer.json()

    def patch(self, updates):
        """A multi-path update as the owner (the mirror's kind of write): `{path: value or None}`."""
        answer = requests.patch(f"{self.url}/.json", params={"ns": self.namespace}, json=updates,
                                headers={"Authorization": "Bearer owner"}, timeout=5)
        answer.raise_for_status()

    def wait_for(self, path, predicate, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            value = self.get(path)
            if predicate(value) or time.monotonic() > deadline:
                return value
            time.sleep(0.05)

    def fail_writes(self):
        self.switch.touch()

    def heal(self):
        self.switch.unlink(missing_ok=True)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.heal()
        os.rmdir(self.switch.parent)
