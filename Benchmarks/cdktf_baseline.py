#!/usr/bin/env python3
"""The render benchmark's baseline: the same multi-region topology written with CDK for Terraform (Python, the
prebuilt google provider bindings from PyPI) and synthesised to Terraform JSON, as a team without tfctl would.

It declares what grows with the regions in tfctl's render, with their main attributes: per region a subnetwork, a
Memorystore instance (AUTH, no in-transit encryption, as the benchmark's topology), its URL secret with its
version and access binding, and per service a Cloud
Run service (environment, probes, the relay endpoints volume) and a serverless NEG; once, the network, private
service access, the relay endpoints secret, a backend service per service listing every region's NEG and the
HTTPS load balancer in front. It leaves out tfctl's fixed few dozen (APIs, monitoring, build, Firebase, IAM),
and some attributes tfctl sets (Redis maintenance window and display name, a few environment variables, the
backend services' logging, outlier detection and security policy, the URL map's path rules), so the comparison
favours cdktf slightly. Prints the number of resources it synthesised.

Usage: cdktf_baseline.py REGIONS OUTDIR
"""
import json
import os
import sys

from cdktf import App, Fn, TerraformStack
from cdktf_cdktf_provider_google.cloud_run_v2_service import CloudRunV2Service
from cdktf_cdktf_provider_google.compute_backend_service import ComputeBackendService
from cdktf_cdktf_provider_google.compute_global_address import ComputeGlobalAddress
from cdktf_cdktf_provider_google.compute_global_forwarding_rule import ComputeGlobalForwardingRule
from cdktf_cdktf_provider_google.compute_managed_ssl_certificate import ComputeManagedSslCertificate
from cdktf_cdktf_provider_google.compute_network import ComputeNetwork
from cdktf_cdktf_provider_google.compute_region_network_endpoint_group import ComputeRegionNetworkEndpointGroup
from cdktf_cdktf_provider_google.compute_subnetwork import ComputeSubnetwork
from cdktf_cdktf_provider_google.compute_target_https_proxy import ComputeTargetHttpsProxy
from cdktf_cdktf_provider_google.compute_url_map import ComputeUrlMap
from cdktf_cdktf_provider_google.provider import GoogleProvider
from cdktf_cdktf_provider_google.redis_instance import RedisInstance
from cdktf_cdktf_provider_google.secret_manager_secret import SecretManagerSecret
from cdktf_cdktf_provider_google.secret_manager_secret_iam_member import SecretManagerSecretIamMember
from cdktf_cdktf_provider_google.secret_manager_secret_version import SecretManagerSecretVersion
from cdktf_cdktf_provider_google.service_networking_connection import ServiceNetworkingConnection

SERVICES = {"realtime": {"min": 2, "max": 100, "concurrency": 1000}, "admin": {"min": 0, "max": 5, "concurrency": 250}}
RUNTIME = "serviceAccount:bench-run@tenderflow-bench.iam.gserviceaccount.com"


def label(*parts):
    return "_".join(part.replace("-", "_") for part in parts)


def secret(stack, name, value):
    """A secret with a Terraform-written version, readable by the runtime service account."""
    created = SecretManagerSecret(stack, label("secret", name), secret_id=f"bench-{name}", replication={"auto": {}})
    version = SecretManagerSecretVersion(stack, label("version", name), secret=created.id, secret_data=value,
                                         deletion_policy="DISABLE")
    SecretManagerSecretIamMember(stack, label("access", name), secret_id=created.id,
                                 role="roles/secretmanager.secretAccessor", member=RUNTIME)
    return created, version


class Topology(TerraformStack):
    def __init__(self, scope, regions):
        super().__init__(scope, "bench")
        GoogleProvider(self, "google", project="tenderflow-bench", region=regions[0])
        network = ComputeNetwork(self, "vpc", name="bench-vpc", auto_create_subnetworks=False)
        address = ComputeGlobalAddress(self, "psa", name="bench-psa", purpose="VPC_PEERING", address_type="INTERNAL",
                                       prefix_length=16, network=network.id)
        peering = ServiceNetworkingConnection(self, "peering", network=network.id,
                                              service="servicenetworking.googleapis.com",
                                              reserved_peering_ranges=[address.name], deletion_policy="ABANDON")
        instances = {}
        endpoints = {}
        for index, region in enumerate(regions):
            subnet = ComputeSubnetwork(self, label("subnet", region), name=f"bench-{region}", region=region,
                                       network=network.id, ip_cidr_range=f"10.{index // 16}.{(index % 16) * 16}.0/20")
            redis = RedisInstance(self, label("redis", region), name=f"bench-{region}", region=region,
                                  tier="STANDARD_HA", memory_size_gb=5, redis_version="REDIS_7_2",
                                  authorized_network=network.id, connect_mode="PRIVATE_SERVICE_ACCESS",
                                  reserved_ip_range=address.name, auth_enabled=True,
                                  replica_count=1,
                                  read_replicas_mode="READ_REPLICAS_ENABLED", depends_on=[peering])
            url = f"redis://:{redis.auth_string}@{redis.host}:{Fn.tostring(redis.port)}"
            instances[region] = (subnet, secret(self, f"redis-url-{region}", url))
            endpoints[region] = {"url": url}
        relay, relay_version = secret(self, "relay-endpoints",
                                      Fn.jsonencode({"format": "tfctl.relay-endpoints/v1", "regions": endpoints}))
        backends = {name: [] for name in SERVICES}
        for region in regions:
            subnet, (url_secret, url_version) = instances[region]
            for name, service in SERVICES.items():
                CloudRunV2Service(
                    self, label(name, region), name=name, location=region,
                    ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", deletion_protection=False,
                    invoker_iam_disabled=True, depends_on=[url_version, relay_version],
                    template={
                        "service_account": RUNTIME.split(":", 1)[1], "timeout": "3600s", "session_affinity": True,
                        "max_instance_request_concurrency": service["concurrency"],
                        "execution_environment": "EXECUTION_ENVIRONMENT_GEN2",
                        "scaling": {"min_instance_count": service["min"], "max_instance_count": service["max"]},
                        "vpc_access": {"egress": "PRIVATE_RANGES_ONLY",
                                       "network_interfaces": [{"network": network.id, "subnetwork": subnet.id}]},
                        "containers": [{
                            "image": f"us-docker.pkg.dev/tenderflow-bench/bench/{name}:1",
                            "ports": {"name": "http1", "container_port": 8080},
                            "resources": {"limits": {"cpu": "1", "memory": "512Mi"}, "cpu_idle": False,
                                          "startup_cpu_boost": True},
                            "env": [
                                {"name": "CORS_ORIGINS", "value": "https://realtime.example.com"},
                                {"name": "REDIS_REQUIRED_FOR_READY", "value": "true"},
                                {"name": "REDIS_URL", "value_source": {"secret_key_ref": {
                                    "secret": url_secret.secret_id, "version": url_version.version}}},
                                {"name": "RELAY_ENDPOINTS_FILE", "value": "/etc/tfctl/relay/endpoints.json"},
                                {"name": "TFCTL_REGION", "value": region},
                                {"name": "TFCTL_TOPOLOGY", "value": "bench"},
                            ],
                            "volume_mounts": [{"name": "relay-endpoints", "mount_path": "/etc/tfctl/relay"}],
                            "startup_probe": {"period_seconds": 5, "timeout_seconds": 2, "failure_threshold": 36,
                                              "http_get": {"path": "/readyz", "port": 8080}},
                            "liveness_probe": {"period_seconds": 15, "timeout_seconds": 3, "failure_threshold": 3,
                                               "http_get": {"path": "/healthz", "port": 8080}},
                        }],
                        "volumes": [{"name": "relay-endpoints", "secret": {
                            "secret": relay.secret_id, "items": [{"path": "endpoints.json", "version": "latest"}]}}],
                    })
                neg = ComputeRegionNetworkEndpointGroup(
                    self, label("neg", name, region), name=f"bench-{name}-{region}", region=region,
                    network_endpoint_type="SERVERLESS", cloud_run={"service": name})
                backends[name].append({"group": neg.id})
        services = {
            name: ComputeBackendService(self, label("backend", name), name=f"bench-{name}", protocol="HTTPS",
                                        load_balancing_scheme="EXTERNAL_MANAGED", backend=groups)
            for name, groups in backends.items()
        }
        url_map = ComputeUrlMap(self, "urlmap", name="bench-https", default_service=services["realtime"].id)
        certificate = ComputeManagedSslCertificate(self, "cert", name="bench-cert",
                                                   managed={"domains": ["realtime.example.com"]})
        proxy = ComputeTargetHttpsProxy(self, "proxy", name="bench-https", url_map=url_map.id,
                                        ssl_certificates=[certificate.id])
        ip = ComputeGlobalAddress(self, "ip", name="bench-ip")
        ComputeGlobalForwardingRule(self, "https", name="bench-https", target=proxy.id, port_range="443",
                                    ip_address=ip.address, load_balancing_scheme="EXTERNAL_MANAGED")


def main():
    regions_count, outdir = int(sys.argv[1]), sys.argv[2]
    regions = [f"bench-region{index}" for index in range(regions_count)]
    app = App(outdir=outdir)
    Topology(app, regions)
    app.synth()
    synthesised = os.path.join(outdir, "stacks", "bench", "cdk.tf.json")
    with open(synthesised) as handle:
        document = json.load(handle)
    print(sum(len(resources) for resources in document["resource"].values()))


if __name__ == "__main__":
    main()
