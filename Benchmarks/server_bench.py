#!/usr/bin/env python3
"""Broadcast benchmark of the reference server, with Node's `ws` measured in the same run as the baseline.

For each server and each N (5,000 and 10,000): N WebSocket clients join one room (the Swift server: Socket.IO
/tenders, room tender:bench; Node: every client), an HTTP publisher sends messages at a fixed rate, and the
clients timestamp what they receive. The clients run in one Node process (`bench_clients.js`): a Python
asyncio client needs 20 to 35 µs per message, enough to make the latency its own backlog's. Reported: deliveries/s, p50/p99 delivery latency, server CPU seconds per
million deliveries (from /proc, so the load generator sharing the machine does not distort it) with the share
of it spent in the kernel, and RSS per idle connection.

The two-instance run (when redis-server is installed): two realtime-server processes joined through one
redis-server, the clients split between them, every message published to the first, so the second instance's
half crosses Redis. Reported as above (CPU and RSS of both instances together) plus Redis's CPU seconds, and
compared with the one-instance run of the same N.

The burst run (1 000 clients unless told otherwise) publishes the same rate ten messages at a time, as a
backend does when a batch of updates lands together: a server that batches its writes sends a burst in fewer
write calls than messages. Write system calls per delivery are counted from /proc for every run.

Usage: server_bench.py REALTIME_SERVER [--connections 5000 10000] [--seconds 10] [--deliveries-per-second 20000]
                       [--burst 10] [--burst-connections 1000]
"""
import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import aiohttp

TOKEN = "bench-publish-token-0123456789"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_times(pid):
    """User and system CPU seconds of `pid`."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def cpu_seconds(pid):
    return sum(cpu_times(pid))


def servers_cpu(processes):
    """User and system CPU seconds of all `processes` together, each read once."""
    times = [cpu_times(process.pid) for process in processes]
    return sum(user for user, _ in times), sum(system for _, system in times)


def write_calls(pid):
    """The write system calls `pid` has made so far (write, writev, send...)."""
    with open(f"/proc/{pid}/io") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("syscw:"))


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


class Clients:
    """The N clients, in one Node process (`bench_clients.js`): started, then asked for their latencies."""

    def __init__(self, ports, connections, socketio, node_ws):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_clients.js")
        self.process = subprocess.Popen(
            ["node", script, ",".join(map(str, ports)), str(connections), "sio" if socketio else "plain"],
            env={**os.environ, "NODE_WS_PATH": node_ws}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line or json.loads(line).get("event") != "ready":
            raise SystemExit(f"the clients did not connect: {line!r}")

    def report(self, expected):
        self.process.stdin.write(f"report {expected}\n")
        self.process.stdin.flush()
        result = json.loads(self.process.stdout.readline())
        self.process.wait()
        return result


def start_redis():
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--loglevel", "warning"], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    return process, port


async def publish(session, url, headers, socketio, sequence):
    data = {"tenderId": "bench", "amount": 1250.5, "bidder": "acme-construction", "seq": sequence,
            "sentAt": time.time_ns() // 1000}  # microseconds: JSON numbers are exact below 2^53
    body = {"namespace": "/tenders", "room": "tender:bench", "event": "bid:placed", "data": data} \
        if socketio else data
    async with session.post(url, json=body, headers=headers) as response:
        assert response.status == 202, await response.text()


async def run(name, servers, socketio, connections, seconds, rate, node_ws, redis=None, burst=1, metrics_url=None):
    """`servers`: (command, environment) of each instance; clients are spread over them round-robin and the
    messages are published to the first, `burst` at a time (concurrent requests), `rate` per second. With
    `metrics_url` (the first instance's), its fallback mirror's counters are read before it stops."""
    started_servers = [start(command, env) for command, env in servers]
    processes = [process for process, _ in started_servers]
    ports = [port for _, port in started_servers]
    await asyncio.sleep(1)
    baseline_rss = sum(rss_kib(process.pid) for process in processes)
    clients = Clients(ports, connections, socketio, node_ws)
    await asyncio.sleep(2)
    idle_rss = sum(rss_kib(process.pid) for process in processes)
    user_before, system_before = servers_cpu(processes)
    redis_before = cpu_seconds(redis.pid) if redis else 0
    url = f"http://127.0.0.1:{ports[0]}" + ("/v1/publish" if socketio else "/publish")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    started = time.monotonic()
    writes_before = sum(write_calls(process.pid) for process in processes)
    async with aiohttp.ClientSession() as session:
        ticks = int(seconds * rate / burst)
        for tick in range(ticks):
            await asyncio.gather(*(publish(session, url, headers, socketio, tick * burst + index)
                                   for index in range(burst)))
            await asyncio.sleep(max(0, started + (tick + 1) * burst / rate - time.monotonic()))
    expected = connections * int(seconds * rate / burst) * burst
    received = clients.report(expected)
    elapsed = time.monotonic() - started
    user_after, system_after = servers_cpu(processes)
    system = system_after - system_before
    cpu = user_after - user_before + system
    writes = sum(write_calls(process.pid) for process in processes) - writes_before
    redis_cpu = cpu_seconds(redis.pid) - redis_before if redis else None
    mirror = mirror_figures(metrics_url, elapsed) if metrics_url else None
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=15)
    delivered = received["delivered"]
    return {
        "server": name, "connections": connections, "delivered": delivered, "expected": expected,
        "deliveries_per_second": delivered / elapsed,
        "p50_ms": received["p50_ms"] if delivered else float("nan"),
        "p99_ms": received["p99_ms"] if delivered else float("nan"),
        "cpu_per_million": cpu / delivered * 1e6 if delivered else float("nan"),
        "system_share": system / cpu if cpu else float("nan"),
        "writes_per_delivery": writes / delivered if delivered else float("nan"),
        "burst": burst,
        "rss_per_connection_kib": (idle_rss - baseline_rss) / connections,
        "redis_cpu_seconds": redis_cpu,
        "published": int(seconds * rate / burst) * burst,
        "mirror": mirror,
    }


def mirror_figures(metrics_url, elapsed):
    """The mirror's batches and writes from the server's /metrics, waiting (10 s at most) for its queue to empty."""
    deadline = time.monotonic() + 10
    while True:
        values = {}
        for line in urllib.request.urlopen(metrics_url, timeout=5).read().decode().splitlines():
            if line.startswith("realtime_fallback_"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        if values.get("realtime_fallback_queue_depth", 0) == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    batches = values.get('realtime_fallback_batches_total{outcome="written"}', 0)
    events = values.get('realtime_fallback_writes_total{kind="event"}', 0)
    return {"batches": batches, "events": events, "batches_per_second": batches / elapsed,
            "failed": values.get('realtime_fallback_batches_total{outcome="failed"}', 0),
            "dropped": sum(v for k, v in values.items() if k.startswith("realtime_fallback_dropped_total"))}


def start_standin():
    """The Realtime Database stand-in the tests use, on a free port: what the mirror writes to in this bench."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "LocalRuntime", "Resources",
                          "rtdb_standin.py")
    port = free_port()
    process = subprocess.Popen([sys.executable, script, "--port", str(port), "--namespace", "bench-default-rtdb"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if "listening" not in process.stdout.readline():
        raise SystemExit("the Realtime Database stand-in did not start")
    return process, port


def free_port():
    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("server")
    parser.add_argument("--connections", type=int, nargs="+", default=[5000, 10000])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--deliveries-per-second", type=int, default=20000)
    parser.add_argument("--burst", type=int, default=10,
                        help="messages published at once in the burst run (0: no burst run)")
    parser.add_argument("--burst-connections", type=int, default=1000)
    parser.add_argument("--node-ws", default="/usr/share/nodejs/ws")
    parser.add_argument("--mirror-events", type=int, default=1000,
                        help="events per second of the Firebase mirror's run (0: no such run)")
    parser.add_argument("--mirror-connections", type=int, default=10)
    args = parser.parse_args()
    swift_env = {"HOST": "127.0.0.1", "PORT": "0", "METRICS_PORT": "0", "REALTIME_PROFILE": "tenderflow", "PUBLISH_TOKEN": TOKEN,
                 "LOG_LEVEL": "info", "MAX_CONNECTIONS_PER_USER": "100000", "PING_INTERVAL_MS": "25000"}
    node = ["node", os.path.join(os.path.dirname(os.path.abspath(__file__)), "ws_baseline.js")]
    if shutil.which("node") is None or not os.path.isdir(args.node_ws):
        raise SystemExit(f"node or {args.node_ws} missing (Debian: apt-get install nodejs node-ws): the clients "
                         "and the baseline need them")
    cluster = shutil.which("redis-server") is not None
    if not cluster:
        print("redis-server missing (Debian: apt-get install redis-server): no two-instance run")
    # (connections, burst, with a two-instance run)
    scenarios = [(connections, 1, cluster) for connections in args.connections]
    if args.burst > 1:
        scenarios.append((args.burst_connections, args.burst, False))
    pairs, cluster_results, mirrored_results = [], [], []
    for connections, burst, two_instances in scenarios:
        rate = args.deliveries_per_second / connections
        swift = asyncio.run(run("realtime-server", [([args.server], swift_env)], True, connections, args.seconds,
                                rate, args.node_ws, burst=burst))
        node_result = asyncio.run(run("node ws", [(node, {"NODE_WS_PATH": args.node_ws})], False, connections,
                                      args.seconds, rate, args.node_ws, burst=burst))
        pairs.append((swift, node_result))
        if two_instances:
            redis, redis_port = start_redis()
            try:
                env = {**swift_env, "REDIS_URL": f"redis://127.0.0.1:{redis_port}"}
                cluster_results.append((swift, asyncio.run(run("2 instances", [([args.server], env)] * 2, True,
                                                                connections, args.seconds, rate, args.node_ws,
                                                                redis=redis))))
            finally:
                redis.kill()
                redis.wait()
    if args.mirror_events:
        # Few connections, many events: what the Firebase fallback's mirror costs per event, the same run without
        # it as the baseline, every event written to the Realtime Database stand-in.
        connections, rate = args.mirror_connections, args.mirror_events
        plain = asyncio.run(run("realtime-server", [([args.server], swift_env)], True, connections, args.seconds,
                                rate, args.node_ws, burst=10))
        standin, standin_port = start_standin()
        try:
            metrics_port = free_port()
            env = {**swift_env, "FIREBASE_DATABASE_URL": "https://bench-default-rtdb.firebaseio.com",
                   "FIREBASE_DATABASE_EMULATOR_HOST": f"127.0.0.1:{standin_port}", "METRICS_PORT": str(metrics_port)}
            mirrored_results.append((plain, asyncio.run(run(
                "+ RTDB mirror", [([args.server], env)], True, connections, args.seconds, rate, args.node_ws,
                burst=10, metrics_url=f"http://127.0.0.1:{metrics_port}/metrics"))))
        finally:
            standin.kill()
            standin.wait()
    print(f"broadcast to one room, {args.deliveries_per_second} deliveries/s offered, {args.seconds:.0f} s per run; "
          f"burst: messages published at once")
    print(f"{'server':<16}{'conns':>7}{'burst':>6}{'delivered':>11}{'deliv/s':>9}{'p50 ms':>8}{'p99 ms':>8}"
          f"{'CPU s/M deliv':>15}{'kernel':>8}{'writes/deliv':>14}{'RSS/conn KiB':>14}")
    rows = [r for pair in pairs for r in pair if r] + [pair for _, pair in cluster_results] \
        + [run for pair in mirrored_results for run in pair]
    for r in rows:
        print(f"{r['server']:<16}{r['connections']:>7}{r['burst']:>6}{r['delivered']:>11}"
              f"{r['deliveries_per_second']:>9.0f}{r['p50_ms']:>8.1f}{r['p99_ms']:>8.1f}{r['cpu_per_million']:>15.2f}"
              f"{r['system_share']:>8.0%}{r['writes_per_delivery']:>14.2f}{r['rss_per_connection_kib']:>14.1f}")
    for swift, node_result in pairs:
        if node_result:
            print(f"ratio realtime-server / node ws at {swift['connections']} connections, burst {swift['burst']}: "
                  f"CPU per delivery {swift['cpu_per_million'] / node_result['cpu_per_million']:.2f}x, RSS per "
                  f"connection {swift['rss_per_connection_kib'] / max(node_result['rss_per_connection_kib'], 0.001):.2f}x")
    for plain, mirrored in mirrored_results:
        figures = mirrored["mirror"]
        extra = (mirrored["cpu_per_million"] - plain["cpu_per_million"]) * mirrored["delivered"] / 1e6
        print(f"RTDB mirror, {mirrored['published'] / args.seconds:.0f} events/s to {mirrored['connections']} "
              f"connections: CPU per delivery {mirrored['cpu_per_million'] / plain['cpu_per_million']:.2f}x the same "
              f"run without it; "
              f"{figures['events']:.0f} of {mirrored['published']} events mirrored in {figures['batches']:.0f} batches "
              f"({figures['batches_per_second']:.1f} batches/s, {figures['events'] / max(figures['batches'], 1):.1f} "
              f"events per batch), {figures['failed']:.0f} failed, {figures['dropped']:.0f} dropped; "
              f"{extra * 1e6 / max(figures['events'], 1):.0f} µs of server CPU per mirrored event (difference of two runs)")
    for single, pair in cluster_results:
        print(f"two instances through Redis / one instance at {pair['connections']} connections: deliveries/s "
              f"{pair['deliveries_per_second'] / single['deliveries_per_second']:.2f}x, p99 "
              f"{pair['p99_ms'] / single['p99_ms']:.2f}x, CPU per delivery "
              f"{pair['cpu_per_million'] / single['cpu_per_million']:.2f}x; Redis used "
              f"{pair['redis_cpu_seconds']:.2f} CPU s for {pair['delivered']} deliveries")


if __name__ == "__main__":
    main()
