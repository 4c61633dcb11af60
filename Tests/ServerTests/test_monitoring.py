"""The rendered observability against the real server: every metric and label the dashboard, the alert policies
and the SLOs read is one the server exports, scraped from a running instance on real Redis; the delivery latency
histogram's buckets are the ones the latency SLO may cut at; handshakes and connects are counted as they happen;
and `tfctl status --metrics` of a local run shows every instance's metrics, each sample labelled with its
instance."""
import asyncio
import json
import os
import pathlib
import re
import subprocess
import time

import pytest
import requests

from conftest import PUBLISH_TOKEN, Redis, Server, publish
from tenderflow_client import Client
from test_local_runtime import TFCTL

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The labels the Prometheus sidecar gives every series (`prometheus_target`), and a histogram's bucket bound.
RESOURCE_LABELS = {"location", "namespace", "instance", "job", "cluster", "project_id", "le"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    if not os.access(TFCTL, os.X_OK):
        pytest.skip("SKIPPED: tfctl is not built")
    out = tmp_path_factory.mktemp("render")
    subprocess.run([TFCTL, "render", "--env", "prod", "--out", str(out), "--chdir", str(ROOT)], check=True,
                   capture_output=True, timeout=120)
    return out


def queries(rendered):
    """Every PromQL query and SLO filter of the render: the dashboard's and the alert policies'."""
    dashboard = json.loads((rendered / "gcloud" / "monitoring" / "dashboard.json").read_text())
    found = []
    for tile in dashboard["mosaicLayout"]["tiles"]:
        for data_set in tile["widget"].get("xyChart", {}).get("dataSets", []):
            if "prometheusQuery" in data_set["timeSeriesQuery"]:
                found.append(data_set["timeSeriesQuery"]["prometheusQuery"])
    terraform = (rendered / "terraform" / "monitoring.tf").read_text()
    found += [json.loads(match) for match in re.findall(r'^\s+query\s+= ("(?:[^"\\]|\\.)*")$', terraform, re.M)]
    slo_filters = [json.loads(match) for match in
                   re.findall(r'^\s+(?:good_service_filter|total_service_filter|distribution_filter)\s+= ("(?:[^"\\]|\\.)*")$',
                              terraform, re.M)]
    return found, slo_filters


def referenced(promql):
    """{metric: {labels}} that a PromQL query reads: selectors with their matchers, and `by (...)` groupings."""
    names = {}
    for metric, matchers in re.findall(r"\b(realtime_[a-z_]+)(\{[^}]*\})?", promql):
        names.setdefault(metric, set()).update(re.findall(r'([a-z_]+)\s*[=!]~?\s*"', matchers))
    # `sum by (a, b) (expression)`: the grouping labels belong to the metrics of the expression.
    for labels, expression in re.findall(r"by \(([^)]*)\) \((.*)", promql):
        for metric in re.findall(r"\b(realtime_[a-z_]+)", expression):
            names.setdefault(metric, set()).update(label.strip() for label in labels.split(",") if label.strip())
    return names


def exported(server):
    """{metric: {labels}} of the server's /metrics, histograms by their series' names (`_bucket`...)."""
    text = requests.get(server.metrics_url, timeout=5).text
    names = {}
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(?:\{([^}]*)\})? \S+$", line)
        if match:
            labels = set(re.findall(r'([a-z_]+)="', match.group(2) or ""))
            names.setdefault(match.group(1), set()).update(labels)
    return names, text


@pytest.fixture(scope="module")
def server():
    redis = Redis()
    instance = Server("tenderflow", PUBLISH_TOKEN=PUBLISH_TOKEN, REDIS_URL=redis.url)
    yield instance
    instance.stop()
    redis.kill()


def test_every_metric_and_label_the_render_reads_is_exported_by_the_server(rendered, server):
    found, slo_filters = queries(rendered)
    assert len(found) >= 20, found
    names, _ = exported(server)
    for query in found:
        for metric, labels in referenced(query).items():
            assert metric in names, f"{metric} (in {query}) is not exported by the server"
            missing = labels - names[metric] - RESOURCE_LABELS
            assert not missing, f"{metric} has no label {missing} (in {query}); it has {names[metric]}"
    # The SLOs read the series as Cloud Monitoring stores them: prometheus.googleapis.com/NAME/KIND.
    assert slo_filters
    for slo_filter in slo_filters:
        metric, kind = re.search(r'prometheus\.googleapis\.com/([a-z_]+)/([a-z]+)', slo_filter).groups()
        series = metric + "_bucket" if kind == "histogram" else metric
        assert series in names, f"{metric} ({kind}) of an SLO is not exported"
        for label in re.findall(r'metric\.labels\.([a-z_]+)', slo_filter):
            assert label in names[series], (label, slo_filter)


def test_no_label_of_the_server_is_one_the_sidecar_sets(server):
    # The sidecar writes every series with these resource labels; a scraped label of the same name is renamed
    # `exported_<name>`, and a query grouping by it would read the sidecar's value instead.
    names, _ = exported(server)
    for metric, labels in names.items():
        assert not labels & {"project_id", "location", "cluster", "namespace", "job", "instance"}, (metric, labels)


def test_handshakes_connects_and_delivery_latency_are_counted_as_they_happen(server):
    open_packet = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=5).text
    assert open_packet.startswith("0{")

    # A broadcast to a tender room with a subscriber here goes through Redis and comes back with its stream
    # offset: its latency is timed when it is delivered.
    async def subscribed_broadcast():
        async with Client(server, "alice") as alice:
            assert (await alice.call("subscribe", {"tenderId": "1"}))["ok"]
            response = await asyncio.to_thread(publish, server, {
                "namespace": "/tenders", "room": "tender:1", "event": "tender:update", "data": {"sequence": 1}})
            assert response.status_code == 202, response.text
            assert (await alice.expect("tender:update"))["sequence"] == 1
    asyncio.run(subscribed_broadcast())
    deadline = time.monotonic() + 10
    while True:
        _, text = exported(server)
        count = re.search(r"^realtime_delivery_latency_seconds_count (\S+)$", text, re.M)
        if count and float(count.group(1)) >= 1:
            break
        assert time.monotonic() < deadline, "no delivery latency was recorded"
        time.sleep(0.1)
    accepted = re.search(r'^realtime_handshakes_total\{transport="polling",outcome="accepted"\} (\S+)$', text, re.M)
    assert accepted and float(accepted.group(1)) >= 1, text
    connects = re.search(r'^realtime_connects_total\{outcome="accepted",reason="none"\} (\S+)$', text, re.M)
    assert connects and float(connects.group(1)) >= 2, text  # /tenders and /system
    assert re.search(r'^realtime_connects_total\{outcome="refused",reason="unauthorized"\} 0', text, re.M)


def test_the_latency_slo_cuts_at_a_bucket_the_server_has(rendered, server, tmp_path):
    _, text = exported(server)
    bounds = sorted(float(bound) for bound in
                    re.findall(r'^realtime_delivery_latency_seconds_bucket\{le="([0-9.e+-]+)"\}', text, re.M))
    # What validation accepts: the buckets it names when the threshold is not one of them.
    environment = tmp_path / "latency.yaml"
    environment.write_text(f"extends: {ROOT / 'Environments' / 'prod.yaml'}\n"
                           "monitoring: { slo: { delivery_latency_threshold: 300ms } }\n")
    result = subprocess.run([TFCTL, "validate", "--env", str(environment), "--chdir", str(ROOT)],
                            capture_output=True, text=True, timeout=60)
    assert "TFC0708" in result.stdout + result.stderr, result.stdout + result.stderr
    accepted = [int(value) / 1000 for value in re.findall(r"(\d+)ms", (result.stdout + result.stderr).split("use ", 1)[1])]
    assert accepted == bounds, (accepted, bounds)
    threshold = re.search(r"max = ([0-9.]+)", (pathlib.Path(rendered) / "terraform" / "monitoring.tf").read_text())
    assert float(threshold.group(1)) in bounds
