"""The server's mirror to the Realtime Database of the fallback, against the stand-in (rtdb.py), with two instances
on a real redis-server and python-socketio clients: each event is written once, by the instance that accepted it,
with the same global id the sockets get; presence and notices follow; a failing database opens the circuit
without holding up any socket, and what was queued arrives once it heals; old events are pruned. The official
firebase-admin SDK reads what the server wrote, as a fallback client's backend would."""
import asyncio
import json
import time

import firebase_admin
import pytest
from firebase_admin import db

from conftest import PUBLISH_TOKEN, Redis, Server, metrics, publish
from rtdb import StandIn
from tenderflow_client import Client


def mirrored_server(standin, redis, **settings):
    return Server("tenderflow", PUBLISH_TOKEN=PUBLISH_TOKEN, REDIS_URL=redis.url,
                  FIREBASE_DATABASE_URL=f"https://{standin.namespace}.firebaseio.com",
                  FIREBASE_DATABASE_EMULATOR_HOST=standin.host, **{"FALLBACK_FLUSH_MS": 50, **settings})


@pytest.fixture
def topology():
    standin, redis = StandIn(), Redis()
    servers = [mirrored_server(standin, redis) for _ in range(2)]
    yield standin, servers
    for server in servers:
        server.stop()
    redis.kill()
    standin.stop()


def bid(server, tender, amount):
    response = publish(server, {"namespace": "/tenders", "room": f"tender:{tender}", "event": "bid:placed",
                                "data": {"tenderId": tender, "amount": amount}})
    assert response.status_code == 202, response.text


def events_of(standin, tender):
    return standin.get(f"tenders/{tender}/events") or {}


def test_each_event_is_written_once_with_the_id_the_sockets_got(topology):
    standin, (first, second) = topology
    received = []

    async def scenario():
        async with Client(second, "alice") as alice:
            assert (await alice.call("subscribe", {"tenderId": "42"}))["ok"]
            for amount in range(20):  # accepted by one instance, then the other
                await asyncio.to_thread(bid, first if amount % 2 == 0 else second, "42", amount)
            for _ in range(20):
                received.append(await alice.expect("bid:placed"))

    asyncio.run(scenario())
    ids = [event["eventId"] for event in received]
    assert [event["amount"] for event in received] == list(range(20))
    assert len(set(ids)) == 20
    stored = standin.wait_for("tenders/42/events", lambda value: value and len(value) >= 20)
    assert sorted(stored) == sorted(ids), "every event once, under the id its sockets got"
    for key, record in stored.items():
        assert record["event"] == "bid:placed"
        (data,) = json.loads(record["args"])
        assert data["eventId"] == key and data == next(event for event in received if event["eventId"] == key)
        assert abs(record["time"] - int(key[:13])) == 0
    # Per accepting instance, ids grow in the order that instance accepted the events.
    for origin in {key.split("-", 2)[2] for key in ids}:
        own = [key for key in ids if key.endswith(origin)]
        assert own == sorted(own)
    # One writer per event: each instance wrote the ten it accepted, never the ten it only delivered.
    time.sleep(0.3)
    assert [metrics(server)['realtime_fallback_writes_total{kind="event"}'] for server in (first, second)] == [10, 10]


def test_presence_and_notices_reach_the_database(topology):
    standin, (first, second) = topology

    async def scenario():
        async with Client(first, "bob@example.com") as bob:
            assert (await bob.call("subscribe", {"tenderId": "7"}))["ok"]
            assert (await bob.call("presence:join", {"tenderId": "7", "mode": "editing"}))["ok"]
            # A user id Firebase would refuse as a key is written escaped (RTDBKey).
            present = standin.wait_for("presence/7", lambda value: value and "bob@example%2Ecom" in value)
            assert present["bob@example%2Ecom"]["mode"] == "editing"
            assert (await bob.call("presence:leave", {"tenderId": "7"}))["ok"]
            assert standin.wait_for("presence/7", lambda value: value is None) is None

    asyncio.run(scenario())
    response = publish(second, {"namespace": "/system", "event": "system:notice", "data": {"text": "maintenance"}})
    assert response.status_code == 202
    notices = standin.wait_for("system/notices", lambda value: value)
    (record,) = notices.values()
    assert json.loads(record["args"])[0]["text"] == "maintenance"


def test_notifications_to_a_user_reach_their_own_node_once(topology):
    standin, (first, second) = topology

    async def scenario():
        async with Client(second, "carol.smith") as carol:
            for namespace in ("/tenders", "/system"):
                response = publish(first, {"namespace": namespace, "user": "carol.smith", "event": "bid:outbid",
                                           "data": {"tenderId": "42", "via": namespace}})
                assert response.status_code == 202, response.text
            return await carol.expect("bid:outbid")

    delivered = asyncio.run(scenario())
    # Under the user's key (`.` escaped), each event once, written by the instance that accepted it.
    users = standin.wait_for(
        "users", lambda value: value and len(value.get("carol%2Esmith", {}).get("events", {})) >= 2)
    stored = users["carol%2Esmith"]["events"]
    assert sorted(json.loads(record["args"])[0]["via"] for record in stored.values()) == ["/system", "/tenders"]
    assert delivered["eventId"] in stored
    time.sleep(0.3)
    assert metrics(first)['realtime_fallback_writes_total{kind="event"}'] == 2
    assert metrics(second)['realtime_fallback_writes_total{kind="event"}'] == 0
    # A user notification whose data is not an object has nowhere to carry its id: refused, as for a tender.
    response = publish(first, {"namespace": "/tenders", "user": "carol.smith", "event": "bid:outbid", "data": 5})
    assert response.status_code == 400


def test_a_users_notifications_are_pruned_under_their_escaped_key():
    standin, redis = StandIn(), Redis()
    # A window of 4 s (pruned every second) and one event kept per target.
    server = mirrored_server(standin, redis, RECOVERY_WINDOW_MS=4000, FALLBACK_MAX_EVENTS=1)
    try:
        for number in range(3):
            response = publish(server, {"namespace": "/tenders", "user": "dave.o'neil", "event": "notice",
                                        "data": {"number": number}})
            assert response.status_code == 202, response.text
        # The prune's key listing reached `dave%2Eo'neil` itself (a `%` sent unescaped would have read
        # `dave.o'neil`, which is not a key): the oldest two are gone.
        users = standin.wait_for(
            "users", lambda value: value and len(value.get("dave%2Eo'neil", {}).get("events", {})) == 1)
        (record,) = users["dave%2Eo'neil"]["events"].values()
        assert json.loads(record["args"])[0]["number"] == 2
    finally:
        server.stop()
        redis.kill()
        standin.stop()


def test_events_without_an_object_are_refused_where_they_would_be_mirrored(topology):
    standin, (first, _) = topology
    for data in (5, "text", [1, 2], None):
        body = {"namespace": "/tenders", "room": "tender:1", "event": "bid:placed"}
        if data is not None:
            body["data"] = data
        response = publish(first, body)
        assert response.status_code == 400 and "object" in response.json()["error"], response.text
    # Elsewhere (a room that is not a tender's) any data goes, and nothing is mirrored.
    response = publish(first, {"namespace": "/tenders", "room": "lobby", "event": "x", "data": 5})
    assert response.status_code == 202


def test_a_failing_database_opens_the_circuit_and_holds_up_no_socket(topology):
    standin, (first, _) = topology

    async def scenario():
        async with Client(first, "carol") as carol:
            assert (await carol.call("subscribe", {"tenderId": "9"}))["ok"]
            standin.fail_writes()
            started = time.monotonic()
            for amount in range(5):
                await asyncio.to_thread(bid, first, "9", amount)
                assert (await carol.expect("bid:placed"))["amount"] == amount
            assert time.monotonic() - started < 3, "socket delivery waited on the database"
            deadline = time.monotonic() + 10
            while metrics(first).get("realtime_fallback_circuit_state") != 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            figures = metrics(first)
            assert figures["realtime_fallback_circuit_state"] == 2
            assert figures["realtime_fallback_circuit_opened_total"] >= 1
            assert figures['realtime_fallback_batches_total{outcome="failed"}'] >= 3
            assert events_of(standin, "9") == {}
            standin.heal()
            stored = await asyncio.to_thread(
                standin.wait_for, "tenders/9/events", lambda value: value and len(value) == 5, 20)
            assert sorted(json.loads(r["args"])[0]["amount"] for r in stored.values()) == list(range(5))

    asyncio.run(scenario())
    assert metrics(first)["realtime_fallback_circuit_state"] == 0


def test_events_beyond_the_count_or_the_window_are_pruned():
    standin, redis = StandIn(), Redis()
    server = mirrored_server(standin, redis, FALLBACK_MAX_EVENTS=3, RECOVERY_WINDOW_MS=4000)
    try:
        for amount in range(6):
            bid(server, "5", amount)
        kept = standin.wait_for("tenders/5/events", lambda value: value and len(value) == 3, 15)
        assert sorted(json.loads(r["args"])[0]["amount"] for r in kept.values()) == [3, 4, 5], "the newest three"
        # Older than the window (4 s): all gone.
        assert standin.wait_for("tenders/5/events", lambda value: value is None, 20) is None
        assert metrics(server)['realtime_fallback_writes_total{kind="prune"}'] == 6
    finally:
        server.stop()
        redis.kill()
        standin.stop()


def test_the_official_sdk_reads_the_mirror_in_key_order(topology, monkeypatch):
    standin, (first, _) = topology
    for amount in range(5):
        bid(first, "11", amount)
    standin.wait_for("tenders/11/events", lambda value: value and len(value) == 5)
    monkeypatch.setenv("FIREBASE_DATABASE_EMULATOR_HOST", standin.host)
    app = firebase_admin.initialize_app(
        options={"databaseURL": f"https://{standin.namespace}.firebaseio.com", "projectId": "tfctl-test"},
        name="mirror-reader")
    try:
        # What a client starting after the last id it delivered asks for: the events after it, in order.
        events = db.reference("/tenders/11/events", app=app).order_by_key().get()
        keys = list(events)
        later = db.reference("/tenders/11/events", app=app).order_by_key().start_at(keys[2] + "~").get()
        assert [json.loads(v["args"])[0]["amount"] for v in later.values()] == [3, 4]
    finally:
        firebase_admin.delete_app(app)


def test_a_stopping_instance_sends_what_it_queued():
    """Events and departures queued when SIGTERM comes are sent after the server stops, not lost."""
    standin, redis = StandIn(), Redis()
    server = mirrored_server(standin, redis, FALLBACK_FLUSH_MS=10000)  # nothing is sent before the stop
    try:
        for amount in range(3):
            bid(server, "13", amount)
        assert events_of(standin, "13") == {}
        server.process.terminate()
        assert server.process.wait(timeout=15) == 0
        stored = events_of(standin, "13")
        assert sorted(json.loads(r["args"])[0]["amount"] for r in stored.values()) == [0, 1, 2]
    finally:
        server.stop()
        redis.kill()
        standin.stop()
