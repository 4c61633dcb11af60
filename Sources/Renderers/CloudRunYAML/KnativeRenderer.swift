import JSON
import TopologyModel

/// Renders a Knative `serving.knative.dev/v1` Service per service and region, for `gcloud run services replace`:
/// the same values as the Terraform, in the annotations Cloud Run reads.
public struct KnativeRenderer: Sendable {
    public init() {}

    public func render(_ topology: Topology, source: String) -> [RenderedFile] {
        topology.sortedServices.flatMap { service in
            topology.regions.map { region in
                RenderedFile(
                    path: "cloudrun/\(service.name)-\(region).yaml",
                    contents: document(service, region, topology).document(header: [
                        generatedHeader(source: source),
                        "Apply with: gcloud run services replace \(service.name)-\(region).yaml --region \(region)",
                        // Nothing resolves versions or digests for this file: it says so where a reader looks.
                        "Secrets read at 'latest' and the bundled image's tag are left unresolved here; tfctl apply and",
                        "deploy.sh pin both (a secret version, an image digest), so a rotation is a reviewed revision.",
                    ]))
            }
        }
    }

    func document(_ service: RealtimeService, _ region: String, _ topology: Topology) -> YAMLValue {
        let names = topology.names
        let labels = topology.sortedLabels.map { YAMLEntry(key: $0.key, value: .string($0.value)) }
        return .map(
            ("apiVersion", .string("serving.knative.dev/v1")),
            ("kind", .string("Service")),
            (
                "metadata",
                .map(
                    ("name", .string(names.cloudRunService(service))),
                    (
                        "labels",
                        .mapping([YAMLEntry(key: "cloud.googleapis.com/location", value: .string(region))] + labels)
                    ),
                    ("annotations", .mapping(serviceAnnotations(service, topology)))
                )
            ),
            (
                "spec",
                .map(
                    (
                        "template",
                        .map(
                            (
                                "metadata",
                                .map(("annotations", .mapping(revisionAnnotations(service, region, topology))))
                            ),
                            ("spec", revisionSpec(service, region, topology))
                        )
                    )
                )
            )
        )
    }

    /// Service settings: ingress, and the invoker IAM check off for a public service (`Topology.isPublic`).
    func serviceAnnotations(_ service: RealtimeService, _ topology: Topology) -> [YAMLEntry] {
        var entries = [YAMLEntry(key: "run.googleapis.com/ingress", value: .string(service.ingress.rawValue))]
        if topology.isPublic(service) {
            entries.append(YAMLEntry(key: "run.googleapis.com/invoker-iam-disabled", value: .string("true")))
        }
        return entries
    }

    /// Revision settings Cloud Run reads from annotations, sorted by key.
    func revisionAnnotations(_ service: RealtimeService, _ region: String, _ topology: Topology) -> [YAMLEntry] {
        let names = topology.names
        // Compact JSON: Cloud Run takes the network interfaces as a JSON string.
        let interfaces = JSONValue.array([
            .sortedObject(["network": .string(names.network), "subnetwork": .string(names.subnet(region))])
        ]).serialized()
        var annotations: [(String, String)] = [
            ("autoscaling.knative.dev/maxScale", String(service.maxInstances)),
            ("autoscaling.knative.dev/minScale", String(service.minInstances)),
            ("run.googleapis.com/cpu-throttling", String(!service.cpuAlwaysAllocated)),
            ("run.googleapis.com/execution-environment", service.executionEnvironment.rawValue),
            ("run.googleapis.com/network-interfaces", interfaces),
            ("run.googleapis.com/sessionAffinity", String(service.sessionAffinity)),
            ("run.googleapis.com/startup-cpu-boost", String(service.startupCPUBoost)),
            ("run.googleapis.com/vpc-access-egress", "private-ranges-only"),
        ]
        if topology.metricsExport(service) != nil {
            // The sidecar starts once the server has.
            let dependencies = JSONValue.object([
                (ServerMetricsExport.collectorContainer, .array([.string(ServerMetricsExport.appContainer)]))
            ]).serialized()
            annotations.append(("run.googleapis.com/container-dependencies", dependencies))
        }
        return annotations.sorted { $0.0 < $1.0 }.map { YAMLEntry(key: $0.0, value: .string($0.1)) }
    }

    private func revisionSpec(_ service: RealtimeService, _ region: String, _ topology: Topology) -> YAMLValue {
        let env: [YAMLValue] = topology.environment(for: service, in: region).map { variable in
            switch variable.value {
            case .plain(let value):
                return .map(("name", .string(variable.name)), ("value", .string(value)))
            case .secret(let id, let version):
                return .map(
                    ("name", .string(variable.name)),
                    ("valueFrom", .map(("secretKeyRef", .map(("key", .string(version)), ("name", .string(id)))))))
            }
        }
        var container = YAMLValue.map(
            ("name", .string(ServerMetricsExport.appContainer)),
            ("image", .string(topology.names.image(service))),
            ("ports", .sequence([.map(("name", .string("http1")), ("containerPort", .int(service.port)))])),
            (
                "resources",
                .map(
                    (
                        "limits",
                        .map(("cpu", .string(service.cpu.description)), ("memory", .string(service.memory.description)))
                    ))
            ),
            ("env", .sequence(env)),
            ("startupProbe", probe(service.probes.startup, port: service.port)),
            ("livenessProbe", probe(service.probes.liveness, port: service.port))
        )
        var spec = YAMLValue.map(
            ("containerConcurrency", .int(service.concurrency)),
            ("timeoutSeconds", .int(service.timeoutSeconds)),
            ("serviceAccountName", .string(topology.names.serviceAccountEmail))
        )
        // The revision's secret volumes: the relay endpoints document, the Prometheus sidecar's configuration.
        var volumes: [YAMLValue] = []
        if let relay = topology.relayEndpoints {
            // The relay endpoints document as a file at `latest`, read again while instances run (`RelayEndpoints`).
            container = container.appending(
                "volumeMounts",
                .sequence([
                    .map(
                        ("mountPath", .string(RelayEndpoints.mountDirectory)),
                        ("name", .string(RelayEndpoints.volumeName)))
                ]))
            let items = YAMLValue.sequence([
                .map(("key", .string(RelayEndpoints.version)), ("path", .string(RelayEndpoints.fileName)))
            ])
            volumes.append(
                .map(
                    ("name", .string(RelayEndpoints.volumeName)),
                    ("secret", .map(("items", items), ("secretName", .string(relay.secretID))))))
        }
        var containers = [container]
        if let export = topology.metricsExport(service) {
            // The Prometheus sidecar (`ServerMetricsExport`), its configuration mounted from its secret.
            containers.append(
                .map(
                    ("name", .string(ServerMetricsExport.collectorContainer)),
                    ("image", .string(ServerMetricsExport.image)),
                    (
                        "resources",
                        .map(
                            (
                                "limits",
                                .map(
                                    ("cpu", .string(ServerMetricsExport.cpu)),
                                    ("memory", .string(ServerMetricsExport.memory)))
                            ))
                    ),
                    (
                        "volumeMounts",
                        .sequence([
                            .map(
                                ("mountPath", .string(ServerMetricsExport.mountDirectory)),
                                ("name", .string(ServerMetricsExport.volumeName)))
                        ])
                    ),
                    (
                        "livenessProbe",
                        .map(
                            (
                                "httpGet",
                                .map(
                                    ("path", .string(ServerMetricsExport.livenessPath)),
                                    ("port", .int(ServerMetricsExport.livenessPort)))
                            ),
                            ("periodSeconds", .int(30)), ("timeoutSeconds", .int(10)), ("failureThreshold", .int(3)))
                    )
                ))
            let items = YAMLValue.sequence([
                .map(("key", .string("latest")), ("path", .string(ServerMetricsExport.fileName)))
            ])
            volumes.append(
                .map(
                    ("name", .string(ServerMetricsExport.volumeName)),
                    ("secret", .map(("items", items), ("secretName", .string(export.secretID))))))
        }
        if !volumes.isEmpty { spec = spec.appending("volumes", .sequence(volumes)) }
        return spec.appending("containers", .sequence(containers))
    }

    private func probe(_ probe: Probe, port: Int) -> YAMLValue {
        .map(
            ("httpGet", .map(("path", .string(probe.path)), ("port", .int(port)))),
            ("initialDelaySeconds", .int(probe.initialDelaySeconds)),
            ("periodSeconds", .int(probe.periodSeconds)),
            ("timeoutSeconds", .int(probe.timeoutSeconds)),
            ("failureThreshold", .int(probe.failureThreshold))
        )
    }
}
