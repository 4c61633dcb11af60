"""Small raw-protocol helpers for the ported conformance cases: HTTP long-polling with requests, WebSocket
with the websockets library, both with timeouts on every wait; and a raw WebSocket client that never reads."""
import base64
import contextlib
import json
import os
import socket
import struct

import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

SEPARATOR = "\x1e"
TIMEOUT = 5


def get(server, path="/socket.io/", **query):
    return requests.get(server.url + path, params=query, timeout=TIMEOUT)


def post(server, body, path="/socket.io/", **query):
    return requests.post(server.url + path, params=query, data=body, timeout=TIMEOUT)


def open_polling(server, path="/socket.io/"):
    response = get(server, path, EIO=4, transport="polling")
    assert response.status_code == 200, response.text
    assert response.text.startswith("0")
    return json.loads(response.text[1:])["sid"]


def websocket(server, path="/socket.io/", **query):
    query.setdefault("EIO", 4)
    query.setdefault("transport", "websocket")
    url = server.ws_url + path + "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return connect(url, open_timeout=TIMEOUT, close_timeout=TIMEOUT)


@contextlib.contextmanager
def probed(server):
    """A polling session with a WebSocket that has sent the upgrade probe and got its answer (`2probe`, then
    `3probe`), before the upgrade packet; yields the WebSocket and the session id."""
    sid = open_polling(server)
    with websocket(server, sid=sid) as socket:
        socket.send("2probe")
        assert receive(socket) == "3probe"
        yield socket, sid


def assert_websocket_refused(server, **query):
    """A WebSocket the server must not keep: refused at the upgrade (HTTP 400) or closed at once, never left open
    and silent (the official suites wait for its `close` event)."""
    try:
        with websocket(server, **query) as socket:
            socket.recv(timeout=TIMEOUT)  # a timeout here is an open, silent socket: the failure
    except ConnectionClosed:
        return
    except InvalidStatus as refused:
        assert refused.response.status_code == 400, refused
        return
    raise AssertionError("the server kept the WebSocket open and sent something")


def receive(socket, skip_pings=True):
    """The next frame (str or bytes), skipping server pings unless asked not to."""
    while True:
        frame = socket.recv(timeout=TIMEOUT)
        if skip_pings and frame == "2":
            continue
        return frame


def upgrade_raw(connection):
    """The WebSocket handshake of an Engine.IO WebSocket on a connected socket, byte by byte."""
    key = base64.b64encode(os.urandom(16)).decode()
    connection.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += connection.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response


def client_frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """A client's WebSocket frame (RFC 6455 §5.2), masked unless told otherwise; `length` may claim a length
    other than the payload's."""
    length = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    marker = 0x80 if mask else 0
    if length < 126:
        head += bytes([marker | length])
    elif length < 1 << 16:
        head += bytes([marker | 126]) + struct.pack("!H", length)
    else:
        head += bytes([marker | 127]) + struct.pack("!Q", length)
    if mask:
        key = os.urandom(4)
        head += key
        payload = bytes(byte ^ key[index % 4] for index, byte in enumerate(payload))
    return head + payload


def stalled_websocket(server, user, tender):
    """A raw WebSocket client with a tiny receive buffer that joins `tender:<tender>` and then never reads:
    everything sent to it piles up in the server's outbound queue."""
    connection = socket.socket()
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    connection.connect(("127.0.0.1", server.port))
    upgrade_raw(connection)
    # Packets of one connection are handled in order: the subscribe follows the namespace CONNECT.
    connection.sendall(client_frame(0x1, ('40/tenders,{"user":"%s"}' % user).encode()))
    connection.sendall(client_frame(0x1, ('42/tenders,1["subscribe",{"tenderId":"%s"}]' % tender).encode()))
    return connection
