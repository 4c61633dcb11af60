"""Small raw-protocol helpers for the ported conformance cases: HTTP long-polling with requests, WebSocket
with the websockets library, both with timeouts on every wait."""
import json

import requests
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


def receive(socket, skip_pings=True):
    """The next frame (str or bytes), skipping server pings unless asked not to."""
    while True:
        frame = socket.recv(timeout=TIMEOUT)
        if skip_pings and frame == "2":
            continue
        return frame
