"""What an operator sees when the server starts: the port it listens on whatever the log level, and a refusal,
naming the setting, for a bad value."""
import json
import os
import subprocess
import time

from conftest import BINARY, Server
from protocol import open_polling, post


def test_the_listening_record_is_written_at_any_log_level():
    """With PORT=0 the record is the only way to learn the port: a warning level must not hide it, and hides
    what is below it (a session's end is a debug record, written at LOG_LEVEL=debug)."""
    for level, debug_records in (("warning", False), ("debug", True)):
        server = Server("tenderflow", LOG_LEVEL=level)
        try:
            sid = open_polling(server)
            post(server, "1", EIO=4, transport="polling", sid=sid)
            time.sleep(0.2)
        finally:
            server.stop()
        closed = [record for record in server.log if record.get("message") == "session closed"]
        assert bool(closed) == debug_records, (level, server.log)


def test_a_bad_log_level_stops_the_server_at_start():
    env = dict(os.environ, HOST="127.0.0.1", PORT="0", LOG_LEVEL="verbose")
    result = subprocess.run([BINARY], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "LOG_LEVEL=verbose is invalid" in result.stderr
    assert "warning" in result.stderr  # the accepted values are named
    assert all(not line or json.loads(line).get("event") != "listening" for line in result.stdout.splitlines())
