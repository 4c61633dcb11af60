"""Hostile input and connection churn against the real server, as an attacker and a crowd of flaky clients would
send them, with what must hold afterwards: every file descriptor given back, memory bounded (a second identical
burst leaves no more than a few MiB behind), canary clients that received every publish in order, and a server
that is still running.

`test_hostile.py` runs a bounded pass (a few seconds per category) in `make test`; `make soak` runs this file as
a script against the release build, with longer bursts and idle pauses:

    REALTIME_SERVER=BINARY python Tests/ServerTests/hostile.py --seconds 10 --idle 15
"""
import argparse
import base64
import json
import os
import random
import socket
import struct
import threading
import time

import requests

from conftest import PUBLISH_TOKEN, Redis, Server

TENDER = "canary"
# A heartbeat slow enough for canaries on a machine busy with the attack, fast enough that the polling sessions
# the attacks abandon are gone within a category's quiet period; upgrades time out after a second.
SETTINGS = {"PING_INTERVAL_MS": 2000, "PING_TIMEOUT_MS": 3000, "UPGRADE_TIMEOUT_MS": 1000, "LOG_LEVEL": "warning",
            "PUBLISH_TOKEN": PUBLISH_TOKEN}


# MARK: raw protocol

def connect(server, timeout=5):
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """A client's WebSocket frame (RFC 6455 §5.2); `length` may claim a length other than the payload's."""
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
        return head + key + bytes(byte ^ key[index % 4] for index, byte in enumerate(payload))
    return head + payload


def text(payload):
    return frame(0x1, payload.encode() if isinstance(payload, str) else payload)


def handshake(query="EIO=4&transport=websocket", key=None, version="13", extra=""):
    key = key or base64.b64encode(os.urandom(16)).decode()
    return (f"GET /socket.io/?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n"
            f"{extra}\r\n").encode()


def websocket(server, query="EIO=4&transport=websocket"):
    """A connected, upgraded socket; None when the server refused the upgrade."""
    connection = connect(server)
    connection.sendall(handshake(query))
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = connection.recv(1)
        if not chunk:
            break
        response += chunk
    if not response.startswith(b"HTTP/1.1 101"):
        connection.close()
        return None
    return connection


def finish(connection, wait=0.5):
    """Reads what the server sends until it closes or `wait` passes, then closes our side."""
    connection.settimeout(wait)
    deadline = time.monotonic() + wait
    try:
        while time.monotonic() < deadline and connection.recv(65536):
            pass
    except OSError:
        pass
    connection.close()


def polling_session(server):
    response = requests.get(server.url + "/socket.io/", params={"EIO": 4, "transport": "polling"}, timeout=5)
    return json.loads(response.text[1:])["sid"]


def on_websocket(*frames, query="EIO=4&transport=websocket", pause=0.0):
    """An attack that opens a WebSocket and sends `frames` (bytes, or a callable of the server giving bytes)."""
    def attack(server):
        connection = websocket(server, query)
        if connection is None:
            return
        try:
            for item in frames:
                connection.sendall(item() if callable(item) else item)
                if pause:
                    time.sleep(pause)
        except OSError:
            pass
        finish(connection)
    return attack


def connected(*packets):
    """Frames that connect to /tenders and then send `packets` (text)."""
    return [text('40/tenders,{"user":"mallory"}'), *[text(packet) for packet in packets]]


# MARK: the categories

def deep_json(server):
    depth = 10_000
    on_websocket(*connected("42/tenders," + "[" * depth + "]" * depth))(server)


def long_event_name(server):
    on_websocket(*connected('42/tenders,["' + "e" * 70_000 + '",{}]'))(server)


def long_namespace(server):
    on_websocket(text("40/" + "n" * 70_000 + ",{}"))(server)


def long_room_join(server):
    on_websocket(*connected('42/tenders,1["subscribe",{"tenderId":"' + "r" * 70_000 + '"}]'))(server)


def socketio_garbage(server):
    garbage = random.choice(['4{"', "40/nowhere,", '42/tenders,["', "49", "4" + "9" * 40, '43/tenders,99999999999999[]',
                             '45-/tenders,["x",{"_placeholder":true,"num":99}]', "40/tenders,[1,2", "4\x00\x01"])
    on_websocket(text(garbage))(server)


def engine_garbage(server):
    on_websocket(text(random.choice(["zz", "7", "", "2" * 1000, "b!!!"])))(server)


def invalid_utf8(server):
    on_websocket(text(b"4\xff\xfe\xfd"))(server)


def invalid_close_code(server):
    code = random.choice([0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535])
    on_websocket(frame(0x8, struct.pack("!H", code)))(server)


def fragmented_control(server):
    on_websocket(frame(0x9, b"ping", fin=False))(server)


def reserved_bits(server):
    on_websocket(frame(0x1, b"4", rsv=random.randint(1, 7)))(server)


def reserved_opcode(server):
    on_websocket(frame(random.choice([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]), b"x"))(server)


def unmasked(server):
    on_websocket(frame(0x1, b"2probe", mask=False))(server)


def oversized_frame(server):
    on_websocket(frame(0x1, b"4" * 1024, length=1 << 40))(server)


def continuation_flood(server):
    on_websocket(frame(0x1, b"4", fin=False), *[frame(0x0, b"x" * 60_000, fin=False) for _ in range(20)])(server)


def handshake_garbage(server):
    connection = connect(server)
    choice = random.randrange(4)
    if choice == 0:
        request = handshake(key="not base64 at all!!")
    elif choice == 1:
        request = handshake(version="99")
    elif choice == 2:
        request = handshake(extra="".join(f"X-{index}: {os.urandom(8).hex()}\r\n" for index in range(200)))
    else:
        request = handshake(query="EIO=4&transport=websocket&sid=" + "s" * 4000)
    try:
        connection.sendall(request)
    except OSError:
        pass
    finish(connection)


def huge_header(server):
    connection = connect(server)
    try:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n")
    except OSError:
        pass
    finish(connection)


def http_garbage(server):
    connection = connect(server)
    try:
        connection.sendall(os.urandom(random.randint(1, 4096)))
    except OSError:
        pass
    finish(connection, 0.2)


def half_sent_request(server):
    connection = connect(server)
    connection.sendall(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n")
    time.sleep(0.05)
    connection.close()


def upgrade_without_probe(server):
    on_websocket(text("5"), query=f"EIO=4&transport=websocket&sid={polling_session(server)}")(server)


def probe_then_garbage(server):
    on_websocket(text("2probe"), text("zz"), query=f"EIO=4&transport=websocket&sid={polling_session(server)}",
                 pause=0.02)(server)


def probe_then_end_of_input(server):
    connection = websocket(server, f"EIO=4&transport=websocket&sid={polling_session(server)}")
    if connection is None:
        return
    connection.sendall(text("2probe"))
    time.sleep(0.02)
    connection.shutdown(socket.SHUT_WR)
    finish(connection)


def two_probes(server):
    on_websocket(text("2probe"), text("2probe"), query=f"EIO=4&transport=websocket&sid={polling_session(server)}")(
        server)


def second_upgrade(server):
    sid = polling_session(server)
    first = websocket(server, f"EIO=4&transport=websocket&sid={sid}")
    if first is None:
        return
    first.sendall(text("2probe"))
    second = websocket(server, f"EIO=4&transport=websocket&sid={sid}")
    if second is not None:
        finish(second, 0.1)
    # The first one is left open, never completing its upgrade: the server's upgrade timeout must end it.
    LINGERING.append(first)


def probe_and_walk_away(server):
    """A probe, then nothing at all: the client keeps its connection and never sends `5`."""
    connection = websocket(server, f"EIO=4&transport=websocket&sid={polling_session(server)}")
    if connection is not None:
        connection.sendall(text("2probe"))
        LINGERING.append(connection)  # closed by us only after the category has settled


LINGERING = []


def polling_garbage(server):
    sid = polling_session(server)
    body = random.choice(["\x1e\x1e", "4" * 10, "b???", "9", "4\x1e" * 1000, "x" * 2_000_000, "40/tenders,{\x1e"])
    try:
        requests.post(server.url + "/socket.io/", params={"EIO": 4, "transport": "polling", "sid": sid},
                      data=body.encode(), timeout=5)
    except requests.RequestException:
        pass


def bad_publish(server):
    headers = {"Authorization": f"Bearer {PUBLISH_TOKEN}"}
    choice = random.randrange(6)
    url = server.url + "/v1/publish"
    try:
        if choice == 0:
            requests.post(url, data="{not json", headers=headers, timeout=5)
        elif choice == 1:
            requests.post(url, json={"namespace": "/tenders", "event": "x"}, timeout=5)  # no token
        elif choice == 2:
            requests.post(url, json={"namespace": "/tenders", "event": "x"},
                          headers={"Authorization": "Bearer wrong-token-wrong-token"}, timeout=5)
        elif choice == 3:
            requests.post(url, data=b"x" * 3_000_000, headers=headers, timeout=5)
        elif choice == 4:
            requests.post(url, json={"namespace": "/nowhere", "room": "r", "event": "x", "data": {}},
                          headers=headers, timeout=5)
        else:
            requests.post(url, json={"namespace": "/tenders", "room": "r" * 70_000, "event": "x", "data": {}},
                          headers=headers, timeout=5)
    except requests.RequestException:
        pass


CATEGORIES = {function.__name__: function for function in [
    deep_json, long_event_name, long_namespace, long_room_join, socketio_garbage, engine_garbage, invalid_utf8,
    invalid_close_code, fragmented_control, reserved_bits, reserved_opcode, unmasked, oversized_frame,
    continuation_flood, handshake_garbage, huge_header, http_garbage, half_sent_request, upgrade_without_probe,
    probe_then_garbage, probe_then_end_of_input, two_probes, second_upgrade, probe_and_walk_away, polling_garbage,
    bad_publish,
]}


# MARK: churn

def churner(server, user):
    """A flaky client: connects, subscribes, joins presence, types, and leaves cleanly or by dropping TCP."""
    connection = websocket(server)
    if connection is None:
        return
    try:
        tender = str(random.randrange(20))
        connection.sendall(text('40/tenders,{"user":"%s"}' % user))
        connection.sendall(text('42/tenders,1["subscribe",{"tenderId":"%s"}]' % tender))
        connection.sendall(text('42/tenders,2["presence:join",{"tenderId":"%s","mode":"viewing"}]' % tender))
        connection.sendall(text('42/tenders,["typing",{"tenderId":"%s"}]' % tender))
        time.sleep(random.uniform(0, 0.2))
        if random.random() < 0.5:
            connection.sendall(text("41/tenders,"))
            connection.sendall(frame(0x8, struct.pack("!H", 1000)))
            finish(connection, 0.2)
        else:
            connection.shutdown(socket.SHUT_RDWR)
            connection.close()
    except OSError:
        connection.close()


# MARK: what is watched

def open_descriptors(server):
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


def resident_kib(server):
    with open(f"/proc/{server.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Canary:
    """A well-behaved client on the canary tender, reading on its own thread: it must receive every publish, in
    order, whatever the attack does around it."""

    def __init__(self, server, name):
        self.connection = websocket(server)
        assert self.connection is not None
        self.connection.settimeout(None)
        self.sequences, self.error = [], None
        self.buffer = b""
        assert self._next().startswith("0{")
        self.connection.sendall(text('40/tenders,{"user":"%s"}' % name))
        self.connection.sendall(text('42/tenders,1["subscribe",{"tenderId":"%s"}]' % TENDER))
        while not self._next().startswith("43/tenders,1"):
            pass
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _next(self):
        """The next text frame (the server's frames are unmasked and, for these packets, unfragmented)."""
        while True:
            while len(self.buffer) < 2:
                self._fill()
            opcode, length, offset = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F, 2
            if length == 126:
                while len(self.buffer) < 4:
                    self._fill()
                length, offset = struct.unpack("!H", self.buffer[2:4])[0], 4
            elif length == 127:
                while len(self.buffer) < 10:
                    self._fill()
                length, offset = struct.unpack("!Q", self.buffer[2:10])[0], 10
            while len(self.buffer) < offset + length:
                self._fill()
            payload, self.buffer = self.buffer[offset:offset + length], self.buffer[offset + length:]
            if opcode == 0x1:
                message = payload.decode()
                if message == "2":
                    self.connection.sendall(text("3"))
                    continue
                return message
            if opcode == 0x8:
                raise ConnectionError("the server closed the canary")

    def _fill(self):
        chunk = self.connection.recv(65536)
        if not chunk:
            raise ConnectionError("the canary's connection ended")
        self.buffer += chunk

    def _read(self):
        try:
            while True:
                message = self._next()
                if message.startswith('42/tenders,["tender:update"'):
                    self.sequences.append(json.loads(message[len("42/tenders,"):])[1]["sequence"])
        except (OSError, ConnectionError, ValueError) as error:
            self.error = error

    def close(self):
        self.connection.close()


class Publisher:
    """Publishes numbered tender:update events to the canary tender, through the publish API, until stopped."""

    def __init__(self, server, interval=0.05):
        self.server, self.interval, self.sent, self.failures = server, interval, 0, []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        session = requests.Session()
        while not self.stopped.is_set():
            body = {"namespace": "/tenders", "room": f"tender:{TENDER}", "event": "tender:update",
                    "data": {"sequence": self.sent}}
            try:
                response = session.post(self.server.url + "/v1/publish", json=body, timeout=10,
                                        headers={"Authorization": f"Bearer {PUBLISH_TOKEN}"})
                if response.status_code == 202:
                    self.sent += 1
                else:
                    self.failures.append(response.status_code)
            except requests.RequestException as error:
                self.failures.append(str(error))
            self.stopped.wait(self.interval)

    def stop(self):
        self.stopped.set()
        self.thread.join(15)


# MARK: running

def hammer(server, attack, seconds, workers=4):
    """Runs `attack` from `workers` threads for `seconds`; returns how many attempts were made."""
    deadline = time.monotonic() + seconds
    counts = [0] * workers

    def worker(index):
        while time.monotonic() < deadline:
            try:
                attack(server)
            except (OSError, requests.RequestException, AssertionError, ValueError):
                pass  # the server may refuse or cut off whatever it likes; what it keeps is what is measured
            counts[index] += 1

    threads = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 30)
    return sum(counts)


def settle(server, baseline, within, slack=3):
    """Waits until the server's descriptors are back within `slack` of `baseline`; returns the count."""
    deadline = time.monotonic() + within
    while True:
        count = open_descriptors(server)
        if count <= baseline + slack or time.monotonic() > deadline:
            return count
        time.sleep(0.25)


def churn(server, seconds, workers=8):
    users = iter(range(10**9))
    return hammer(server, lambda server: churner(server, f"churner-{next(users)}"), seconds, workers)


def burst(server, seconds, idle, baseline, report, label, seed=0):
    """Every category, then the churn, each followed by settling (up to 15 s for the descriptors to come back,
    then `idle` seconds of quiet); returns {category: (attempts, descriptors)}. The random choices are drawn from
    the sequence `seed` starts, so two bursts with one seed send the same mix of inputs."""
    random.seed(seed)
    results = {}
    for name, attack in [*CATEGORIES.items(), ("churn", None)]:
        attempts = churn(server, seconds) if attack is None else hammer(server, attack, seconds)
        # Connections the attack left open and silent (a probe, and no upgrade) are still ours: the server must
        # close them itself (the upgrade timeout) before the descriptors count as given back.
        descriptors = settle(server, baseline, within=15)
        for connection in LINGERING:
            connection.close()
        LINGERING.clear()
        time.sleep(idle)
        assert server.process.poll() is None, f"the server exited during {name}"
        results[name] = (attempts, descriptors)
        report(f"{label} {name:<24} {attempts:>7} attempts, descriptors {baseline} -> {descriptors}, "
               f"RSS {resident_kib(server) / 1024:.1f} MiB")
    return results


class Soak:
    """A server with Redis, two canaries and a publisher: the stage every pass runs on."""

    def __init__(self, **settings):
        self.redis = Redis()
        self.server = Server("tenderflow", REDIS_URL=self.redis.url, **{**SETTINGS, **settings})
        self.canaries = [Canary(self.server, f"canary-{index}") for index in range(2)]
        self.publisher = Publisher(self.server)
        time.sleep(0.5)

    def finish(self):
        """Stops publishing and returns what each canary missed or got out of order (empty lists when whole)."""
        self.publisher.stop()
        time.sleep(1)
        problems = []
        for canary in self.canaries:
            expected = list(range(self.publisher.sent))
            if canary.sequences != expected:
                problems.append(f"canary got {len(canary.sequences)} of {len(expected)} publishes "
                                f"(error: {canary.error}); first difference at "
                                f"{next((i for i, (a, b) in enumerate(zip(canary.sequences, expected)) if a != b), None)}")
        return problems

    def close(self):
        for canary in self.canaries:
            canary.close()
        if self.server.process.poll() is None:
            self.server.stop()
        self.redis.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10, help="seconds of each category (default 10)")
    parser.add_argument("--idle", type=float, default=15, help="seconds of quiet after each (default 15)")
    parser.add_argument("--bursts", type=int, default=2, help="identical passes over every category (default 2)")
    arguments = parser.parse_args()
    soak = Soak()
    try:
        baseline = open_descriptors(soak.server)
        print(f"start: descriptors {baseline}, RSS {resident_kib(soak.server) / 1024:.1f} MiB", flush=True)
        resident = []
        failures = []
        for index in range(arguments.bursts):
            results = burst(soak.server, arguments.seconds, arguments.idle, baseline,
                            lambda line: print(line, flush=True), f"burst {index + 1}")
            failures += [f"{name}: {count} descriptors" for name, (_, count) in results.items()
                         if count > baseline + 3]
            resident.append(resident_kib(soak.server))
        failures += soak.finish()
        growth = [(later - earlier) / 1024 for earlier, later in zip(resident, resident[1:])]
        print(f"RSS after each burst (MiB): {[round(kib / 1024, 1) for kib in resident]}; "
              f"growth of each later burst: {[round(value, 1) for value in growth]}")
        failures += [f"burst {index + 2} grew RSS by {value:.1f} MiB" for index, value in enumerate(growth) if value >= 5]
        print(f"canaries received {soak.publisher.sent} publishes each" if not failures else "\n".join(failures))
        raise SystemExit(1 if failures else 0)
    finally:
        soak.close()


if __name__ == "__main__":
    main()
