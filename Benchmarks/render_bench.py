#!/usr/bin/env python3
"""Renders generated 10-, 50- and 100-region topologies with the release build of tfctl and reports, for each,
the bytes written, wall time and peak RSS, with the ratios between them (the render must grow linearly in
regions), and baselines measured in the same run on the same machine:

  * terraform fmt -check over the Terraform files tfctl rendered for 50 regions (a native Go tool only parsing
    and printing them);
  * python3 loading the same environment file with PyYAML (the floor of any Python IaC tool: start and read input);
  * CDK for Terraform synthesising the same 50-region topology (Benchmarks/cdktf_baseline.py, with the prebuilt
    google provider bindings from PyPI), the tool a team would otherwise pick.

Usage: render_bench.py TFCTL_BINARY [--runs N] [--cdktf-runs N]
"""
import argparse
import importlib.util
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
        # Without in-transit encryption: with it, the relay endpoints document of more than 22 regions would not fit
        # in its secret (TFC0409).
        "memorystore: { tier: standard_ha, memory_gb: 5, read_replicas: 1, transit_encryption: false }",
        "load_balancer: { domains: [realtime.example.com], rate_limit: { requests: 600, interval_seconds: 60 } }",
        "firebase: { location: us-central1 }",
        "monitoring: { emails: [oncall@example.com] }",
        f"capacity: {{ peak_connections: {regions * 20000}, peak_messages_per_second: 100000 }}",
        "",
    ])


def tree_rss_kib(root):
    """Resident KiB of `root` and every process descended from it, now (Linux /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
            except (OSError, IndexError):
                continue
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        pending += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/status") as handle:
                total += next((int(line.split()[1]) for line in handle if line.startswith("VmRSS:")), 0)
        except OSError:
            continue
    return total


def measure(argv, runs, cwd=None, cleanup=None, tree=False):
    """Median wall seconds and the largest peak RSS (KiB) over `runs` runs of argv (a list, or a function of the
    run number returning one). The peak is the process's own (`ru_maxrss`), or with `tree` the largest sum over
    the process and its children sampled every 20 ms (cdktf runs its work in a Node.js child). `cleanup(run)`
    runs after each run, outside the timing (a fresh output directory removed)."""
    walls, peak = [], 0
    for run in range(runs):
        if callable(argv):
            argv_now = argv(run)
        else:
            argv_now = argv
        start = time.perf_counter()
        process = subprocess.Popen(argv_now, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sampled = 0
        if tree:
            while process.poll() is None:
                sampled = max(sampled, tree_rss_kib(process.pid))
                time.sleep(0.02)
            status, usage = process.returncode, None
        else:
            _, status, usage = os.wait4(process.pid, 0)
            status = os.waitstatus_to_exitcode(status)
        walls.append(time.perf_counter() - start)
        if status != 0:
            raise RuntimeError(f"benchmark command failed: {' '.join(argv_now)}")
        peak = max(peak, sampled if tree else usage.ru_maxrss)
        if cleanup:
            cleanup(run)
    return statistics.median(walls), peak


def render_case(tfctl, work, regions, runs):
    """Bytes, files, Terraform resources, median wall time and peak RSS of rendering `regions` regions."""
    env = os.path.join(work, f"bench{regions}.yaml")
    with open(env, "w") as handle:
        handle.write(environment(regions))
    out = os.path.join(work, f"out{regions}")
    subprocess.run([tfctl, "render", "--env", env, "--out", out], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    files = [os.path.join(root, name) for root, _, names in os.walk(out) for name in names]
    size = sum(os.path.getsize(f) for f in files)
    resources = sum(open(f).read().count('\nresource "') for f in files if f.endswith(".tf"))
    fresh = lambda run: os.path.join(work, f"fresh{regions}-{run}")  # noqa: E731
    wall, rss = measure(lambda run: [tfctl, "render", "--env", env, "--out", fresh(run)], runs, cwd=work,
                        cleanup=lambda run: shutil.rmtree(fresh(run), ignore_errors=True))
    return {"env": env, "out": out, "bytes": size, "files": len(files), "resources": resources, "wall": wall,
            "rss": rss}


def cdktf_synth(work, regions, runs):
    """Median wall time, peak RSS and resource count of cdktf_baseline.py, or None without cdktf."""
    # Looked up, not imported: importing cdktf starts its Node.js runtime (make bench installs it).
    if runs < 1 or importlib.util.find_spec("cdktf") is None:
        return None
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cdktf_baseline.py")
    out = lambda run: os.path.join(work, f"cdktf{run}")  # noqa: E731
    try:
        count = subprocess.run([sys.executable, script, str(regions), out("count")], check=True,
                               capture_output=True, text=True).stdout.split()[-1]
        wall, rss = measure(lambda run: [sys.executable, script, str(regions), out(run)], runs, tree=True,
                            cleanup=lambda run: shutil.rmtree(out(run), ignore_errors=True))
    except (subprocess.CalledProcessError, RuntimeError) as error:
        return {"error": str(error)}
    return {"wall": wall, "rss": rss, "resources": int(count)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tfctl")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--cdktf-runs", type=int, default=3)
    args = parser.parse_args()
    if args.runs < 1 or args.cdktf_runs < 0:
        parser.error("--runs must be at least 1 and --cdktf-runs at least 0")
    tfctl = os.path.abspath(args.tfctl)
    work = tempfile.mkdtemp(prefix="tfctl-bench-")
    try:
        cases = {regions: render_case(tfctl, work, regions, args.runs) for regions in (10, 50, 100)}
        fifty = cases[50]
        validate_wall, validate_rss = measure([tfctl, "validate", "--env", fifty["env"]], args.runs, cwd=work)
        rerender_wall, rerender_rss = measure(
            [tfctl, "render", "--env", fifty["env"], "--out", fifty["out"]], args.runs, cwd=work)
        if shutil.which("terraform"):
            fmt_wall, fmt_rss = measure(
                ["terraform", "fmt", "-check", "-recursive", os.path.join(fifty["out"], "terraform")], args.runs)
        else:
            fmt_wall = fmt_rss = None
        py_wall, py_rss = measure(
            [sys.executable, "-c", "import sys, yaml; yaml.safe_load(open(sys.argv[1]))", fifty["env"]], args.runs)
        cdk = cdktf_synth(work, 50, args.cdktf_runs)

        print("tfctl render (release), every output: Terraform, gcloud scripts, Knative YAML, manifest")
        print("  regions  resources  files       bytes   wall ms   peak RSS MiB")
        for regions, case in cases.items():
            print(f"  {regions:7d}  {case['resources']:9d}  {case['files']:5d}  {case['bytes']:10d}  "
                  f"{case['wall'] * 1000:8.1f}   {case['rss'] / 1024:8.1f}")
        for small, large in ((10, 50), (50, 100)):
            a, b = cases[small], cases[large]
            print(f"  {large} / {small} regions ({large / small:.0f}x): bytes {b['bytes'] / a['bytes']:5.2f}x   "
                  f"time {b['wall'] / a['wall']:5.2f}x   RSS {b['rss'] / a['rss']:5.2f}x")
        print("50 regions:")
        print(f"  tfctl validate (release)        {validate_wall * 1000:8.1f} ms   peak RSS {validate_rss / 1024:6.1f} MiB")
        print(f"  tfctl render, new directory     {fifty['wall'] * 1000:8.1f} ms   peak RSS {fifty['rss'] / 1024:6.1f} MiB")
        print(f"  tfctl render, re-render         {rerender_wall * 1000:8.1f} ms   peak RSS {rerender_rss / 1024:6.1f} MiB")
        if fmt_wall:
            print(f"  baseline: terraform fmt -check  {fmt_wall * 1000:8.1f} ms   peak RSS {fmt_rss / 1024:6.1f} MiB")
        else:
            print("  baseline: terraform fmt -check  terraform is not installed")
        print(f"  baseline: python3 + PyYAML load {py_wall * 1000:8.1f} ms   peak RSS {py_rss / 1024:6.1f} MiB")
        if cdk and "error" in cdk:
            print(f"  baseline: cdktf synth           failed: {cdk['error']}")
            cdk = None
        elif cdk:
            print(f"  baseline: cdktf synth           {cdk['wall'] * 1000:8.1f} ms   peak RSS {cdk['rss'] / 1024:6.1f} MiB"
                  f"   ({cdk['resources']} resources, tfctl {fifty['resources']}; RSS of Python and its Node.js child)")
        else:
            print("  baseline: cdktf synth           not installed (make bench installs it)")
        if fmt_wall:
            print(f"  ratio render / terraform fmt:    time {fifty['wall'] / fmt_wall:5.2f}x   "
                  f"RSS {fifty['rss'] / fmt_rss:5.2f}x")
        print(f"  ratio render / python3 + PyYAML: time {fifty['wall'] / py_wall:5.2f}x   RSS {fifty['rss'] / py_rss:5.2f}x")
        if cdk:
            print(f"  ratio cdktf synth / render:      time {cdk['wall'] / fifty['wall']:6.1f}x   "
                  f"RSS {cdk['rss'] / fifty['rss']:5.2f}x")
        print(f"  ratio validate / python3 + PyYAML: time {validate_wall / py_wall:5.2f}x")
        print(f"  (median of {args.runs} runs each, cdktf {args.cdktf_runs}; wall time includes process start)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
