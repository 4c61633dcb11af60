"""The TenderFlow features with real python-socketio clients: tender rooms, presence, typing indicators,
system notices, and the publish API backend services use."""
import asyncio

import pytest
import requests
import socketio

from conftest import PUBLISH_TOKEN, publish
from tenderflow_client import Client


def run(coroutine):
    asyncio.run(coroutine)


def test_published_updates_reach_subscribers_of_that_tender_only(tenderflow_server):
    async def scenario():
        async with Client(tenderflow_server, "alice") as alice, Client(tenderflow_server, "bob") as bob, \
                Client(tenderflow_server, "carol") as carol:
            assert (await alice.call("subscribe", {"tenderId": "42"}))["ok"]
            assert (await bob.call("subscribe", {"tenderId": "42"}))["ok"]
            assert (await carol.call("subscribe", {"tenderId": "7"}))["ok"]
            response = await asyncio.to_thread(publish, tenderflow_server, {
                "namespace": "/tenders", "room": "tender:42", "event": "bid:placed",
                "data": {"tenderId": "42", "amount": 1250.5, "bidder": "acme"},
            })
            assert response.status_code == 202
            assert response.json() == {"delivered": 2}
            for client in (alice, bob):
                assert await client.expect("bid:placed") == {"tenderId": "42", "amount": 1250.5, "bidder": "acme"}
            await carol.nothing_more("bid:placed")
            assert (await alice.call("unsubscribe", {"tenderId": "42"}))["ok"]
            response = await asyncio.to_thread(publish, tenderflow_server, {
                "namespace": "/tenders", "room": "tender:42", "event": "tender:status", "data": {"status": "closed"},
            })
            assert response.json() == {"delivered": 1}
            assert await bob.expect("tender:status") == {"status": "closed"}

    run(scenario())


def test_system_notices_reach_everyone(tenderflow_server):
    async def scenario():
        async with Client(tenderflow_server, "alice") as alice, Client(tenderflow_server, "bob") as bob:
            response = await asyncio.to_thread(publish, tenderflow_server, {
                "namespace": "/system", "event": "maintenance", "data": {"at": "2026-12-01T02:00:00Z"},
            })
            assert response.status_code == 202
            assert response.json()["delivered"] >= 2
            for client in (alice, bob):
                assert await client.expect("maintenance", namespace="/system") == {"at": "2026-12-01T02:00:00Z"}

    run(scenario())


def test_presence_join_list_and_leave_on_disconnect(tenderflow_server):
    async def scenario():
        async with Client(tenderflow_server, "bob") as bob:
            await bob.call("subscribe", {"tenderId": "99"})
            async with Client(tenderflow_server, "alice") as alice:
                await alice.call("subscribe", {"tenderId": "99"})
                joined = await alice.call("presence:join", {"tenderId": "99", "mode": "editing"})
                assert joined["ok"]
                assert joined["presence"] == [{"user": "alice", "mode": "editing"}]
                assert await bob.expect("presence:joined") == {"tenderId": "99", "user": "alice", "mode": "editing"}
                listed = await bob.call("presence:list", {"tenderId": "99"})
                assert listed["presence"] == [{"user": "alice", "mode": "editing"}]
            # alice disconnected without leaving: her presence ends with her connection.
            assert await bob.expect("presence:left") == {"tenderId": "99", "user": "alice"}
            assert (await bob.call("presence:list", {"tenderId": "99"}))["presence"] == []

    run(scenario())


def test_typing_reaches_the_others_not_the_typist(tenderflow_server):
    async def scenario():
        async with Client(tenderflow_server, "alice") as alice, Client(tenderflow_server, "bob") as bob:
            await alice.call("subscribe", {"tenderId": "5"})
            await bob.call("subscribe", {"tenderId": "5"})
            await alice.sio.emit("typing", {"tenderId": "5", "typing": True}, namespace="/tenders")
            assert await bob.expect("typing") == {"tenderId": "5", "user": "alice", "typing": True}
            await alice.nothing_more("typing")

    run(scenario())


def test_requests_are_validated(tenderflow_server):
    async def scenario():
        async with Client(tenderflow_server, "alice") as alice:
            assert await alice.call("subscribe", {}) == {"ok": False, "error": "tenderId is required"}
            assert await alice.call("subscribe", {"tenderId": "bad id!"}) == {"ok": False, "error": "tenderId is required"}
            assert await alice.call("presence:join", {"tenderId": "1"}) == {"ok": False, "error": "subscribe first"}
            for tender in ("1", "2", "3"):
                assert (await alice.call("subscribe", {"tenderId": tender}))["ok"]
            # MAX_ROOMS_PER_SOCKET=3 for this server.
            assert await alice.call("subscribe", {"tenderId": "4"}) == {"ok": False, "error": "too many subscriptions"}

    run(scenario())


@pytest.mark.parametrize("body, token, status", [
    ({"namespace": "/tenders", "event": "x"}, None, 401),
    ({"namespace": "/tenders", "event": "x"}, "wrong-token-wrong-token", 401),
    ({"namespace": "/nope", "event": "x"}, PUBLISH_TOKEN, 400),
    ({"namespace": "/tenders", "event": "disconnect"}, PUBLISH_TOKEN, 400),
    ({"namespace": "/tenders"}, PUBLISH_TOKEN, 400),
    ({"namespace": "/tenders", "event": "x", "room": 5}, PUBLISH_TOKEN, 400),
    # Names are bounded where they come in (256 bytes), far below what the cluster's wire format can carry.
    ({"namespace": "/tenders", "event": "x", "room": "r" * 257}, PUBLISH_TOKEN, 400),
    ({"namespace": "/tenders", "event": "x", "room": "é" * 129}, PUBLISH_TOKEN, 400),
    ({"namespace": "/tenders", "event": "x", "room": "r" * 70_000}, PUBLISH_TOKEN, 400),
    ([1, 2], PUBLISH_TOKEN, 400),
])
def test_publish_api_refuses_bad_requests(tenderflow_server, body, token, status):
    response = publish(tenderflow_server, body, token)
    assert response.status_code == status
    assert "error" in response.json()


def test_long_names_are_refused_by_name(tenderflow_server):
    response = publish(tenderflow_server, {"namespace": "/tenders", "event": "x", "room": "r" * 257})
    assert response.json() == {"error": "room is longer than 256 bytes"}
    assert publish(tenderflow_server, {"namespace": "/tenders", "event": "x", "room": "r" * 256}).status_code == 202
    headers = {"Authorization": f"Bearer {PUBLISH_TOKEN}"}
    for method in ("GET", "DELETE"):
        response = requests.request(method, tenderflow_server.url + "/v1/users/" + "u" * 257 + "/sockets",
                                    headers=headers, timeout=10)
        assert response.status_code == 400 and response.json() == {"error": "user is longer than 256 bytes"}
    response = requests.get(tenderflow_server.url + "/v1/rooms/count", params={"namespace": "/tenders",
                            "room": "r" * 257}, headers=headers, timeout=10)
    assert response.status_code == 400


def test_publish_api_refuses_oversized_bodies(tenderflow_server):
    response = requests.post(tenderflow_server.url + "/v1/publish", data="x" * 1_100_000,
                             headers={"Authorization": f"Bearer {PUBLISH_TOKEN}"}, timeout=10)
    assert response.status_code == 413


def test_publish_api_is_off_without_a_token(socketio_server):
    response = publish(socketio_server, {"namespace": "/", "event": "x"})
    assert response.status_code == 503
