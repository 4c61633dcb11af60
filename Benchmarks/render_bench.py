#!/usr/bin/env python3
"""Renders a generated 50-region topology with the release build of tfctl and reports wall time and peak RSS,
with baselines measured in the same run on the same machine:

  * terraform fmt -check over the Terraform files tfctl rendered (a native Go tool only parsing and printing them);
  * python3 loading the same environment file with PyYAML (the floor of any Python IaC tool: start and read input).

Usage: render_bench.py TFCTL_BINARY [--runs N] [--regions N]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

KNOWN_REGIONS = [
    "africa-south1", "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
    "asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2", "australia-southeast1",
    "australia-southeast2", "europe-central2", "europe-north1", "europe-north2", "europe-southwest1",
    "europe-west1", "europe-west10", "europe-west12", "europe-west2", "europe-west3", "europe-west4",
    "europe-west6", "europe-west8", "europe-west9", "me-central1", "me-central2", "me-west1",
    "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1", "southamerica-east1",
    "southamerica-west1", "us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1",
    "us-west2", "us-west3", "us-west4",
]


def environment(regions: int) -> str:
    names = KNOWN_REGIONS[:regions] + [f"bench-region{i}" for i in range(max(0, regions - len(KNOWN_REGIONS)))]
    return "\n".join([
        "project: tenderflow-bench",
        "name: bench",
        f"regions: [{', '.join(names)}]",
        "network: { cidr: 10.0.0.0/8, subnet_prefix: 20 }",
        "services:",
        "  realtime: { min_instances: 2, max_instances: 100, env: { LOG_LEVEL: info }, secrets: { JWT_SECRET: jwt } }",
        "  admin: { max_instances: 5, concurrency: 250 }",
        "memorystore: { tier: standard_ha, memory_gb: 5, read_replicas: 1 }",
        "load_balancer: { domains: [realtime.example.com], rate_limit: { requests: 600, interval_seconds: 60 } }",
        "firebase: { location: us-central1 }",
        "monitoring: { emails: [oncall@example.com] }",
        "capacity: { peak_connections: 1000000, peak_messages_per_second: 100000 }",
        "",
    ])


def measure(argv, runs, cwd=None):
    """Median wall seconds and the largest peak RSS (KiB) over `runs` runs of argv (a list, or a function of the
    run number returning one)."""
    walls, peak = [], 0
    for run in range(runs):
        if callable(argv):
            argv_now = argv(run)
        else:
            argv_now = argv
        start = time.perf_counter()
        process = subprocess.Popen(argv_now, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        walls.append(time.perf_counter() - start)
        if os.waitstatus_to_exitcode(status) not in (0,):
            sys.exit(f"benchmark command failed: {' '.join(argv_now)}")
        peak = max(peak, usage.ru_maxrss)
    return statistics.median(walls), peak


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tfctl")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--regions", type=int, default=50)
    args = parser.parse_args()
    tfctl = os.path.abspath(args.tfctl)
    work = tempfile.mkdtemp(prefix="tfctl-bench-")
    try:
        env = os.path.join(work, "bench.yaml")
        with open(env, "w") as handle:
            handle.write(environment(args.regions))
        out = os.path.join(work, "out")
        render = [tfctl, "render", "--env", env, "--out", out]
        subprocess.run(render, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        files = [os.path.join(root, name) for root, _, names in os.walk(out) for name in names]
        size = sum(os.path.getsize(f) for f in files)
        resources = sum(open(f).read().count('\nresource "') for f in files)

        tf_wall, tf_rss = measure(render, args.runs, cwd=work)
        fresh_wall, fresh_rss = measure(
            lambda run: [tfctl, "render", "--env", env, "--out", os.path.join(work, f"fresh{run}")], args.runs, cwd=work)
        validate_wall, validate_rss = measure([tfctl, "validate", "--env", env], args.runs, cwd=work)
        fmt_wall, fmt_rss = measure(["terraform", "fmt", "-check", "-recursive", os.path.join(out, "terraform")], args.runs)
        py_wall, py_rss = measure(
            [sys.executable, "-c", "import sys, yaml; yaml.safe_load(open(sys.argv[1]))", env], args.runs)

        print(f"tfctl render, {args.regions} regions: {resources} Terraform resources, {len(files)} files, "
              f"{size // 1024} KiB of output")
        print(f"  tfctl validate (release)        {validate_wall * 1000:8.1f} ms   peak RSS {validate_rss / 1024:6.1f} MiB")
        print(f"  tfctl render, new directory     {fresh_wall * 1000:8.1f} ms   peak RSS {fresh_rss / 1024:6.1f} MiB")
        print(f"  tfctl render, re-render         {tf_wall * 1000:8.1f} ms   peak RSS {tf_rss / 1024:6.1f} MiB")
        print(f"  baseline: terraform fmt -check  {fmt_wall * 1000:8.1f} ms   peak RSS {fmt_rss / 1024:6.1f} MiB")
        print(f"  baseline: python3 + PyYAML load {py_wall * 1000:8.1f} ms   peak RSS {py_rss / 1024:6.1f} MiB")
        print(f"  ratio render / terraform fmt:    time {fresh_wall / fmt_wall:5.2f}x   RSS {fresh_rss / fmt_rss:5.2f}x")
        print(f"  ratio render / python3 + PyYAML: time {fresh_wall / py_wall:5.2f}x   RSS {fresh_rss / py_rss:5.2f}x")
        print(f"  ratio validate / python3 + PyYAML: time {validate_wall / py_wall:5.2f}x")
        print(f"  (median of {args.runs} runs each; wall time includes process start)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
