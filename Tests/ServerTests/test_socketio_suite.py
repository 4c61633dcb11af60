"""The socket.io-protocol test suite (test-suite/test-suite.js), ported to Python, against the
`socketio-test-suite` profile: `message` → `message-back`, `message-with-ack` answers with its arguments,
`/custom` namespace, and every connection receives `auth` with its handshake payload.

The stored copy of the suite speaks Engine.IO 3 framing; the cases are kept and sent in Engine.IO 4 framing
(no length prefixes, raw binary WebSocket frames, server-initiated heartbeat).
"""
import contextlib
import json
import time

import pytest
from websockets.exceptions import ConnectionClosed

from protocol import get, open_polling, post, receive, websocket


@pytest.fixture
def server(socketio_server):
    return socketio_server


@contextlib.contextmanager
def connected(server):
    """A WebSocket connected to the main namespace, past the handshake and the `auth` echo."""
    with websocket(server) as socket:
        receive(socket)                          # Engine.IO handshake
        socket.send("40")
        assert receive(socket).startswith("40")  # Socket.IO handshake
        assert receive(socket) == '42["auth",{}]'
        yield socket


# Engine.IO basics under /socket.io/

def test_polling_session_opens_and_connects(server):
    sid = open_polling(server)
    assert post(server, "40", EIO=4, transport="polling", sid=sid).status_code == 200
    body = get(server, EIO=4, transport="polling", sid=sid).text.split("\x1e")
    assert body[0].startswith("40{")
    assert set(json.loads(body[0][2:])) == {"sid"}
    assert body[1] == '42["auth",{}]'


def test_polling_heartbeat(server):
    sid = open_polling(server)
    assert post(server, "40", EIO=4, transport="polling", sid=sid).status_code == 200
    assert get(server, EIO=4, transport="polling", sid=sid).text.startswith("40")
    assert get(server, EIO=4, transport="polling", sid=sid).text == "2"
    assert post(server, "3", EIO=4, transport="polling", sid=sid).status_code == 200


def test_upgrade_then_events_flow_on_the_websocket(server):
    sid = open_polling(server)
    assert post(server, "40", EIO=4, transport="polling", sid=sid).status_code == 200
    get(server, EIO=4, transport="polling", sid=sid)
    with websocket(server, sid=sid) as socket:
        socket.send("2probe")
        assert receive(socket) == "3probe"
        socket.send("5")
        socket.send('42["message","after upgrade"]')
        assert receive(socket) == '42["message-back","after upgrade"]'


# connect

@pytest.mark.parametrize("packet, prefix, auth", [
    ("40", "40", "{}"),
    ('40{"token":"123"}', "40", '{"token":"123"}'),
    ("40/custom,", "40/custom,", "{}"),
    ('40/custom,{"token":"abc"}', "40/custom,", '{"token":"abc"}'),
])
def test_connects_to_namespaces_with_payload(server, packet, prefix, auth):
    with websocket(server) as socket:
        receive(socket)
        socket.send(packet)
        data = receive(socket)
        assert data.startswith(prefix)
        handshake = json.loads(data[len(prefix):])
        assert set(handshake) == {"sid"} and isinstance(handshake["sid"], str)
        namespace = prefix[2:]
        assert receive(socket) == f'42{namespace}["auth",{auth}]'


def test_disallows_connection_to_an_unknown_namespace(server):
    with websocket(server) as socket:
        receive(socket)
        socket.send("40/random")
        assert receive(socket) == '44/random,{"message":"Invalid namespace"}'


def test_disallows_connection_with_an_invalid_handshake(server):
    with websocket(server) as socket:
        receive(socket)
        socket.send("4abc")
        with pytest.raises(ConnectionClosed):
            receive(socket)


def test_closes_the_connection_if_no_handshake_is_received(server):
    with websocket(server) as socket:
        receive(socket)
        started = time.monotonic()
        with pytest.raises(ConnectionClosed):
            while True:
                frame = socket.recv(timeout=3)
                if frame == "2":
                    socket.send("3")
        assert time.monotonic() - started < 3


# disconnect

def test_disconnects_from_the_main_namespace(server):
    with connected(server) as socket:
        socket.send("41")
        with pytest.raises(ConnectionClosed):
            receive(socket)


def test_connects_then_disconnects_from_a_custom_namespace(server):
    with connected(server) as socket:
        socket.send("40/custom")
        assert receive(socket).startswith("40/custom,")
        assert receive(socket) == '42/custom,["auth",{}]'
        socket.send("41/custom")
        socket.send('42["message","message to main namespace"]')
        assert receive(socket) == '42["message-back","message to main namespace"]'


# message

def test_sends_a_plain_text_packet(server):
    with connected(server) as socket:
        socket.send('42["message",1,"2",{"3":[true]}]')
        assert receive(socket) == '42["message-back",1,"2",{"3":[true]}]'


def test_sends_a_packet_with_binary_attachments(server):
    with connected(server) as socket:
        socket.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
        socket.send(bytes([1, 2, 3]))
        socket.send(bytes([4, 5, 6]))
        assert receive(socket) == '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
        assert receive(socket) == bytes([1, 2, 3])
        assert receive(socket) == bytes([4, 5, 6])


def test_sends_a_plain_text_packet_with_an_ack(server):
    with connected(server) as socket:
        socket.send('42456["message-with-ack",1,"2",{"3":[false]}]')
        assert receive(socket) == '43456[1,"2",{"3":[false]}]'


def test_sends_a_packet_with_binary_attachments_and_an_ack(server):
    with connected(server) as socket:
        socket.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
        socket.send(bytes([1, 2, 3]))
        socket.send(bytes([4, 5, 6]))
        assert receive(socket) == '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
        assert receive(socket) == bytes([1, 2, 3])
        assert receive(socket) == bytes([4, 5, 6])


@pytest.mark.parametrize("packet", ["42{}", '42abc["message"]', "42[]", '42["connect"]', "4200", "49[]"])
def test_closes_the_connection_upon_invalid_format(server, packet):
    with connected(server) as socket:
        socket.send(packet)
        with pytest.raises(ConnectionClosed):
            receive(socket)
