"""Abuse limits: event rate per connection, connections per user, payload size, malformed input, clients that
stop reading. Excess gets a `rate-limited` event, a refusal or a disconnect, and the server keeps serving."""
import asyncio

import pytest
import requests
import socketio
from websockets.exceptions import ConnectionClosed

from conftest import PUBLISH_TOKEN, Server, metrics, publish
from protocol import open_polling, post, receive, stalled_websocket, websocket


@pytest.fixture(scope="module")
def limited_server():
    server = Server("tenderflow", EVENTS_PER_SECOND=5, MAX_CONNECTIONS_PER_USER=2, MAX_PAYLOAD_BYTES=2048)
    yield server
    server.stop()


def test_event_flood_gets_rate_limited_then_disconnected(limited_server):
    async def scenario():
        sio = socketio.AsyncClient(reconnection=False)
        limited, gone = asyncio.Queue(), asyncio.Event()

        @sio.on("rate-limited", namespace="/tenders")
        async def on_limited(data):
            await limited.put(data)

        @sio.event(namespace="/tenders")
        async def disconnect(*reason):
            gone.set()

        await sio.connect(limited_server.url, namespaces=["/tenders"], transports=["websocket"],
                          auth={"user": "flooder"}, wait_timeout=5)
        for _ in range(15):  # burst of 10 (2 × 5/s), then over the limit
            await sio.emit("typing", {"tenderId": "1", "typing": True}, namespace="/tenders")
        assert (await asyncio.wait_for(limited.get(), 5)) == {"retryAfterMs": 200}
        for _ in range(40):  # keeps going: more than 4 × 5 excess events
            await sio.emit("typing", {"tenderId": "1", "typing": True}, namespace="/tenders")
        await asyncio.wait_for(gone.wait(), 5)
        await sio.disconnect()

    asyncio.run(scenario())
    assert requests.get(limited_server.url + "/healthz", timeout=5).text == "ok"


def test_connections_per_user_are_capped(limited_server):
    async def connect():
        sio = socketio.AsyncClient(reconnection=False)
        refusal = asyncio.get_running_loop().create_future()

        @sio.event(namespace="/tenders")
        async def connect_error(data):
            if not refusal.done():
                refusal.set_result(data)

        try:
            await sio.connect(limited_server.url, namespaces=["/tenders"], transports=["websocket"],
                              auth={"user": "dora"}, wait_timeout=5)
            return sio, None
        except socketio.exceptions.ConnectionError:
            return None, await asyncio.wait_for(refusal, 5)

    async def scenario():
        first, _ = await connect()
        second, _ = await connect()
        third, refusal = await connect()
        assert third is None
        assert refusal == {"message": "too many connections", "data": {"user": "dora"}}
        await first.disconnect()
        await asyncio.sleep(0.2)
        again, refusal = await connect()
        assert refusal is None
        await again.disconnect()
        await second.disconnect()

    asyncio.run(scenario())


def test_oversized_websocket_message_closes_only_that_connection(limited_server):
    with websocket(limited_server) as socket:
        receive(socket)
        socket.send("40/tenders,")
        assert receive(socket).startswith("40/tenders,")
        socket.send('42/tenders,["typing",{"text":"' + "x" * 4000 + '"}]')
        with pytest.raises(ConnectionClosed):
            receive(socket)
    assert requests.get(limited_server.url + "/healthz", timeout=5).text == "ok"


def test_oversized_polling_body_is_refused(limited_server):
    sid = open_polling(limited_server)
    response = post(limited_server, "4" + "x" * 4000, EIO=4, transport="polling", sid=sid)
    assert response.status_code == 413


def test_a_client_that_stops_reading_is_disconnected_and_the_others_keep_receiving():
    server = Server("tenderflow", PUBLISH_TOKEN=PUBLISH_TOKEN, OUTBOUND_QUEUE_LIMIT=16, PING_INTERVAL_MS=25000,
                    PING_TIMEOUT_MS=20000)
    try:
        async def scenario():
            healthy = socketio.AsyncClient(reconnection=False)
            updates = asyncio.Queue()

            @healthy.on("tender:update", namespace="/tenders")
            async def on_update(data):
                await updates.put(data)

            await healthy.connect(server.url, namespaces=["/tenders"], transports=["websocket"],
                                  auth={"user": "healthy"}, wait_timeout=5)
            assert (await healthy.call("subscribe", {"tenderId": "77"}, namespace="/tenders", timeout=5))["ok"]
            stalled = await asyncio.to_thread(stalled_websocket, server, "stalled", "77")
            try:
                bulk = "x" * 65536
                published = 0

                def dropped():
                    return metrics(server).get('realtime_dropped_messages_total{reason="slow_consumer"}', 0)

                while await asyncio.to_thread(dropped) == 0:
                    assert published < 1000, "the stalled client was never dropped"
                    body = {"namespace": "/tenders", "room": "tender:77", "event": "tender:update",
                            "data": {"sequence": published, "bulk": bulk}}
                    response = await asyncio.to_thread(publish, server, body)
                    assert response.status_code == 202, response.text
                    published += 1
                # The healthy client got every update, in order, while the stalled one was cut off.
                for sequence in range(published):
                    assert (await asyncio.wait_for(updates.get(), 10))["sequence"] == sequence
                assert await asyncio.to_thread(lambda: metrics(server)["realtime_connections{transport=\"websocket\"}"]) == 1
            finally:
                stalled.close()
            await healthy.disconnect()

        asyncio.run(scenario())
    finally:
        server.stop()
