"""/metrics: Prometheus text with connections by transport, sockets and rooms by namespace, events in and
out, broadcast fan-out, publish requests; values follow what clients do."""
import asyncio
import json
import os
import socket
import subprocess
import time

import requests
import socketio

from conftest import BINARY, PUBLISH_TOKEN, Server, metrics, publish


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
        assert during['realtime_sockets{socketio_namespace="/tenders"}'] == 2
        # The tender's room, and each socket's user room (without a user in the CONNECT, each socket is its own).
        assert during['realtime_rooms{socketio_namespace="/tenders"}'] == 3
        assert during['realtime_events_received_total{socketio_namespace="/tenders"}'] == 2
        assert during['realtime_events_sent_total{socketio_namespace="/tenders"}'] >= 2
        assert during["realtime_broadcast_fanout_count"] == 1
        assert during["realtime_broadcast_fanout_sum"] == 2
        assert during["realtime_publish_requests_total"] == 1
        assert during["realtime_auth_failures_total"] == 0
        assert any(key.startswith("realtime_event_handler_duration_seconds_bucket") for key in during)
        assert after['realtime_connections{transport="websocket"}'] == 0
        assert after['realtime_connections{transport="polling"}'] == 0
        assert after['realtime_sockets{socketio_namespace="/tenders"}'] == 0
        assert after['realtime_rooms{socketio_namespace="/tenders"}'] == 0
    finally:
        server.stop()


def test_a_closed_log_pipe_does_not_stop_the_server():
    """Cloud Run reads the log from standard output; if that pipe ever closes, log lines are lost, not the
    server (it used to trap on the first write after)."""
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": "0", "METRICS_PORT": "0",
           "REALTIME_PROFILE": "socketio-test-suite", "LOG_LEVEL": "debug"}
    process = subprocess.Popen([BINARY], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = next(json.loads(line)["port"] for line in process.stdout if '"listening"' in line)
        process.stdout.close()
        url = f"http://127.0.0.1:{port}/socket.io/"
        for _ in range(3):  # each handshake and close is logged at debug level
            handshake = requests.get(url, params={"EIO": 4, "transport": "polling"}, timeout=5)
            sid = json.loads(handshake.text[1:])["sid"]
            assert requests.post(url, params={"EIO": 4, "transport": "polling", "sid": sid}, data="1",
                                 timeout=5).status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).text == "ok"
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


def test_metrics_are_served_on_loopback_only():
    """/metrics is on a second listener bound to 127.0.0.1 (METRICS_PORT), not on the port the load balancer and
    the VPC reach: the main port answers 404, and the metrics port takes no connection on any other address."""
    server = Server("tenderflow", HOST="0.0.0.0")
    try:
        assert requests.get(server.url + "/metrics", timeout=5).status_code == 404
        url = server.metrics_url
        assert "connections" in requests.get(url, timeout=5).text
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        assert listening_addresses(port) == {"127.0.0.1"}
        assert listening_addresses(server.port) == {"0.0.0.0"}
    finally:
        server.stop()


def listening_addresses(port):
    """The IPv4 and IPv6 addresses a socket listens on at `port`, from the kernel's tables (/proc/net/tcp*)."""
    addresses = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = open(table).read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, local_port = local.split(":")
            if state != "0A" or int(local_port, 16) != port:  # 0A: LISTEN
                continue
            if width == 8:
                addresses.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
            else:
                addresses.add("::" if int(address, 16) == 0 else address)
    return addresses


def test_a_taken_metrics_port_does_not_stop_the_server():
    """A sidecar (or anything else) on the metrics port costs /metrics, not the service: the server logs the
    failure and serves on."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": "0", "METRICS_PORT": str(taken.getsockname()[1]),
               "REALTIME_PROFILE": "tenderflow", "LOG_LEVEL": "info"}
        process = subprocess.Popen([BINARY], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            port = next(json.loads(line)["port"] for line in process.stdout if '"listening"' in line)
            time.sleep(0.5)
            assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).text == "ok"
            assert process.poll() is None
        finally:
            process.kill()
            process.wait()
