"""The connection audit trail: one structured log line per Socket.IO CONNECT accepted or refused, with the user,
namespace, the client's address as the load balancer saw it (X-Forwarded-For's second entry from the end), the
transport and the refusal's reason; AUDIT_SAMPLE_RATE=0 writes none."""
import asyncio
import time

import socketio

from conftest import Server
from test_auth import AUDIENCE, ISSUER, PUBLIC_PEM, token

# What the global external Application Load Balancer passes on: whatever the client claimed, then the address it
# saw, then the forwarding rule's.
FORWARDED = "198.51.100.66, 203.0.113.7, 34.120.1.2"


def audit_lines(server, count, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [record for record in server.log if record.get("event") == "connection_audit"]
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    return [record for record in server.log if record.get("event") == "connection_audit"]


async def connect(server, auth, transports):
    sio = socketio.AsyncClient(reconnection=False)
    try:
        await sio.connect(server.url, namespaces=["/tenders"], auth=auth, transports=transports,
                          headers={"X-Forwarded-For": FORWARDED}, wait_timeout=5)
        await sio.disconnect()
    except socketio.exceptions.ConnectionError:
        await sio.disconnect()


def test_accepted_and_refused_connections_are_audited():
    server = Server("tenderflow", JWT_RS256_PUBLIC_KEY=PUBLIC_PEM, JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE)
    try:
        asyncio.run(connect(server, {"token": token("RS256")}, ["polling"]))
        asyncio.run(connect(server, {"token": token("RS256", aud="someone-else")}, ["websocket"]))
        accepted, refused = audit_lines(server, 2)[:2]
    finally:
        server.stop()
    assert accepted["outcome"] == "accepted" and accepted["user"] == "alice", accepted
    assert accepted["namespace"] == "/tenders" and accepted["transport"] == "polling"
    assert accepted["client_ip"] == "203.0.113.7", "the address the load balancer saw, not the client's claim"
    assert accepted["socket"] and accepted["severity"] == "INFO"
    assert refused["outcome"] == "refused" and refused["transport"] == "websocket", refused
    assert refused["reason"].startswith("unauthorized") and "user" not in refused
    assert refused["client_ip"] == "203.0.113.7"


def test_sampling_to_zero_writes_no_audit_line():
    server = Server("tenderflow", AUDIT_SAMPLE_RATE=0)
    try:
        asyncio.run(connect(server, {"user": "bob"}, ["websocket"]))
        time.sleep(0.3)
        assert audit_lines(server, 1, timeout=0.2) == []
        assert any(record.get("event") == "listening" for record in server.log)
    finally:
        server.stop()
