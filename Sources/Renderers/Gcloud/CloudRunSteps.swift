import Shell
import TopologyModel

/// `gcloud run deploy` per service and region: create-or-update by nature, with every setting the Terraform has.
struct CloudRunSteps {
    let topology: Topology

    func statements() -> [Statement] {
        topology.sortedServices.flatMap { service in
            topology.regions.map { region in
                G.inRegion(
                    region,
                    [
                        G.log("Cloud Run service \(service.name) (\(region))"),
                        G.run(deployArguments(service, region)),
                    ])
            }
        }
    }

    func deployArguments(_ service: RealtimeService, _ region: String) -> [Word] {
        let names = topology.names
        var words: [Word] = [
            "run", "deploy", .literal(names.cloudRunService(service)), "--region", .literal(region),
            "--image", .literal(names.image(service)),
            "--port", .literal(String(service.port)),
            "--cpu", .literal(service.cpu.description), "--memory", .literal(service.memory.description),
            "--concurrency", .literal(String(service.concurrency)),
            "--min-instances", .literal(String(service.minInstances)),
            "--max-instances", .literal(String(service.maxInstances)),
            "--timeout", .literal("\(service.timeoutSeconds)s"),
            service.sessionAffinity ? "--session-affinity" : "--no-session-affinity",
            service.cpuAlwaysAllocated ? "--no-cpu-throttling" : "--cpu-throttling",
            service.startupCPUBoost ? "--cpu-boost" : "--no-cpu-boost",
            "--execution-environment", .literal(service.executionEnvironment.rawValue),
            "--network", .literal(names.network), "--subnet", .literal(names.subnet(region)),
            "--vpc-egress", "private-ranges-only",
            "--ingress", .literal(service.ingress.rawValue),
            "--service-account", G.serviceAccountEmail(names),
            "--env-vars-file", G.besideScript("env/\(service.name)-\(region).yaml"),
            "--startup-probe", .literal(Self.probe(service.probes.startup, port: service.port)),
            "--liveness-probe", .literal(Self.probe(service.probes.liveness, port: service.port)),
        ]
        let secrets = topology.environment(for: service, in: region).compactMap { variable -> String? in
            guard case .secret(let id, let version) = variable.value else { return nil }
            return "\(variable.name)=\(id):\(version)"
        }
        if !secrets.isEmpty { words += ["--set-secrets", .literal(secrets.joined(separator: ","))] }
        // Public without an `allUsers` binding (`Topology.isPublic`): the invoker check is off, or on.
        words.append(topology.isPublic(service) ? "--no-invoker-iam-check" : "--invoker-iam-check")
        return words
    }

    /// `httpGet.path=/readyz,httpGet.port=8080,...` for `--startup-probe` / `--liveness-probe`.
    static func probe(_ probe: Probe, port: Int) -> String {
        [
            "httpGet.path=\(probe.path)", "httpGet.port=\(port)", "initialDelaySeconds=\(probe.initialDelaySeconds)",
            "periodSeconds=\(probe.periodSeconds)", "timeoutSeconds=\(probe.timeoutSeconds)",
            "failureThreshold=\(probe.failureThreshold)",
        ].joined(separator: ",")
    }
}

extension DeployScript {
    /// The plain variables of a service in a region, for `--env-vars-file` (secrets go through `--set-secrets`).
    static func environmentFile(_ service: RealtimeService, _ region: String, _ topology: Topology) -> YAMLValue {
        .mapping(
            topology.environment(for: service, in: region).compactMap { variable in
                guard case .plain(let value) = variable.value else { return nil }
                return YAMLEntry(key: variable.name, value: .string(value))
            })
    }

    /// The URL map of the port-80 listener: every request redirected to HTTPS (`gcloud compute url-maps import`).
    static func redirectURLMap(_ topology: Topology) -> YAMLValue {
        .map(
            ("name", .string(topology.names.redirectURLMap)),
            (
                "defaultUrlRedirect",
                .map(
                    ("httpsRedirect", .bool(true)),
                    ("redirectResponseCode", .string(LoadBalancer.redirectResponseCode)),
                    ("stripQuery", .bool(false)))
            ))
    }
}
