import HCL
import TopologyModel

/// A Cloud Run service per service and region, tuned for WebSockets: session affinity, long timeout,
/// CPU always allocated, Direct VPC egress to Memorystore, secrets as environment variables.
enum CloudRun {
    static func label(_ service: RealtimeService, _ region: String) -> String { TF.label(service.name, region) }

    static func blocks(_ context: TerraformContext) -> [Block] {
        var blocks: [Block] = []
        for service in context.services {
            for region in context.regions {
                blocks.append(cloudRunService(service, region, context))
            }
        }
        return blocks
    }

    static func ingress(_ ingress: Ingress) -> String {
        switch ingress {
        case .all: return "INGRESS_TRAFFIC_ALL"
        case .internal: return "INGRESS_TRAFFIC_INTERNAL_ONLY"
        case .internalAndLoadBalancer: return "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
        }
    }

    private static func cloudRunService(_ service: RealtimeService, _ region: String, _ context: TerraformContext)
        -> Block
    {
        // The service starts only once it may read its secrets and the Terraform-written ones have a value. Cloud
        // Run checks at deployment that the service account may read every secret the service uses, the mounted
        // relay endpoints too; for that one an ordering only: a new version of the document (a region added)
        // changes nothing in the service.
        let secrets = context.secrets
        func readsSecret(_ id: String) -> [Expression] {
            guard let secret = secrets[id] else { return [] }
            let access = TF.address("google_secret_manager_secret_iam_member", secret.label)
            return secret.valueFromTerraform
                ? [access, TF.address("google_secret_manager_secret_version", secret.label)] : [access]
        }
        var dependencies = [context.api("run")]
        for variable in context.topology.environment(for: service, in: region) {
            if case .secret(let id, _) = variable.value { dependencies += readsSecret(id) }
        }
        if let relay = context.topology.relayEndpoints { dependencies += readsSecret(relay.secretID) }
        let export = context.topology.metricsExport(service)
        if let export {
            // The sidecar writes from its first scrape: the role first, or its first writes are refused.
            dependencies +=
                readsSecret(export.secretID) + [
                    TF.address("google_project_iam_member", TF.label("runtime", "monitoring.metricWriter"))
                ]
        }
        return TF.resource("google_cloud_run_v2_service", label(service, region)) {
            Attribute("name", .string(context.names.cloudRunService(service)))
            Attribute("location", .string(region))
            Attribute("ingress", .string(ingress(service.ingress)))
            // Stateless: a removed region or service must be deletable by a plain apply.
            Attribute("deletion_protection", false)
            // Public without an `allUsers` binding (`Topology.isPublic`).
            Attribute("invoker_iam_disabled", .bool(context.topology.isPublic(service)))
            Block("template") {
                Attribute("service_account", TF.ref("google_service_account", IAM.runtime, "email"))
                Attribute("timeout", .string("\(service.timeoutSeconds)s"))
                Attribute("session_affinity", .bool(service.sessionAffinity))
                Attribute("max_instance_request_concurrency", .int(service.concurrency))
                Attribute(
                    "execution_environment",
                    .string("EXECUTION_ENVIRONMENT_\(service.executionEnvironment.rawValue.uppercased())"))
                Block("scaling") {
                    Attribute("min_instance_count", .int(service.minInstances))
                    Attribute("max_instance_count", .int(service.maxInstances))
                }
                Block("vpc_access") {
                    Attribute("egress", "PRIVATE_RANGES_ONLY")
                    Block("network_interfaces") {
                        Attribute("network", TF.ref("google_compute_network", NetworkBlocks.vpc, "id"))
                        Attribute("subnetwork", NetworkBlocks.subnetID(region))
                    }
                }
                container(service, region, context)
                if let export { collector(export, service) }
                if context.topology.relayEndpoints != nil { relayVolume() }
                if let export { scrapeConfigVolume(export, service, context) }
            }
            TF.dependsOn(dependencies)
        }
    }

    private static func container(_ service: RealtimeService, _ region: String, _ context: TerraformContext) -> Block {
        Block("containers") {
            Attribute("name", .string(ServerMetricsExport.appContainer))
            Attribute("image", TF.variable(Providers.imageVariable(service)))
            Block("ports") {
                Attribute("name", "http1")
                Attribute("container_port", .int(service.port))
            }
            Block("resources") {
                Attribute(
                    "limits",
                    .object([
                        ObjectItem("cpu", .string(service.cpu.description)),
                        ObjectItem("memory", .string(service.memory.description)),
                    ]))
                // Must be explicit once `resources` is set: false keeps CPU allocated between requests.
                Attribute("cpu_idle", .bool(!service.cpuAlwaysAllocated))
                Attribute("startup_cpu_boost", .bool(service.startupCPUBoost))
            }
            environment(service, region, context)
            if context.topology.relayEndpoints != nil {
                Block("volume_mounts") {
                    Attribute("name", .string(RelayEndpoints.volumeName))
                    Attribute("mount_path", .string(RelayEndpoints.mountDirectory))
                }
            }
            probe("startup_probe", service.probes.startup, port: service.port)
            probe("liveness_probe", service.probes.liveness, port: service.port)
        }
    }

    /// The service's runtime environment (the same list every renderer emits), secrets by resource reference.
    private static func environment(_ service: RealtimeService, _ region: String, _ context: TerraformContext)
        -> [Block]
    {
        let secrets = context.secrets
        return context.topology.environment(for: service, in: region).map { variable in
            switch variable.value {
            case .plain(let value):
                return plain(variable.name, .string(value))
            case .secret(let id, let version):
                let secret =
                    secrets[id].map { TF.ref("google_secret_manager_secret", $0.label, "secret_id") } ?? .string(id)
                return fromSecret(variable.name, secret, version: pinnedVersion(id, version, context))
            }
        }
    }

    /// The Prometheus sidecar (`ServerMetricsExport`): started after the server, its configuration mounted where it
    /// reads it, with resources of its own (Cloud Run sizes an instance by the sum of its containers' limits).
    private static func collector(_ export: ServerMetricsExport, _ service: RealtimeService) -> Block {
        Block("containers") {
            Attribute("name", .string(ServerMetricsExport.collectorContainer))
            Attribute("image", .string(ServerMetricsExport.image))
            Attribute("depends_on", TF.strings([ServerMetricsExport.appContainer]))
            Block("resources") {
                Attribute(
                    "limits",
                    .object([
                        ObjectItem("cpu", .string(ServerMetricsExport.cpu)),
                        ObjectItem("memory", .string(ServerMetricsExport.memory)),
                    ]))
                Attribute("cpu_idle", .bool(!service.cpuAlwaysAllocated))
            }
            Block("volume_mounts") {
                Attribute("name", .string(ServerMetricsExport.volumeName))
                Attribute("mount_path", .string(ServerMetricsExport.mountDirectory))
            }
            // Its handler waits 5 s before it answers.
            Block("liveness_probe") {
                Attribute("period_seconds", 30)
                Attribute("timeout_seconds", 10)
                Attribute("failure_threshold", 3)
                Block("http_get") {
                    Attribute("path", .string(ServerMetricsExport.livenessPath))
                    Attribute("port", .int(ServerMetricsExport.livenessPort))
                }
            }
        }
    }

    /// The sidecar's `RunMonitoring` document, at the version Terraform wrote: a new interval is a new revision.
    private static func scrapeConfigVolume(
        _ export: ServerMetricsExport, _ service: RealtimeService, _ context: TerraformContext
    ) -> Block {
        let label = MonitoringBlocks.scrapeConfigLabel(service)
        return Block("volumes") {
            Attribute("name", .string(ServerMetricsExport.volumeName))
            Block("secret") {
                Attribute("secret", TF.ref("google_secret_manager_secret", label, "secret_id"))
                Block("items") {
                    Attribute("path", .string(ServerMetricsExport.fileName))
                    Attribute("version", TF.ref("google_secret_manager_secret_version", label, "version"))
                }
            }
        }
    }

    /// The relay endpoints document as a file, at `latest` on purpose: Cloud Run reads a mounted secret when the
    /// file is read, so running instances see a new region without a new revision (`RelayEndpoints`).
    private static func relayVolume() -> Block {
        Block("volumes") {
            Attribute("name", .string(RelayEndpoints.volumeName))
            Block("secret") {
                Attribute(
                    "secret", TF.ref("google_secret_manager_secret", MemorystoreBlocks.relayLabel, "secret_id"))
                Block("items") {
                    Attribute("path", .string(RelayEndpoints.fileName))
                    Attribute("version", .string(RelayEndpoints.version))
                }
            }
        }
    }

    static func plain(_ name: String, _ value: Expression) -> Block {
        Block("env") {
            Attribute("name", .string(name))
            Attribute("value", value)
        }
    }

    /// A concrete secret version, never `latest`: Cloud Run reads a secret variable once, when an instance starts,
    /// so `latest` would hide a rotation from `plan` and leave a fleet with mixed values. A value Terraform writes
    /// (a Memorystore endpoint) is its `google_secret_manager_secret_version`'s number; a user secret the
    /// environment file reads at `latest` is a variable that `tfctl apply` sets to the newest enabled version
    /// (`TerraformRenderer.secretVersionVariable`); a number the file gives stays. A new value is then a new
    /// revision in the plan.
    static func pinnedVersion(_ id: String, _ version: String, _ context: TerraformContext) -> Expression {
        if let secret = context.secrets[id], secret.valueFromTerraform {
            return TF.ref("google_secret_manager_secret_version", secret.label, "version")
        }
        guard version == "latest" else { return .string(version) }
        return TF.variable(TerraformRenderer.secretVersionVariable(id))
    }

    static func fromSecret(_ name: String, _ secret: Expression, version: Expression) -> Block {
        Block("env") {
            Attribute("name", .string(name))
            Block("value_source") {
                Block("secret_key_ref") {
                    Attribute("secret", secret)
                    Attribute("version", version)
                }
            }
        }
    }

    private static func probe(_ kind: String, _ probe: Probe, port: Int) -> Block {
        Block(kind) {
            Attribute("initial_delay_seconds", .int(probe.initialDelaySeconds))
            Attribute("period_seconds", .int(probe.periodSeconds))
            Attribute("timeout_seconds", .int(probe.timeoutSeconds))
            Attribute("failure_threshold", .int(probe.failureThreshold))
            Block("http_get") {
                Attribute("path", .string(probe.path))
                Attribute("port", .int(port))
            }
        }
    }
}
