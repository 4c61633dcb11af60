"""The official Socket.IO protocol v5 test suite, ported to Python: one case per `it(...)` of the current revision
of `socketio/socket.io-protocol`'s `test-suite/test-suite.js` (revision 91989bb, 34 cases), in its order, against
the `socketio-test-suite` profile: `message` → `message-back`, `message-with-ack` answers with its arguments,
`emit-with-ack` asks the client for an acknowledgement and sends its answer back, the `/custom` namespace, and
every connection receives `auth` with its handshake payload.

Its first part checks Engine.IO under `/socket.io/`. Where a case is the same as one of the Engine.IO suite, that
case is imported from `test_engineio_suite` and runs here against this suite's server (the `server` fixture).
"""
import contextlib
import json
import time

import pytest
from websockets.exceptions import ConnectionClosed

from protocol import assert_websocket_refused, get, open_polling, post, probed, receive, websocket
from test_engineio_suite import (  # noqa: F401  (collected again, against this module's server)
    test_polling_closes_the_session_upon_ping_timeout,
    test_polling_fails_with_an_invalid_eio_query_parameter,
    test_polling_fails_with_an_invalid_request_method,
    test_polling_fails_with_an_invalid_transport_query_parameter,
    test_polling_forcefully_closes_the_session,
    test_polling_sends_ping_and_accepts_pong,
    test_polling_successfully_opens_a_session,
    test_websocket_closes_the_session_upon_ping_timeout,
    test_websocket_fails_with_an_invalid_query,
    test_websocket_forcefully_closes_the_session,
    test_websocket_sends_ping_and_accepts_pong,
    test_websocket_successfully_opens_a_session,
)


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


ATTACHMENTS = (bytes([1, 2, 3]), bytes([4, 5, 6]))


def send_binary(socket, packet):
    """A binary packet and its two attachments, as the suite's binary cases send them."""
    socket.send(packet)
    for attachment in ATTACHMENTS:
        socket.send(attachment)


def expect_binary(socket, packet):
    assert receive(socket) == packet
    for attachment in ATTACHMENTS:
        assert receive(socket) == attachment


# Engine.IO protocol › upgrade (the Engine.IO suite's own upgrade cases echo a message; these do not)

def test_upgrades_from_polling_to_websocket(server):
    with probed(server) as (socket, _):
        socket.send("5")


@contextlib.contextmanager
def upgraded_back_to_back(server):
    """A polling session upgraded with the probe and the upgrade packet sent back to back, as these two cases do
    (the upgrade packet does not wait for the probe's answer); yields the WebSocket and the session id."""
    sid = open_polling(server)
    with websocket(server, sid=sid) as socket:
        socket.send("2probe")
        socket.send("5")
        assert receive(socket) == "3probe"
        time.sleep(0.05)  # the case's next request follows the upgrade packet, not the probe's answer
        yield socket, sid


def test_ignores_http_requests_with_same_sid_after_upgrade(server):
    with upgraded_back_to_back(server) as (_, sid):
        assert get(server, EIO=4, transport="polling", sid=sid).status_code == 400


def test_ignores_websocket_connection_with_same_sid_after_upgrade(server):
    with upgraded_back_to_back(server) as (_, sid):
        assert_websocket_refused(server, sid=sid)


# Beyond the suite: Socket.IO over long-polling, and events after an upgrade

def test_polling_session_opens_and_connects(server):
    sid = open_polling(server)
    assert post(server, "40", EIO=4, transport="polling", sid=sid).status_code == 200
    body = get(server, EIO=4, transport="polling", sid=sid).text.split("\x1e")
    assert body[0].startswith("40{")
    assert set(json.loads(body[0][2:])) == {"sid"}
    assert body[1] == '42["auth",{}]'


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
    """The Engine.IO connection stays open: the next packet is the heartbeat's ping, nothing else."""
    with connected(server) as socket:
        socket.send("41")
        assert receive(socket, skip_pings=False) == "2"


def test_connects_then_disconnects_from_a_custom_namespace(server):
    with connected(server) as socket:
        socket.send("40/custom")
        assert receive(socket).startswith("40/custom,")
        assert receive(socket) == '42/custom,["auth",{}]'
        socket.send("41/custom")
        socket.send('42["message","message to main namespace",1,2]')
        assert receive(socket) == '42["message-back","message to main namespace",1,2]'


# acknowledgements

def test_emits_with_an_ack_expectation(server):
    with connected(server) as socket:
        socket.send('42["emit-with-ack",1,"2",{"3":[true]}]')
        assert receive(socket) == '421["emit-with-ack",1,"2",{"3":[true]}]'
        socket.send('431[1,"2",{"3":[true]}]')
        assert receive(socket) == '42["emit-with-ack",1,"2",{"3":[true]}]'


def test_emits_with_a_binary_ack_expectation(server):
    data = '{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},"test"'
    with connected(server) as socket:
        send_binary(socket, f'452-["emit-with-ack",1,{data}]')
        expect_binary(socket, f'452-1["emit-with-ack",1,{data}]')
        send_binary(socket, f'462-1[1,{data}]')
        expect_binary(socket, f'452-["emit-with-ack",1,{data}]')


# message

def test_sends_a_plain_text_packet(server):
    with connected(server) as socket:
        socket.send('42["message",1,"2",{"3":[true]}]')
        assert receive(socket) == '42["message-back",1,"2",{"3":[true]}]'


def test_sends_a_packet_with_binary_attachments(server):
    with connected(server) as socket:
        send_binary(socket, '452-["message",1,{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
        expect_binary(socket, '452-["message-back",1,{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')


def test_sends_a_plain_text_packet_with_an_ack(server):
    with connected(server) as socket:
        socket.send('42456["message-with-ack",1,"2",{"3":[false]}]')
        assert receive(socket) == '43456[1,"2",{"3":[false]}]'


def test_sends_a_packet_with_binary_attachments_and_an_ack(server):
    with connected(server) as socket:
        send_binary(socket, '452-789["message-with-ack",1,{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
        expect_binary(socket, '462-789[1,{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')


# The suite's three cases (unknown packet type, invalid payload format, invalid ack id), then more of the same kind.
@pytest.mark.parametrize("packet", ["4abc", "42{}", '42abc["message-with-ack",1,"2",{"3":[false]}]', "42[]",
                                    '42["connect"]', "4200", "49[]"])
def test_closes_the_connection_upon_invalid_format(server, packet):
    with connected(server) as socket:
        socket.send(packet)
        with pytest.raises(ConnectionClosed):
            receive(socket)
