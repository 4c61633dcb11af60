"""Graceful drain on SIGTERM, as Cloud Run sends it: clients are told to reconnect, the process exits cleanly
and quickly (Cloud Run allows about ten seconds)."""
import asyncio
import signal
import socket
import time

import requests
import socketio

from conftest import DRAIN_BUDGET, Server
from protocol import stalled_websocket


def test_sigterm_disconnects_clients_and_exits_cleanly():
    server = Server("tenderflow")
    try:
        assert requests.get(server.url + "/readyz", timeout=5).status_code == 200
        assert requests.get(server.url + "/healthz", timeout=5).text == "ok"

        async def scenario():
            clients, disconnected = [], asyncio.Queue()
            for transports in (["websocket"], ["polling"]):
                sio = socketio.AsyncClient(reconnection=False)

                @sio.event(namespace="/tenders")
                async def disconnect(*reason, transports=transports):
                    await disconnected.put(transports[0])

                await sio.connect(server.url, namespaces=["/tenders"], transports=transports, wait_timeout=5)
                clients.append(sio)
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            seen = {await asyncio.wait_for(disconnected.get(), 5) for _ in clients}
            assert seen == {"websocket", "polling"}
            assert time.monotonic() - started < 3
            for sio in clients:
                await sio.disconnect()

        asyncio.run(scenario())
        assert server.process.wait(timeout=8) == 0
        server.reader.join(5)
        drained = [record for record in server.log if record["message"] == "drained"]
        assert drained and drained[0]["severity"] == "INFO" and drained[0]["sessions"] == "2"
    finally:
        if server.process.poll() is None:
            server.stop()


def test_a_client_that_never_answers_the_close_does_not_hold_up_the_exit():
    # The WebSocket close handshake waits for the client's close frame; one that never reads must not keep
    # the process past Cloud Run's ten seconds (after which it is killed without a clean exit).
    server = Server("tenderflow")
    try:
        stalled = stalled_websocket(server, "stalled", "1")
        try:
            assert requests.get(server.url + "/readyz", timeout=5).status_code == 200
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(timeout=8) == 0
            assert time.monotonic() - started < 5
        finally:
            stalled.close()
    finally:
        if server.process.poll() is None:
            server.stop()


def test_connections_that_never_sent_a_request_are_closed_and_the_exit_is_prompt():
    # Browsers open spare, preconnected connections and may never use them; nor may a half-sent request.
    # Neither may keep the process past the drain budget (Cloud Run kills it at ten seconds).
    server = Server("tenderflow")
    try:
        silent = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        partial = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        partial.sendall(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n")
        kept_alive = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        kept_alive.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert kept_alive.recv(1024).startswith(b"HTTP/1.1 200")
        try:
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(timeout=DRAIN_BUDGET + 2) == 0
            assert time.monotonic() - started < 3, "the exit waited on a connection"
            for connection in (silent, partial, kept_alive):
                assert connection.recv(1024) == b""  # closed by the server
        finally:
            for connection in (silent, partial, kept_alive):
                connection.close()
        server.reader.join(5)
        assert not [record for record in server.log if record["message"] == "shutdown budget exceeded, exiting"]
    finally:
        if server.process.poll() is None:
            server.stop()
