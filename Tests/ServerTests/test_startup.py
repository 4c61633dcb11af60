"""What an operator sees when the server starts: the port it listens on whatever the log level, and a refusal,
naming the setting, for a bad value."""
import json
import os
import subprocess

import requests

from conftest import BINARY, Server


def test_the_listening_record_is_written_at_any_log_level():
    """With PORT=0 the record is the only way to learn the port: a warning level must not hide it."""
    server = Server("tenderflow", LOG_LEVEL="warning")
    try:
        assert requests.get(server.url + "/healthz", timeout=5).text == "ok"
    finally:
        server.stop()
    # Nothing below the level gets through: the session and connection records are info and debug.
    assert all(record["severity"] not in ("DEBUG", "INFO") for record in server.log if record.get("event") != "listening"), \
        server.log


def test_a_bad_log_level_stops_the_server_at_start():
    env = dict(os.environ, HOST="127.0.0.1", PORT="0", LOG_LEVEL="verbose")
    result = subprocess.run([BINARY], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "LOG_LEVEL=verbose is invalid" in result.stderr
    assert "warning" in result.stderr  # the accepted values are named
    assert all(not line or json.loads(line)["event"] != "listening" for line in result.stdout.splitlines())
