"""The bounded pass of the hostile-input and churn harness (hostile.py; `make soak` runs the long one): after
each category of malformed input and after the churn, the server holds no more descriptors than at the start,
a second identical burst leaves less than 5 MiB more resident memory than the first, and canary clients got
every publish in order."""
import socket

import pytest

from conftest import Server
from hostile import CATEGORIES, Soak, burst, open_descriptors, resident_kib


@pytest.fixture(scope="module")
def soak():
    stage = Soak()
    yield stage
    stage.close()


def test_hostile_input_and_churn_leave_nothing_behind(soak):
    baseline = open_descriptors(soak.server)
    lines = []
    resident = []
    for index in range(2):
        results = burst(soak.server, seconds=1.0, idle=0, baseline=baseline, report=lines.append,
                        label=f"burst {index + 1}")
        assert set(results) == {*CATEGORIES, "churn"}
        leaked = {name: count for name, (_, count) in results.items() if count > baseline + 3}
        assert not leaked, f"descriptors not given back (start {baseline}): {leaked}\n" + "\n".join(lines)
        assert all(attempts > 0 for attempts, _ in results.values()), "\n".join(lines)
        resident.append(resident_kib(soak.server))
    growth = (resident[1] - resident[0]) / 1024
    assert growth < 5, f"the second identical burst grew RSS by {growth:.1f} MiB\n" + "\n".join(lines)
    problems = soak.finish()
    assert soak.publisher.sent > 20 and not soak.publisher.failures
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("request_bytes", [
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",  # over NIO's 80 KiB
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200),  # a TLS hello on the plain port
])
def test_a_first_request_the_parser_refuses_closes_the_connection(request_bytes):
    """No responder exists before the first request is parsed: the connection must not stay open, holding its
    descriptor, for as long as the client likes."""
    server = Server("tenderflow")
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
            try:
                connection.sendall(request_bytes)
                assert connection.recv(1024) == b""
            except ConnectionResetError:
                pass  # closed with our bytes unread: a reset, which is a close too
    finally:
        server.stop()
