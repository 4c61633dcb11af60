"""The WebSocket layer itself (RFC 6455), with a raw client that builds its frames byte by byte: control frames,
fragmentation, the close handshake in both directions, length encodings, and the close codes of protocol
violations. Against the engine-echo profile, which echoes every Engine.IO message."""
import socket
import struct
import time

import pytest

from protocol import TIMEOUT, client_frame, upgrade_raw

TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


class RawWebSocket:
    def __init__(self, server):
        self.connection = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        upgrade_raw(self.connection)
        self.buffer = b""
        opcode, payload = self.read()
        assert (opcode, payload[:1]) == (TEXT, b"0"), payload  # Engine.IO open

    def send(self, opcode, payload=b"", **options):
        self.connection.sendall(client_frame(opcode, payload, **options))

    def _take(self, count):
        while len(self.buffer) < count:
            chunk = self.connection.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buffer += chunk
        taken, self.buffer = self.buffer[:count], self.buffer[count:]
        return taken

    def read(self):
        """The next frame as (opcode, payload), skipping Engine.IO pings; asserts the server's framing: FIN set,
        no reserved bits, unmasked, the shortest length encoding."""
        while True:
            first, second = self._take(2)
            assert first & 0xF0 == 0x80 and second & 0x80 == 0, (first, second)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._take(2))
                assert length >= 126
            elif length == 127:
                (length,) = struct.unpack("!Q", self._take(8))
                assert length >= 1 << 16
            frame = (first & 0x0F, self._take(length))
            if frame != (TEXT, b"2"):
                return frame

    def closed_by_server(self):
        """Whether the server ended the TCP connection (after anything still buffered)."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                if not self.connection.recv(65536):
                    return True
            except ConnectionResetError:
                return True
        return False

    def close(self):
        self.connection.close()


@pytest.fixture
def ws(engine_server):
    client = RawWebSocket(engine_server)
    yield client
    client.close()


def close_code(frame):
    opcode, payload = frame
    assert opcode == CLOSE, frame
    return struct.unpack("!H", payload[:2])[0]


def test_ping_is_answered_with_its_payload(ws):
    ws.send(PING, b"are you there")
    assert ws.read() == (PONG, b"are you there")


@pytest.mark.parametrize("size", [125, 126, 65535, 65536, 200_000])
def test_length_encodings_both_ways(ws, size):
    body = b"4" + b"x" * (size - 1)
    ws.send(TEXT, body)
    assert ws.read() == (TEXT, body)


def test_binary_message_comes_back_binary(ws):
    ws.send(BINARY, bytes(range(256)))
    assert ws.read() == (BINARY, bytes(range(256)))


def test_fragments_are_joined_and_control_frames_may_interleave(ws):
    ws.send(TEXT, b"4hel", fin=False)
    ws.send(PING, b"between")
    ws.send(CONTINUATION, b"lo w", fin=False)
    ws.send(CONTINUATION, "örld".encode())
    assert ws.read() == (PONG, b"between")
    assert ws.read() == (TEXT, "4hello wörld".encode())


def test_client_close_is_echoed_and_the_connection_ends(ws):
    ws.send(CLOSE, struct.pack("!H", 1001))
    assert close_code(ws.read()) == 1001
    assert ws.closed_by_server()


def test_a_reserved_close_code_is_answered_with_protocol_error(ws):
    ws.send(CLOSE, struct.pack("!H", 1005))
    assert close_code(ws.read()) == 1002
    assert ws.closed_by_server()


def test_server_close_waits_for_the_answer(ws):
    ws.send(TEXT, b"1")  # Engine.IO close: the session ends, and the server starts the close handshake
    assert close_code(ws.read()) == 1000
    ws.send(CLOSE, struct.pack("!H", 1000))
    assert ws.closed_by_server()


@pytest.mark.parametrize("violation, code", [
    ({"opcode": TEXT, "payload": b"4unmasked", "mask": False}, 1002),
    ({"opcode": TEXT, "payload": b"4reserved bit", "rsv": 0b100}, 1002),
    ({"opcode": CONTINUATION, "payload": b"no start"}, 1002),
    ({"opcode": 0x3, "payload": b"reserved opcode"}, 1002),
    ({"opcode": PING, "payload": b"fragmented control", "fin": False}, 1002),
    ({"opcode": TEXT, "payload": b"4\xff\xfe"}, 1007),
    # Only the header: the length alone is over maxPayload (1e6 in the test profile), nothing is buffered.
    ({"opcode": TEXT, "payload": b"", "length": 2_000_000}, 1009),
])
def test_protocol_violations_close_with_their_code(ws, violation, code):
    ws.send(**violation)
    assert close_code(ws.read()) == code
    assert ws.closed_by_server()


def test_fragments_over_max_payload_close_with_1009(ws):
    chunk = b"4" + b"x" * 600_000
    ws.send(TEXT, chunk, fin=False)
    ws.send(CONTINUATION, chunk)
    assert close_code(ws.read()) == 1009
    assert ws.closed_by_server()


def test_an_unanswered_close_is_cut_off(ws):
    ws.send(TEXT, b"1")
    assert close_code(ws.read()) == 1000
    started = time.monotonic()
    assert ws.closed_by_server()  # the client never answers
    assert 1.5 < time.monotonic() - started < 4


def test_a_flood_is_read_in_order_through_the_read_pauses(ws):
    """Reading pauses while 16 packets wait for the session and resumes once they are handled: 2 000 messages
    sent without a pause all come back, in order (a pause that never ended would stop the echo part-way)."""
    count = 2_000
    ws.connection.sendall(b"".join(client_frame(TEXT, b"4%d" % index) for index in range(count)))
    for index in range(count):
        assert ws.read() == (TEXT, b"4%d" % index)
