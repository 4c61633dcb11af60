"""Two server processes joined through a real redis-server: broadcasts reach every subscriber on every instance
exactly once and in order, namespace-wide notices cross too, and a Redis outage is survived and recovered from."""
import asyncio
import json
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from websockets.exceptions import ConnectionClosed

from conftest import DRAIN_BUDGET, PUBLISH_TOKEN, Redis, Server, instances, metrics, publish
from protocol import SEPARATOR, get, open_polling, post, receive, websocket
from tenderflow_client import Client, TendersOverWebSocket


@pytest.fixture
def cluster():
    with instances(2, PUBLISH_TOKEN=PUBLISH_TOKEN) as (redis, servers):
        yield redis, servers


def run(coroutine):
    asyncio.run(coroutine)


async def subscribe(tender, *clients):
    for client in clients:
        assert (await client.call("subscribe", {"tenderId": tender}))["ok"]


async def updates(client, count, name="tender:update"):
    """The next `count` events `name`, with a timeout on each."""
    return [(await client.expect(name))["sequence"] for _ in range(count)]


def test_a_broadcast_reaches_subscribers_on_every_instance_exactly_once_in_order(cluster):
    redis, (first, second) = cluster

    async def scenario():
        async with Client(first, "alice") as alice, Client(second, "bob") as bob, Client(second, "carol") as carol:
            await subscribe("42", alice, bob)
            assert (await carol.call("subscribe", {"tenderId": "7"}))["ok"]
            # The publishes go to one instance, then the other: each sender's order holds on both instances.
            for server, offset in ((first, 0), (second, 100)):
                for sequence in range(offset, offset + 100):
                    response = await asyncio.to_thread(publish, server, {
                        "namespace": "/tenders", "room": "tender:42", "event": "tender:update",
                        "data": {"sequence": sequence}})
                    assert response.status_code == 202, response.text
            for client in (alice, bob):
                assert await updates(client, 200) == list(range(200))
                await client.nothing_more("tender:update")
            await carol.nothing_more("tender:update")

    run(scenario())
    # Each instance published its own 100 and got all 200 from Redis: recoverable events come back to their
    # sender too, which delivers them with their stream offsets. Nothing was lost. Besides, each instance published
    # one status:online for each user who came online there (alice on the first; bob and carol on the second),
    # which nobody watched, so no instance received it.
    for server, came_online in ((first, 1), (second, 2)):
        figures = metrics(server)
        assert figures["realtime_cluster_messages_published_total"] == 100 + came_online
        assert figures["realtime_cluster_messages_received_total"] == 200
        assert figures.get('realtime_cluster_messages_dropped_total{reason="redis_unavailable"}', 0) == 0


def test_events_from_clients_and_system_notices_cross_instances(cluster):
    redis, (first, second) = cluster

    async def scenario():
        async with Client(first, "alice") as alice, Client(second, "bob") as bob:
            await subscribe("9", alice, bob)
            # A client's own broadcast (a typing indicator) reaches the other instance, not the typist.
            await alice.sio.emit("typing", {"tenderId": "9", "typing": True}, namespace="/tenders")
            assert await bob.expect("typing") == {"tenderId": "9", "user": "alice", "typing": True}
            await alice.nothing_more("typing")
            response = await asyncio.to_thread(publish, second, {
                "namespace": "/system", "event": "maintenance", "data": {"at": "2026-12-01T02:00:00Z"}})
            assert response.status_code == 202
            for client in (alice, bob):
                assert await client.expect("maintenance", namespace="/system") == {"at": "2026-12-01T02:00:00Z"}

    run(scenario())


def test_an_instance_only_subscribes_to_rooms_it_has_members_in(cluster):
    redis, (first, second) = cluster

    async def scenario():
        async with Client(first, "alice") as alice:
            assert (await alice.call("subscribe", {"tenderId": "1"}))["ok"]
            channels = redis.cli("PUBSUB", "CHANNELS", "*tender:1*").split()
            assert len(channels) == 1
            assert redis.cli("PUBSUB", "NUMSUB", channels[0]).split()[1] == "1"  # the first instance only
            assert (await alice.call("unsubscribe", {"tenderId": "1"}))["ok"]
            for _ in range(100):
                if redis.cli("PUBSUB", "NUMSUB", channels[0]).split()[1] == "0":
                    break
                await asyncio.sleep(0.02)
            else:
                pytest.fail("the instance kept the room's channel after its last member left")

    run(scenario())


def test_redis_killed_and_restarted_mid_stream(cluster):
    redis, (first, second) = cluster

    async def scenario():
        async with Client(first, "alice") as alice, Client(second, "bob") as bob:
            await subscribe("5", alice, bob)

            async def send(server, sequence):
                response = await asyncio.to_thread(publish, server, {
                    "namespace": "/tenders", "room": "tender:5", "event": "tender:update",
                    "data": {"sequence": sequence}})
                assert response.status_code == 202, response.text

            await send(first, 0)
            assert await updates(bob, 1) == [0]
            assert await updates(alice, 1) == [0]
            redis.kill()
            # Without Redis, each instance still serves its own clients; what could not cross is counted.
            await send(first, 1)
            assert await updates(alice, 1) == [1]
            await bob.nothing_more("tender:update")
            assert metrics(first)['realtime_cluster_messages_dropped_total{reason="redis_unavailable"}'] >= 1
            assert metrics(first)["realtime_redis_connected"] == 0
            assert requests.get(first.url + "/readyz", timeout=5).status_code == 200
            redis.start()
            # Both instances reconnect and subscribe again on their own.
            for _ in range(250):
                if all(metrics(server)["realtime_redis_connected"] == 1 for server in (first, second)) and \
                        redis.cli("PUBSUB", "NUMSUB", redis.cli("PUBSUB", "CHANNELS", "*tender:5*")).split()[-1] == "2":
                    break
                await asyncio.sleep(0.02)
            else:
                pytest.fail("the instances did not come back to Redis")
            await send(second, 2)
            assert await updates(alice, 1) == [2]
            assert await updates(bob, 1) == [2]

    run(scenario())
    for server in (first, second):
        assert server.process.poll() is None


def test_readiness_can_require_redis():
    redis = Redis()
    server = Server("tenderflow", REDIS_URL=redis.url, REDIS_REQUIRED_FOR_READY="true")
    try:
        wait_for_readiness(server, 200)
        redis.kill()
        wait_for_readiness(server, 503)
        assert requests.get(server.url + "/readyz", timeout=5).text == "redis unavailable"
        redis.start()
        wait_for_readiness(server, 200)
    finally:
        server.stop()
        redis.kill()


def wait_for_readiness(server, status):
    deadline = time.monotonic() + 5
    while requests.get(server.url + "/readyz", timeout=5).status_code != status:
        assert time.monotonic() < deadline, f"/readyz never answered {status}"
        time.sleep(0.02)


def test_presence_is_shared_across_instances_and_ends_with_the_users_last_socket(cluster):
    redis, (first, second) = cluster

    async def scenario():
        async with Client(first, "alice") as alice, Client(second, "bob") as bob:
            assert (await alice.call("subscribe", {"tenderId": "3"}))["ok"]
            assert (await alice.call("presence:join", {"tenderId": "3", "mode": "viewing"}))["ok"]
            # Bob, on the other instance, sees Alice in the list his subscribe returns.
            joined = await bob.call("subscribe", {"tenderId": "3"})
            assert joined["presence"] == [{"user": "alice", "mode": "viewing"}]
            assert (await bob.call("presence:join", {"tenderId": "3", "mode": "editing"}))["ok"]
            assert await alice.expect("presence:joined") == {"tenderId": "3", "user": "bob", "mode": "editing"}
            listed = await alice.call("presence:list", {"tenderId": "3"})
            assert listed["presence"] == [{"user": "alice", "mode": "viewing"}, {"user": "bob", "mode": "editing"}]
            # Alice on the second instance too: closing her first socket does not make her leave.
            async with Client(second, "alice") as alice_again:
                assert (await alice_again.call("subscribe", {"tenderId": "3"}))["ok"]
                assert (await alice_again.call("presence:join", {"tenderId": "3", "mode": "viewing"}))["ok"]
                await alice.sio.disconnect()
                await bob.nothing_more("presence:left")
                listed = await bob.call("presence:list", {"tenderId": "3"})
                assert [entry["user"] for entry in listed["presence"]] == ["alice", "bob"]
            assert await bob.expect("presence:left") == {"tenderId": "3", "user": "alice"}
            listed = await bob.call("presence:list", {"tenderId": "3"})
            assert listed["presence"] == [{"user": "bob", "mode": "editing"}]

    run(scenario())


def test_a_killed_instances_users_expire_and_are_announced_once():
    with instances(3, PUBLISH_TOKEN=PUBLISH_TOKEN, PRESENCE_TTL_MS=900) as (_, servers):
        doomed, *survivors = servers

        async def scenario():
            async with Client(doomed, "alice") as alice, Client(survivors[0], "bob") as bob, \
                    Client(survivors[1], "carol") as carol:
                await subscribe("8", alice, bob, carol)
                assert (await alice.call("presence:join", {"tenderId": "8", "mode": "editing"}))["ok"]
                for client in (bob, carol):
                    assert await client.expect("presence:joined") == {"tenderId": "8", "user": "alice", "mode": "editing"}
                doomed.process.kill()  # SIGKILL: no goodbye, no cleanup
                doomed.process.wait()
                # Each survivor's client hears once that Alice left, although both instances sweep.
                for client in (bob, carol):
                    assert await client.expect("presence:left") == {"tenderId": "8", "user": "alice"}
                for client in (bob, carol):
                    await client.nothing_more("presence:left", seconds=1)
                    assert (await client.call("presence:list", {"tenderId": "8"}))["presence"] == []

        run(scenario())


class RecoveringClient(TendersOverWebSocket):
    """Socket.IO on /tenders over a raw WebSocket, speaking connection state recovery as socket.io-client does
    (python-socketio does not): it keeps the private id and the offset of the last event, and presents both
    when it connects again."""

    def __init__(self, server, user, pid=None, offset=None):
        self.server, self.user = server, user
        self.ws = websocket(server).__enter__()  # closed by `drop`, or with the test's servers
        assert receive(self.ws).startswith("0{")
        self.connect_namespace({"user": user}, pid, offset)

    def nothing_more(self, seconds=0.5):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                frame = self.ws.recv(timeout=max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                return
            if frame == "2":
                self.ws.send("3")
                continue
            assert not frame.startswith('42/tenders,["tender:update"'), frame

    def drop(self):
        """The network goes away: no close frame, no goodbye. Returns once the server has let the socket go (the
        TCP connection's end is noticed at once), so the session is there to recover."""
        self.ws.socket.shutdown(socket.SHUT_RDWR)
        self.ws.socket.close()
        wait_until_gone(self.server, self.user, self.sid)


def wait_until_gone(server, user, sid, within=5):
    """Waits until no instance lists socket `sid` of `user`; returns how long that took."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        found = api(server, "GET", f"/v1/users/{user}/sockets")
        if sid not in [entry["sid"] for entry in found["sockets"]]:
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"socket {sid} of {user} still connected after {within} s")


def send_updates(server, sequences, tender="11"):
    """Publishes tender:update events with these sequence numbers to the tender's room, through `server`."""
    for sequence in sequences:
        response = publish(server, {"namespace": "/tenders", "room": f"tender:{tender}", "event": "tender:update",
                                    "data": {"sequence": sequence}})
        assert response.status_code == 202, response.text


def dropped_with_a_missed_update(server, user, tender):
    """A client of `server` on a tender that got update 0, dropped, and missed update 1."""
    client = RecoveringClient(server, user)
    client.subscribe(tender)
    send_updates(server, [0], tender=tender)
    assert client.sequences(1) == [0]
    client.drop()
    send_updates(server, [1], tender=tender)
    return client


def test_a_client_that_drops_recovers_its_missed_events_on_another_instance(cluster):
    redis, (first, second) = cluster
    client = RecoveringClient(first, "rita")
    client.subscribe("11")
    send_updates(second, range(0, 3))
    assert client.sequences(3) == [0, 1, 2]
    client.drop()
    send_updates(second, range(3, 8))
    # Back, on the other instance: the same socket, its room, and exactly what it missed, in order.
    back = RecoveringClient(second, "rita", pid=client.pid, offset=client.offset)
    assert (back.sid, back.pid) == (client.sid, client.pid)
    assert back.sequences(5) == [3, 4, 5, 6, 7]
    send_updates(first, [8])
    assert back.sequences(1) == [8]
    back.nothing_more()
    assert metrics(second)['realtime_recoveries_total{outcome="recovered"}'] == 1


def test_a_client_whose_instance_was_killed_recovers_on_another():
    redis = Redis()
    servers = [Server("tenderflow", PUBLISH_TOKEN=PUBLISH_TOKEN, REDIS_URL=redis.url) for _ in range(2)]
    doomed, survivor = servers
    try:
        client = RecoveringClient(doomed, "sam")
        client.subscribe("12")
        send_updates(survivor, [0], tender="12")
        assert client.sequences(1) == [0]
        doomed.process.kill()  # SIGKILL: the instance cannot write anything down on its way out
        doomed.process.wait()
        send_updates(survivor, [1, 2], tender="12")
        back = RecoveringClient(survivor, "sam", pid=client.pid, offset=client.offset)
        assert back.sid == client.sid and back.pid == client.pid
        assert back.sequences(2) == [1, 2]
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.stop()
        redis.kill()


def test_a_recovery_session_is_used_once_while_the_recovered_connection_lives():
    # A 25 s heartbeat: the recovered client answers pings only while it reads, and a ping timeout would rightly
    # release its session while the test makes the other attempts.
    redis = Redis()
    slow = {"PING_INTERVAL_MS": 25000, "PING_TIMEOUT_MS": 20000}
    servers = [Server("tenderflow", PUBLISH_TOKEN=PUBLISH_TOKEN, REDIS_URL=redis.url, **slow) for _ in range(2)]
    try:
        recovered_once(*servers)
    finally:
        for server in servers:
            server.stop()
        redis.kill()


def recovered_once(first, second):
    client = dropped_with_a_missed_update(first, "vera", "14")
    back = RecoveringClient(first, "vera", pid=client.pid, offset=client.offset)
    assert (back.sid, back.pid) == (client.sid, client.pid)
    assert back.sequences(1) == [1]
    # While the recovered connection is open, the same private id and offset are refused, here and elsewhere.
    for server in (first, second):
        again = RecoveringClient(server, "vera", pid=client.pid, offset=client.offset)
        assert again.pid != client.pid and again.sid != client.sid
    # The recovered connection still gets its room's events, and its socket is one socket, listed once.
    send_updates(second, [2], tender="14")
    assert back.sequences(1) == [2]
    for server in (first, second):
        assert api(server, "GET", "/v1/rooms/count", namespace="/tenders", room="tender:14")["count"] == 1
        sids = [entry["sid"] for entry in api(server, "GET", "/v1/users/vera/sockets")["sockets"]]
        assert sids.count(back.sid) == 1 and len(sids) == len(set(sids)), sids
    assert metrics(first)['realtime_recoveries_total{outcome="recovered"}'] == 1


def test_a_connect_that_outlives_its_connection_leaves_nothing_behind(cluster):
    """The client goes away while its CONNECT waits on Redis (the recovery claim): the socket is not kept on the
    dead connection (it would count against the user and stay in the listings), and the session goes back."""
    redis, (first, second) = cluster
    client = dropped_with_a_missed_update(first, "rosa", "16")
    redis.cli("CLIENT", "PAUSE", "1500", "ALL")  # every Redis command waits, the claim among them
    with websocket(second) as ws:
        assert receive(ws).startswith("0{")
        ws.send("40/tenders," + json.dumps({"user": "rosa", "pid": client.pid, "offset": client.offset}))
        time.sleep(0.2)  # the CONNECT is in, waiting for Redis
        ws.socket.shutdown(socket.SHUT_RDWR)
    time.sleep(2)  # Redis answers again, the CONNECT goes on and finds its connection gone
    for server in (first, second):
        assert api(server, "GET", "/v1/users/rosa/sockets")["sockets"] == []
    # The claimed session went back: the client recovers on its next attempt.
    back = RecoveringClient(second, "rosa", pid=client.pid, offset=client.offset)
    assert (back.sid, back.pid) == (client.sid, client.pid)
    assert back.sequences(1) == [1]


def test_a_socket_whose_session_another_instance_took_over_is_closed_for_good():
    """While an instance's Redis subscriber is away, another may claim one of its sockets' sessions. When the
    first sees the lease name the other at its next heartbeat, it does not take the session back: it closes its
    own copy of the socket, for good (no session is left behind for it)."""
    redis = Redis()
    fast = {"PRESENCE_TTL_MS": 900}  # a heartbeat every 300 ms
    servers = [Server("tenderflow", PUBLISH_TOKEN=PUBLISH_TOKEN, REDIS_URL=redis.url, **fast) for _ in range(2)]
    first, second = servers
    try:
        client = RecoveringClient(first, "ines")
        client.subscribe("17")
        instances = api(first, "GET", "/v1/instances")["instances"]
        other = next(entry["instance"] for entry in instances if entry["sockets"] == 0)
        # What the other instance's claim leaves: the lease names it (its claim took the session itself).
        lease = f"tfctl-rt:lease:{{{client.pid}}}"
        assert redis.cli("GET", lease) != ""
        redis.cli("SET", lease, f"tfctl-rt:instance:{{{other}}}", "PX", "60000")
        deadline = time.monotonic() + 5
        with pytest.raises(ConnectionClosed):
            while time.monotonic() < deadline:
                if client.ws.recv(timeout=5) == "2":
                    client.ws.send("3")
        assert redis.cli("GET", lease) == f"tfctl-rt:instance:{{{other}}}"  # not taken back
        assert api(first, "GET", "/v1/users/ines/sockets")["sockets"] == []
    finally:
        for server in servers:
            server.stop()
        redis.kill()


def test_a_dropped_tcp_connection_is_noticed_at_once_not_at_the_next_ping():
    """A client whose TCP connection ends without a WebSocket close frame leaves its rooms and presence at once,
    as with Node's ws; with a 25 s ping interval, waiting for the heartbeat would keep it for 25 s."""
    redis = Redis()
    slow = {"PING_INTERVAL_MS": 25000, "PING_TIMEOUT_MS": 20000}
    servers = [Server("tenderflow", PUBLISH_TOKEN=PUBLISH_TOKEN, REDIS_URL=redis.url, **slow) for _ in range(2)]
    first, second = servers
    try:
        client = RecoveringClient(first, "dora")
        client.subscribe("15")
        started = time.monotonic()
        client.drop()
        assert time.monotonic() - started < 2
        assert api(second, "GET", "/v1/rooms/count", namespace="/tenders", room="tender:15")["count"] == 0
    finally:
        for server in servers:
            server.stop()
        redis.kill()


class PollingRecoveringClient:
    """RecoveringClient over HTTP long-polling, the transport socket.io-client starts on (and stays on where
    WebSockets are blocked). `via`: the instance its requests go to, when not the one that opened it."""

    def __init__(self, server, user, pid=None, offset=None):
        self.server, self.user, self.pending = server, user, []
        self.sid = open_polling(server)
        auth = {"user": user, **({"pid": pid, "offset": offset} if pid else {})}
        self.post("40/tenders," + json.dumps(auth))
        reply = self.next()
        assert reply.startswith("40/tenders,"), reply
        connected = json.loads(reply[len("40/tenders,"):])
        self.socket_sid, self.pid = connected["sid"], connected["pid"]
        self.offset = offset

    def post(self, body, via=None):
        response = post(via or self.server, body, EIO=4, transport="polling", sid=self.sid)
        assert response.text == "ok", response.text

    def next(self, via=None):
        """The next packet, answering pings on the way."""
        while not self.pending:
            response = get(via or self.server, EIO=4, transport="polling", sid=self.sid)
            assert response.status_code == 200, response.text
            for packet in response.text.split(SEPARATOR):
                if packet == "2":
                    self.post("3", via)
                elif packet != "6":
                    self.pending.append(packet)
        return self.pending.pop(0)

    def subscribe(self, tender):
        self.post('42/tenders,1["subscribe",{"tenderId":"%s"}]' % tender)
        while not (packet := self.next()).startswith("43/tenders,1"):
            pass

    def sequences(self, count, via=None):
        received = []
        while len(received) < count:
            packet = self.next(via)
            if packet.startswith('42/tenders,["tender:update"'):
                name, data, offset = json.loads(packet[len("42/tenders,"):])
                received.append(data["sequence"])
                self.offset = offset
        return received


def held_get(server, sid):
    """A polling GET for `sid` on a raw TCP connection, sent and left waiting (nothing is queued for it)."""
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    connection.sendall(f"GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
                       f"Host: 127.0.0.1:{server.port}\r\n\r\n".encode())
    time.sleep(0.2)  # held by now
    return connection


def test_a_polling_client_that_closes_its_engine_recovers(cluster):
    """`socket.io.engine.close()` on polling (Socket.IO's documented way to show recovery) POSTs `1`: the
    session stays recoverable, as in the reference server; only a Socket.IO DISCONNECT ends it."""
    redis, (first, second) = cluster
    client = PollingRecoveringClient(first, "olga")
    client.subscribe("31")
    send_updates(first, [0], tender="31")
    assert client.sequences(1) == [0]
    client.post("1")
    wait_until_gone(first, "olga", client.socket_sid)
    send_updates(second, [1, 2], tender="31")
    back = PollingRecoveringClient(second, "olga", pid=client.pid, offset=client.offset)
    assert (back.socket_sid, back.pid) == (client.socket_sid, client.pid)
    assert back.sequences(2) == [1, 2]


def test_a_polling_client_whose_held_get_was_lost_recovers(cluster):
    """The TCP connection of the held GET closes (a browser then retries the GET on a new connection): the
    session ends at once as a transport close, the retried GET learns the session is gone, and the client's
    reconnection recovers its socket and the events it missed."""
    redis, (first, second) = cluster
    client = PollingRecoveringClient(first, "paul")
    client.subscribe("32")
    send_updates(first, [0], tender="32")
    assert client.sequences(1) == [0]
    held_get(first, client.sid).close()
    wait_until_gone(first, "paul", client.socket_sid, within=2)
    retried = get(first, EIO=4, transport="polling", sid=client.sid)
    assert retried.status_code == 400 and retried.json()["code"] == 1  # Session ID unknown: reconnect
    send_updates(second, [1], tender="32")
    back = PollingRecoveringClient(first, "paul", pid=client.pid, offset=client.offset)
    assert (back.socket_sid, back.pid) == (client.socket_sid, client.pid)
    assert back.sequences(1) == [1]


def test_a_poll_forwarded_through_a_draining_instance_is_released_and_the_session_lives_on():
    """A polling client whose requests land on an instance that does not own its session (no sticky sessions):
    when that instance drains, the GET it forwarded is answered at once with a noop, not after the owner's next
    ping, and the client's next GET, on the owner, takes the forwarded one's place: the session goes on."""
    redis = Redis()
    slow = {"PING_INTERVAL_MS": 25000, "PING_TIMEOUT_MS": 20000}
    owner, doomed = [Server("tenderflow", PUBLISH_TOKEN=PUBLISH_TOKEN, REDIS_URL=redis.url, **slow)
                     for _ in range(2)]
    try:
        client = PollingRecoveringClient(owner, "quinn")
        client.subscribe("33")
        with ThreadPoolExecutor(1) as pool:
            forwarded = pool.submit(get, doomed, EIO=4, transport="polling", sid=client.sid)
            time.sleep(0.3)  # held at the owner
            started = time.monotonic()
            doomed.process.send_signal(signal.SIGTERM)
            answer = forwarded.result(timeout=5)
            assert (answer.status_code, answer.text) == (200, "6")
            assert time.monotonic() - started < 2
        assert doomed.process.wait(timeout=DRAIN_BUDGET) == 0
        send_updates(owner, [0, 1], tender="33")
        assert client.sequences(2) == [0, 1]  # the same session: no reconnection
        assert api(owner, "GET", "/v1/users/quinn/sockets")["sockets"][0]["sid"] == client.socket_sid
    finally:
        for server in (owner, doomed):
            if server.process.poll() is None:
                server.stop()
        redis.kill()


def test_recovery_is_refused_whole_never_partial(cluster):
    redis, (first, second) = cluster
    client = dropped_with_a_missed_update(first, "tom", "13")
    # Another user cannot take the socket over with its private id, nor use it up: it stays Tom's.
    intruder = RecoveringClient(second, "mallory", pid=client.pid, offset=client.offset)
    assert intruder.pid != client.pid and intruder.sid != client.sid
    intruder.nothing_more()
    back = RecoveringClient(second, "tom", pid=client.pid, offset=client.offset)
    assert (back.sid, back.pid) == (client.sid, client.pid)
    assert back.sequences(1) == [1]
    # An offset the stream never held cannot be trusted: no replay at all.
    other = RecoveringClient(first, "uma")
    other.subscribe("13")
    send_updates(first, [2], tender="13")
    assert other.sequences(1) == [2]
    other.drop()
    unknown = RecoveringClient(second, "uma", pid=other.pid, offset="1-0")
    assert unknown.pid != other.pid
    unknown.nothing_more()
    assert metrics(second)['realtime_recoveries_total{outcome="not_recovered"}'] == 2


def test_polling_requests_sent_to_the_wrong_instance_are_answered_by_the_owner(cluster):
    redis, (owner, stranger) = cluster
    sid = open_polling(owner)
    # Every request after the handshake goes to the instance that does not hold the session, as when Cloud Run's
    # affinity fails.
    assert post(stranger, '40/tenders,{"user":"paula"}', EIO=4, transport="polling", sid=sid).text == "ok"
    connected = get(stranger, EIO=4, transport="polling", sid=sid)
    assert connected.status_code == 200 and connected.text.startswith('40/tenders,{"sid":'), connected.text
    assert post(stranger, '42/tenders,1["subscribe",{"tenderId":"21"}]', EIO=4, transport="polling",
                sid=sid).text == "ok"
    assert get(stranger, EIO=4, transport="polling", sid=sid).text.startswith("43/tenders,1[{")
    send_updates(owner, [0, 1], tender="21")
    received = []
    while len(received) < 2:
        for packet in get(stranger, EIO=4, transport="polling", sid=sid).text.split(SEPARATOR):
            if packet == "2":  # the owner's ping, answered through the stranger too
                assert post(stranger, "3", EIO=4, transport="polling", sid=sid).text == "ok"
            elif packet.startswith('42/tenders,["tender:update"'):
                received.append(json.loads(packet[len("42/tenders,"):])[1]["sequence"])
    assert received == [0, 1]
    assert metrics(stranger)["realtime_polling_forwarded_total"] >= 5  # two POSTs, three GETs at least
    # A session whose instance is gone is unknown at once, as a client expects from a restarted server.
    owner.process.kill()
    owner.process.wait()
    started = time.monotonic()
    gone = get(stranger, EIO=4, transport="polling", sid=sid)
    assert gone.status_code == 400 and gone.json() == {"code": 1, "message": "Session ID unknown"}
    assert time.monotonic() - started < 2


def api(server, method, path, **params):
    response = requests.request(method, server.url + path, params=params,
                                headers={"Authorization": f"Bearer {PUBLISH_TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_cluster_wide_room_counts_user_sockets_and_disconnects(cluster):
    redis, (first, second) = cluster

    async def scenario():
        async with Client(first, "alice") as alice, Client(second, "alice") as alice_too, \
                Client(second, "bob") as bob:
            await subscribe("41", alice, bob)
            for server in (first, second):
                assert await asyncio.to_thread(api, server, "GET", "/v1/rooms/count", namespace="/tenders",
                                               room="tender:41") == {"count": 2, "missingInstances": 0}
            found = await asyncio.to_thread(api, second, "GET", "/v1/users/alice/sockets")
            assert found["missingInstances"] == 0
            # Two clients, each on /tenders and /system.
            assert sorted(socket["namespace"] for socket in found["sockets"]) == ["/system", "/system", "/tenders",
                                                                                 "/tenders"]
            # Every socket of hers is in her user room, the one on /tenders in the tender's too.
            assert ["tender:41", "user:alice"] in [socket["rooms"] for socket in found["sockets"]]
            assert all("user:alice" in socket["rooms"] for socket in found["sockets"])
            instances = await asyncio.to_thread(api, first, "GET", "/v1/instances")
            assert len(instances["instances"]) == 2 and instances["missingInstances"] == 0
            assert sorted(entry["sockets"] for entry in instances["instances"]) == [2, 4]
            # A ban: Alice is disconnected on both instances, Bob stays.
            gone = await asyncio.to_thread(api, first, "DELETE", "/v1/users/alice/sockets")
            assert gone == {"disconnected": 4, "missingInstances": 0}
            for client in (alice, alice_too):
                for _ in range(100):
                    if not client.sio.connected:
                        break
                    await asyncio.sleep(0.02)
                assert not client.sio.connected
            assert bob.sio.connected
            assert await asyncio.to_thread(api, second, "GET", "/v1/rooms/count", namespace="/tenders",
                                           room="tender:41") == {"count": 1, "missingInstances": 0}

    run(scenario())
    # An instance that died is not waited for: it no longer hears the question, so nobody expects its answer.
    second.process.kill()
    second.process.wait()
    started = time.monotonic()
    instances = api(first, "GET", "/v1/instances")
    assert len(instances["instances"]) == 1 and instances["missingInstances"] == 0
    assert time.monotonic() - started < 1
