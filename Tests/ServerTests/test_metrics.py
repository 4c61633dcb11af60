"""/metrics: Prometheus text with connections by transport, sockets and rooms by namespace, events in and
out, broadcast fan-out, publish requests; values follow what clients do."""
import asyncio

import socketio

from conftest import PUBLISH_TOKEN, Server, metrics, publish


def test_metrics_follow_connections_rooms_and_events():
    server = Server("tenderflow", PUBLISH_TOKEN=PUBLISH_TOKEN)
    try:
        async def scenario():
            clients = []
            for transports in (["websocket"], ["polling"]):
                sio = socketio.AsyncClient(reconnection=False)
                await sio.connect(server.url, namespaces=["/tenders"], transports=transports, wait_timeout=5)
                assert (await sio.call("subscribe", {"tenderId": "8"}, namespace="/tenders", timeout=5))["ok"]
                clients.append(sio)
            response = await asyncio.to_thread(publish, server, {
                "namespace": "/tenders", "room": "tender:8", "event": "bid:placed", "data": {"amount": 1},
            })
            assert response.json() == {"delivered": 2}
            during = await asyncio.to_thread(metrics, server)
            for sio in clients:
                await sio.disconnect()
            await asyncio.sleep(0.5)
            return during, await asyncio.to_thread(metrics, server)

        during, after = asyncio.run(scenario())
        assert during['realtime_connections{transport="websocket"}'] == 1
        assert during['realtime_connections{transport="polling"}'] == 1
        assert during['realtime_sockets{namespace="/tenders"}'] == 2
        assert during['realtime_rooms{namespace="/tenders"}'] == 1
        assert during['realtime_events_received_total{namespace="/tenders"}'] == 2
        assert during['realtime_events_sent_total{namespace="/tenders"}'] >= 2
        assert during["realtime_broadcast_fanout_count"] == 1
        assert during["realtime_broadcast_fanout_sum"] == 2
        assert during["realtime_publish_requests_total"] == 1
        assert during["realtime_auth_failures_total"] == 0
        assert any(key.startswith("realtime_event_handler_duration_seconds_bucket") for key in during)
        assert after['realtime_connections{transport="websocket"}'] == 0
        assert after['realtime_connections{transport="polling"}'] == 0
        assert after['realtime_sockets{namespace="/tenders"}'] == 0
        assert after['realtime_rooms{namespace="/tenders"}'] == 0
    finally:
        server.stop()
