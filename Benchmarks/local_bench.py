#!/usr/bin/env python3
"""The local topology under load: `tfctl loadtest` through the front door (haproxy) and directly to the server
instances, in the same run, with each process's CPU measured apart.

For each N (5 000 and 10 000): `tfctl up` brings up a one-region topology (a redis-server, N/1000 + 1 server
instances: Cloud Run's largest concurrency is 1 000 connections per instance, and the front door holds each
instance to it), then `tfctl loadtest` opens N WebSocket connections in 10 tender rooms and publishes for 10 s at
the rate that makes 20 000 deliveries/s, once through the front door and once straight to the instances (spread
round-robin). The load generator reports when publishing starts and stops; the CPU time of the servers, of Redis,
of the front door (haproxy's master and worker: each local process's whole process group) and of the load
generator over exactly that span comes from /proc. Each proxied connection holds two descriptors in haproxy, so a
machine whose descriptor limit is 20 000 (this development machine's hard limit) holds about 9 990 connections
through the front door: the 10 000 run shows the rest refused with 503. Reported per path:
deliveries/s, p50/p99 latency, and CPU microseconds per delivery of each part.

Usage: local_bench.py TFCTL [--connections 5000 10000] [--seconds 10] [--deliveries-per-second 20000]
TFCTL's directory must hold the realtime-server it runs (a release build holds both).
"""
import argparse
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile

TICKS = os.sysconf("SC_CLK_TCK")
ROOMS = 10
ENVIRONMENT = """\
project: tfctl-bench
name: bench
regions: [us-central1]
services:
  realtime:
    image: bundled
    concurrency: 1000
    min_instances: {instances}
    max_instances: {instances}
    env: {{ LOG_LEVEL: warning, JWT_ISSUER: "https://auth.bench.test", JWT_AUDIENCE: bench }}
    secrets: {{ JWT_RS256_PUBLIC_KEY: bench-jwt-public-key, PUBLISH_TOKEN: bench-publish-token }}
memorystore: {{ tier: basic, memory_gb: 1, version: "7.2", auth: false, transit_encryption: false }}
load_balancer: {{ domains: [bench.example.com], rate_limit: {{ requests: 100000000, interval_seconds: 60 }} }}
monitoring: {{ emails: [bench@example.com] }}
"""


def stat_fields(pid):
    """The fields of /proc/PID/stat after the command (state first); None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def cpu_seconds(pid):
    """User and system CPU seconds of `pid` (0 when it is gone)."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS if fields else 0.0


def group_cpu_seconds(group):
    """CPU seconds of every process of the process group `group` leads: the front door is haproxy's master and
    its worker, which does the work; each local process runs in a group of its own."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := stat_fields(entry)) and int(fields[2]) == group:
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def parts(project):
    """The pids of the local run by part: servers, redis, front door."""
    state = json.loads((project / ".tfctl" / "local" / "bench" / "state.json").read_text())
    groups = {"servers": [], "redis": [], "front door": []}
    for process in state["processes"]:
        kind = process["id"].split("/")[0]
        groups[{"realtime": "servers", "redis": "redis", "front-door": "front door"}[kind]].append(process["pid"])
    return groups


def tfctl(binary, project, *arguments, **options):
    return subprocess.run([binary, *arguments, "--env", "bench", "--chdir", str(project)], text=True, check=True,
                          **options)


def loadtest(binary, project, connections, seconds, rate, direct):
    """One load test; answers its report and the CPU seconds of each part while it published."""
    groups = parts(project)
    command = [binary, "loadtest", "--env", "bench", "--chdir", str(project), "--connections", str(connections),
               "--rooms", str(ROOMS), "--rate", str(rate), "--duration", str(seconds), "--format", "json",
               "--phase-events", *(["--direct"] if direct else [])]
    process = subprocess.Popen(command, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    marks = {}
    for line in process.stderr:
        if line.startswith("{"):
            phase = json.loads(line)["phase"]
            marks[phase] = {name: sum(group_cpu_seconds(pid) for pid in pids) for name, pids in groups.items()}
            marks[phase]["load generator"] = cpu_seconds(process.pid)
        else:
            sys.stderr.write(line)
    report = json.loads(process.stdout.read())
    if process.wait() != 0 or set(marks) != {"publishing", "published"}:
        raise SystemExit(f"loadtest failed: {report}")
    return report, {name: marks["published"][name] - marks["publishing"][name] for name in marks["publishing"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tfctl")
    parser.add_argument("--connections", type=int, nargs="+", default=[5000, 10000])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--deliveries-per-second", type=int, default=20000)
    arguments = parser.parse_args()
    binary = str(pathlib.Path(arguments.tfctl).resolve())
    rows = []
    for connections in arguments.connections:
        rate = max(1, arguments.deliveries_per_second * ROOMS // connections)
        with tempfile.TemporaryDirectory(prefix="tfctl-local-bench-") as directory:
            project = pathlib.Path(directory)
            (project / "Environments").mkdir()
            (project / "Environments" / "bench.yaml").write_text(
                ENVIRONMENT.format(instances=connections // 1000 + 1))
            tfctl(binary, project, "up", "--port", str(free_port()), stdout=subprocess.DEVNULL)
            try:
                for direct in (False, True):
                    report, cpu = loadtest(binary, project, connections, arguments.seconds, rate, direct)
                    deliveries = max(1, report["deliveries"])
                    rows.append({
                        "path": "direct to the instances" if direct else "through the front door",
                        "connections": connections, "instances": connections // 1000 + 1,
                        "subscribed": report["subscribed"], "deliveries_per_second": report["deliveries_per_second"],
                        "delivered_ratio": report["deliveries"] / max(1, report["expected_deliveries"]),
                        "p50_ms": report["latency_ms"].get("p50"), "p99_ms": report["latency_ms"].get("p99"),
                        "errors": report["errors"],
                        "cpu_us_per_delivery": {name: round(seconds * 1e6 / deliveries, 2)
                                                for name, seconds in cpu.items()},
                    })
            finally:
                tfctl(binary, project, "destroy", "--target", "local", stdout=subprocess.DEVNULL)
    print("| path | connections | instances | deliveries/s | delivered | p50 / p99 ms | CPU µs per delivery: "
          "servers | Redis | front door | load generator |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        cpu = row["cpu_us_per_delivery"]
        print(f"| {row['path']} | {row['connections']} | {row['instances']} | {row['deliveries_per_second']:.0f} | "
              f"{100 * row['delivered_ratio']:.2f} % | {row['p50_ms']:.0f} / {row['p99_ms']:.0f} | "
              f"{cpu['servers']:.2f} | {cpu['redis']:.2f} | {cpu.get('front door', 0):.2f} | "
              f"{cpu['load generator']:.2f} |")
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
