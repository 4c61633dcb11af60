import HCL
import TopologyModel

/// A Cloud Run service per service and region, tuned for WebSockets: session affinity, long timeout,
/// CPU always allocated, Direct VPC egress to Memorystore, secrets as environment variables.
enum CloudRun {
    static func label(_ service: RealtimeService, _ region: String) -> String { TF.label(service.name, region) }

    static func blocks(_ context: TerraformContext) -> [Block] {
        var blocks: [Block] = []
        if context.usesBundledImage {
            blocks.append(
                TF.resource("google_artifact_registry_repository", "images") {
                    Attribute("location", .string(context.regions.first ?? "us-central1"))
                    Attribute("repository_id", .string(context.names.artifactRepository))
                    Attribute("format", "DOCKER")
                    Attribute("description", .string("Images of the \(context.topology.name) real-time services"))
                    TF.dependsOn([context.api("artifactregistry")])
                })
        }
        for service in context.services {
            for region in context.regions {
                blocks.append(cloudRunService(service, region, context))
                if context.topology.loadBalancer != nil || service.ingress == .all {
                    blocks.append(publicInvoker(service, region))
                }
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
        var dependencies = [context.api("run")]
        dependencies += service.sortedSecrets.map {
            TF.address("google_secret_manager_secret_iam_member", Security.userSecretLabel($0.secret.secret))
        }
        if let redis = context.topology.memorystore {
            if redis.auth {
                dependencies.append(
                    TF.address("google_secret_manager_secret_iam_member", TF.label("redis_auth", region)))
            }
            if redis.transitEncryption {
                dependencies.append(TF.address("google_secret_manager_secret_iam_member", TF.label("redis_ca", region)))
            }
        }
        return TF.resource("google_cloud_run_v2_service", label(service, region)) {
            Attribute("name", .string(context.names.cloudRunService(service)))
            Attribute("location", .string(region))
            Attribute("ingress", .string(ingress(service.ingress)))
            // Stateless: a removed region or service must be deletable by a plain apply.
            Attribute("deletion_protection", false)
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
            }
            TF.dependsOn(dependencies)
        }
    }

    private static func container(_ service: RealtimeService, _ region: String, _ context: TerraformContext) -> Block {
        Block("containers") {
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
            probe("startup_probe", service.probes.startup, port: service.port)
            probe("liveness_probe", service.probes.liveness, port: service.port)
        }
    }

    /// Plain, secret and topology-provided variables, sorted by name.
    private static func environment(_ service: RealtimeService, _ region: String, _ context: TerraformContext)
        -> [Block]
    {
        var variables: [(name: String, block: Block)] = service.sortedEnv.map { variable in
            (variable.name, plain(variable.name, .string(variable.value)))
        }
        for (name, reference) in service.sortedSecrets {
            let secret = TF.ref("google_secret_manager_secret", Security.userSecretLabel(reference.secret), "secret_id")
            variables.append((name, fromSecret(name, secret, version: reference.version)))
        }
        for (name, value) in RuntimeEnvironment.variables(for: service, in: region, context: context) {
            variables.append((name, value))
        }
        return variables.sorted { $0.name < $1.name }.map(\.block)
    }

    static func plain(_ name: String, _ value: Expression) -> Block {
        Block("env") {
            Attribute("name", .string(name))
            Attribute("value", value)
        }
    }

    static func fromSecret(_ name: String, _ secret: Expression, version: String) -> Block {
        Block("env") {
            Attribute("name", .string(name))
            Block("value_source") {
                Block("secret_key_ref") {
                    Attribute("secret", secret)
                    Attribute("version", .string(version))
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

    /// Socket.IO clients are not Google identities: the service is public to the load balancer's callers and
    /// relies on its ingress setting and Cloud Armor, with application auth (JWT) inside.
    private static func publicInvoker(_ service: RealtimeService, _ region: String) -> Block {
        let name = label(service, region)
        return TF.resource("google_cloud_run_v2_service_iam_member", TF.label(name, "invoker")) {
            Attribute("name", TF.ref("google_cloud_run_v2_service", name, "name"))
            Attribute("location", TF.ref("google_cloud_run_v2_service", name, "location"))
            Attribute("role", "roles/run.invoker")
            Attribute("member", "allUsers")
        }
    }
}

/// Environment variables tfctl gives every service so the reference server finds its Redis and fallback.
enum RuntimeEnvironment {
    static func variables(for service: RealtimeService, in region: String, context: TerraformContext) -> [(
        String, Block
    )] {
        var variables: [(String, Block)] = [
            ("TFCTL_REGION", CloudRun.plain("TFCTL_REGION", .string(region))),
            ("TFCTL_TOPOLOGY", CloudRun.plain("TFCTL_TOPOLOGY", .string(context.topology.name))),
        ]
        if let redis = context.topology.memorystore {
            let instance = MemorystoreBlocks.instance(region)
            variables.append(
                ("REDIS_HOST", CloudRun.plain("REDIS_HOST", TF.ref("google_redis_instance", instance, "host"))))
            variables.append(
                (
                    "REDIS_PORT",
                    CloudRun.plain("REDIS_PORT", .call("tostring", [TF.ref("google_redis_instance", instance, "port")]))
                ))
            variables.append(
                ("REDIS_TLS", CloudRun.plain("REDIS_TLS", .string(redis.transitEncryption ? "true" : "false"))))
            if redis.auth {
                let secret = TF.ref("google_secret_manager_secret", TF.label("redis_auth", region), "secret_id")
                variables.append(("REDIS_AUTH", CloudRun.fromSecret("REDIS_AUTH", secret, version: "latest")))
            }
            if redis.transitEncryption {
                let secret = TF.ref("google_secret_manager_secret", TF.label("redis_ca", region), "secret_id")
                variables.append(("REDIS_CA_CERT", CloudRun.fromSecret("REDIS_CA_CERT", secret, version: "latest")))
            }
        }
        if context.topology.firebaseEnabled {
            variables.append(
                (
                    "FIREBASE_DATABASE_URL",
                    CloudRun.plain(
                        "FIREBASE_DATABASE_URL",
                        TF.ref("google_firebase_database_instance", Firebase.database, "database_url"))
                ))
        }
        return variables
    }
}
