#!/usr/bin/env python3
"""Broadcast benchmark of the reference server, with Node's `ws` measured in the same run as the baseline.

For each server and each N (5,000 and 10,000): N WebSocket clients join one room (the Swift server: Socket.IO
/tenders, room tender:bench; Node: every client), an HTTP publisher sends messages at a fixed rate, and the
clients timestamp what they receive. Reported: deliveries/s, p50/p99 delivery latency, server CPU seconds per
million deliveries (from /proc, so the load generator sharing the machine does not distort it), and RSS per
idle connection.

The two-instance run (when redis-server is installed): two realtime-server processes joined through one
redis-server, the clients split between them, every message published to the first, so the second instance's
half crosses Redis. Reported as above (CPU and RSS of both instances together) plus Redis's CPU seconds, and
compared with the one-instance run of the same N.

Usage: server_bench.py REALTIME_SERVER [--connections 5000 10000] [--seconds 10] [--deliveries-per-second 20000]
"""
import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import time

import aiohttp
import websockets

TOKEN = "bench-publish-token-0123456789"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start(command, env):
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    while True:
        line = process.stdout.readline()
        if not line:
            raise SystemExit(f"{command[0]} exited before listening")
        record = json.loads(line)
        if record.get("event") == "listening":
            subprocess.Popen(["cat"], stdin=process.stdout, stdout=subprocess.DEVNULL)  # keep draining the log
            return process, int(record["port"])


class Client:
    def __init__(self, socketio):
        self.socketio = socketio
        self.latencies = []

    async def connect(self, port):
        if self.socketio:
            self.ws = await websockets.connect(f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket",
                                               ping_interval=None, max_queue=None, compression=None)
            await self.ws.recv()                                        # Engine.IO open
            await self.ws.send("40/tenders,")
            await self.ws.recv()                                        # namespace connect
            await self.ws.send('42/tenders,1["subscribe",{"tenderId":"bench"}]')
            while not (await self.ws.recv()).startswith("43/tenders,1"):
                pass
        else:
            self.ws = await websockets.connect(f"ws://127.0.0.1:{port}/", ping_interval=None, max_queue=None,
                                               compression=None)

    async def receive(self):
        try:
            async for frame in self.ws:
                if frame == "2":                                        # Engine.IO ping
                    await self.ws.send("3")
                    continue
                now = time.time_ns() // 1000
                start = frame.find('"sentAt":') + 9
                end = frame.find("}", start)
                self.latencies.append((now - int(frame[start:end])) / 1e3)
        except websockets.ConnectionClosed:
            pass
        except ValueError as error:
            raise SystemExit(f"unexpected frame: {error}")


def start_redis():
    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--loglevel", "warning"], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    return process, port


async def run(name, servers, socketio, connections, seconds, rate, redis=None):
    """`servers`: (command, environment) of each instance; clients are spread over them round-robin and the
    messages are published to the first."""
    started_servers = [start(command, env) for command, env in servers]
    processes = [process for process, _ in started_servers]
    ports = [port for _, port in started_servers]
    await asyncio.sleep(1)
    baseline_rss = sum(rss_kib(process.pid) for process in processes)
    clients = [Client(socketio) for _ in range(connections)]
    for batch in range(0, connections, 250):
        await asyncio.gather(*(client.connect(ports[(batch + index) % len(ports)])
                               for index, client in enumerate(clients[batch:batch + 250])))
    receivers = [asyncio.create_task(client.receive()) for client in clients]
    await asyncio.sleep(2)
    idle_rss = sum(rss_kib(process.pid) for process in processes)
    cpu_before = sum(cpu_seconds(process.pid) for process in processes)
    redis_before = cpu_seconds(redis.pid) if redis else 0
    url = f"http://127.0.0.1:{ports[0]}" + ("/v1/publish" if socketio else "/publish")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        for sequence in range(int(seconds * rate)):
            data = {"tenderId": "bench", "amount": 1250.5, "bidder": "acme-construction", "seq": sequence,
                    "sentAt": time.time_ns() // 1000}  # microseconds: JSON numbers are exact below 2^53
            body = {"namespace": "/tenders", "room": "tender:bench", "event": "bid:placed", "data": data} \
                if socketio else data
            async with session.post(url, json=body, headers=headers) as response:
                assert response.status == 202, await response.text()
            await asyncio.sleep(max(0, started + (sequence + 1) / rate - time.monotonic()))
    expected = connections * int(seconds * rate)
    deadline = time.monotonic() + 20
    while sum(len(c.latencies) for c in clients) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    elapsed = time.monotonic() - started
    cpu = sum(cpu_seconds(process.pid) for process in processes) - cpu_before
    redis_cpu = cpu_seconds(redis.pid) - redis_before if redis else None
    latencies = sorted(latency for client in clients for latency in client.latencies)
    for client in clients:
        await client.ws.close()
    for receiver in receivers:
        receiver.cancel()
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=15)
    delivered = len(latencies)
    return {
        "server": name, "connections": connections, "delivered": delivered, "expected": expected,
        "deliveries_per_second": delivered / elapsed,
        "p50_ms": latencies[len(latencies) // 2] if latencies else float("nan"),
        "p99_ms": latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
        "cpu_per_million": cpu / delivered * 1e6 if delivered else float("nan"),
        "rss_per_connection_kib": (idle_rss - baseline_rss) / connections,
        "redis_cpu_seconds": redis_cpu,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("server")
    parser.add_argument("--connections", type=int, nargs="+", default=[5000, 10000])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--deliveries-per-second", type=int, default=20000)
    parser.add_argument("--node-ws", default="/usr/share/nodejs/ws")
    args = parser.parse_args()
    swift_env = {"HOST": "127.0.0.1", "PORT": "0", "REALTIME_PROFILE": "tenderflow", "PUBLISH_TOKEN": TOKEN,
                 "LOG_LEVEL": "info", "MAX_CONNECTIONS_PER_USER": "100000", "PING_INTERVAL_MS": "25000"}
    node = ["node", os.path.join(os.path.dirname(os.path.abspath(__file__)), "ws_baseline.js")]
    baseline = shutil.which("node") is not None and os.path.isdir(args.node_ws)
    if not baseline:
        print(f"node or {args.node_ws} missing (Debian: apt-get install node-ws): no baseline, no ratios")
    cluster = shutil.which("redis-server") is not None
    if not cluster:
        print("redis-server missing (Debian: apt-get install redis-server): no two-instance run")
    results, cluster_results = [], []
    for connections in args.connections:
        rate = args.deliveries_per_second / connections
        results.append(asyncio.run(run("realtime-server", [([args.server], swift_env)], True, connections,
                                       args.seconds, rate)))
        if baseline:
            results.append(asyncio.run(run("node ws", [(node, {"NODE_WS_PATH": args.node_ws})], False, connections,
                                           args.seconds, rate)))
        if cluster:
            redis, redis_port = start_redis()
            try:
                env = {**swift_env, "REDIS_URL": f"redis://127.0.0.1:{redis_port}"}
                cluster_results.append(asyncio.run(run("2 instances", [([args.server], env)] * 2, True,
                                                       connections, args.seconds, rate, redis=redis)))
            finally:
                redis.kill()
                redis.wait()
    print(f"broadcast to one room, {args.deliveries_per_second} deliveries/s offered, {args.seconds:.0f} s per run")
    print(f"{'server':<16}{'conns':>7}{'delivered':>11}{'deliv/s':>9}{'p50 ms':>8}{'p99 ms':>8}"
          f"{'CPU s/M deliv':>15}{'RSS/conn KiB':>14}")
    for r in results + cluster_results:
        print(f"{r['server']:<16}{r['connections']:>7}{r['delivered']:>11}{r['deliveries_per_second']:>9.0f}"
              f"{r['p50_ms']:>8.1f}{r['p99_ms']:>8.1f}{r['cpu_per_million']:>15.2f}{r['rss_per_connection_kib']:>14.1f}")
    for swift, node_result in zip(results[0::2], results[1::2]) if baseline else []:
        print(f"ratio realtime-server / node ws at {swift['connections']} connections: CPU per delivery "
              f"{swift['cpu_per_million'] / node_result['cpu_per_million']:.2f}x, RSS per connection "
              f"{swift['rss_per_connection_kib'] / max(node_result['rss_per_connection_kib'], 0.001):.2f}x")
    one_instance = [r for r in results if r["server"] == "realtime-server"]
    for single, pair in zip(one_instance, cluster_results):
        print(f"two instances through Redis / one instance at {pair['connections']} connections: deliveries/s "
              f"{pair['deliveries_per_second'] / single['deliveries_per_second']:.2f}x, p99 "
              f"{pair['p99_ms'] / single['p99_ms']:.2f}x, CPU per delivery "
              f"{pair['cpu_per_million'] / single['cpu_per_million']:.2f}x; Redis used "
              f"{pair['redis_cpu_seconds']:.2f} CPU s for {pair['delivered']} deliveries")


if __name__ == "__main__":
    main()
