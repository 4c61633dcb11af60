import Shell
import TopologyModel

/// `gcloud run deploy` per service and region, with every setting the Terraform has, by image digest and pinned
/// secret versions, and only when something changed.
///
/// Every `gcloud run deploy` creates a revision, and a new revision is a rollout: instances of the old one are
/// drained, their WebSockets closed. So the step deploys only when what it would deploy differs from what the
/// service last got from tfctl: the fingerprint of the whole deployment (the flags, the image digest, the secret
/// versions and the environment file) is kept as the service label `tfctl-fingerprint`, and a run with the same
/// fingerprint, whose last revision is also the one serving, leaves the service alone. A change made outside tfctl
/// (the console, another script) is not seen: it is overwritten by the next change from here, not undone at once.
struct CloudRunSteps {
    let topology: Topology
    var names: ResourceNames { topology.names }

    /// The label that holds the fingerprint of the last deployment.
    static let fingerprintLabel = "tfctl-fingerprint"

    func statements() -> [Statement] {
        resolution()
            + topology.sortedServices.flatMap { service in
                topology.regions.flatMap { region in deployment(service, region) }
            }
    }

    /// The helpers the steps call, defined before the first step.
    static func helpers() -> [Statement] {
        let describe: (String) -> Command = { field in
            G.gcloud(
                "run", "services", "describe", .variable("1"), "--region", .variable("2"), "--format",
                .literal("value(\(field))"))
        }
        return [
            .comment("The newest enabled version of secret $1, by number (\"latest\" when there is none, or under"),
            .comment(
                "--dry-run). Cloud Run reads a secret variable once, when an instance starts: the services pin the"),
            .comment("version found here, so a new value is a new revision that replaces every instance, not a fleet"),
            .comment("of mixed values, and a second run with no new version changes nothing."),
            .function(
                "secret_version",
                [
                    .if(G.isDryRun, then: [.command(Command("echo", "latest")), .command(Command("return", "0"))]),
                    // Declared apart from its value, so that a failing gcloud stops the script (SC2155).
                    .assign("version", nil, local: true),
                    .assign(
                        "version",
                        .substitution(
                            G.gcloud(GcloudCalls.newestEnabledSecretVersion(Word.variable("1"), word: Word.literal)))),
                    .command(Command("echo", .defaulted("version", "latest"))),
                ]),
            .blank,
            .comment("The fingerprint of $1: 32 hex digits of its SHA-256."),
            .function(
                "fingerprint",
                [
                    .if(
                        Command("command", "-v", "sha256sum").redirecting(.discardOutput, .errorsToOutput),
                        then: [
                            .command(
                                Command("printf", "%s", .variable("1")).piped(into: Command("sha256sum")).piped(
                                    into: Command("cut", "-c1-32")))
                        ],
                        else: [
                            .command(
                                Command("printf", "%s", .variable("1")).piped(into: Command("shasum", "-a", "256"))
                                    .piped(into: Command("cut", "-c1-32")))
                        ])
                ]),
            .blank,
            .comment(
                "The fingerprint Cloud Run service $1 in region $2 was last deployed with, if its newest revision"),
            .comment("is also the one serving (a deployment whose revision never became ready is tried again);"),
            .comment("nothing when it does not exist, or under --dry-run."),
            .function(
                "deployed_fingerprint",
                [
                    .if(G.isDryRun, then: [.command(Command("return", "0"))]),
                    .if(
                        describe("status.latestCreatedRevisionName").redirecting(.discardOutput, .errorsToOutput),
                        negated: true, then: [.command(Command("return", "0"))]),
                    .if(
                        Command.test(
                            .substitution(describe("status.latestCreatedRevisionName")), .syntax(.equal),
                            .substitution(describe("status.latestReadyRevisionName"))),
                        then: [
                            .command(describe("metadata.labels.\(fingerprintLabel)"))
                        ]),
                ]),
        ]
    }

    /// The image digests and secret versions every deployment below uses, resolved once so that all regions
    /// get the same.
    private func resolution() -> [Statement] {
        var statements: [Statement] = []
        if topology.usesBundledImage {
            let tagged = names.imageRepository + ":latest"
            statements += [
                G.log("Image of the bundled server, by digest"),
                .if(
                    Command.test(.syntax(.isNotEmpty), .defaulted("IMAGE", "")),
                    then: [.assign(Self.bundledImage, .variable("IMAGE"))],
                    else: [
                        .if(
                            G.isDryRun, then: [.assign(Self.bundledImage, .literal(tagged))],
                            else: [
                                .assign(
                                    Self.bundledImage,
                                    .concat([
                                        .literal(names.imageRepository + "@"),
                                        .substitution(
                                            G.gcloud(
                                                "artifacts", "docker", "images", "describe", .literal(tagged),
                                                "--format", "value(image_summary.digest)")),
                                    ]))
                            ])
                    ]),
                G.log(.concat(["  ", .variable(Self.bundledImage)])),
            ]
        }
        for service in topology.sortedServices {
            guard let export = topology.metricsExport(service) else { continue }
            let value = "scrape_config_" + Self.shellName(service.name)
            statements += [G.log("Prometheus sidecar configuration of \(service.name)")]
            statements += DeployScript.secret(export.secretID, names: names)
            statements += [
                .if(
                    G.isDryRun, then: [G.log("  would store the scrape configuration in \(export.secretID)")],
                    else: [.assign(value, .literal(export.document.document(header: [])))]
                        + DeployScript.storeIfChanged(secret: export.secretID, value: value)),
                // Pinned: the sidecar reads it when it starts, and a new interval is a new revision.
                .assign(
                    Self.versionVariable(export.secretID),
                    .substitution(Command("secret_version", .literal(export.secretID)))),
            ]
        }
        let secrets = Set(
            topology.sortedServices.flatMap { service in
                topology.regions.flatMap { region in
                    topology.environment(for: service, in: region).compactMap { variable -> String? in
                        guard case .secret(let id, "latest") = variable.value else { return nil }
                        return id
                    }
                }
            }
        ).sorted()
        if !secrets.isEmpty { statements.append(G.log("Secret versions to pin")) }
        for id in secrets {
            statements += [
                .assign(Self.versionVariable(id), .substitution(Command("secret_version", .literal(id)))),
                G.log(.concat([.literal("  \(id): "), .variable(Self.versionVariable(id))])),
            ]
        }
        return statements
    }

    /// Deploys `service` in `region` unless its fingerprint is the one already deployed.
    private func deployment(_ service: RealtimeService, _ region: String) -> [Statement] {
        // What is deployed: every flag (with the digest and versions resolved above), and the environment file's
        // content, which the flags only name (by a path relative to the script: where the checkout is changes
        // nothing that is deployed).
        let environment = DeployScript.environmentFile(service, region, topology).document(header: [])
        let labels = topology.sortedLabels.map { "\($0.key)=\($0.value)" }
        var spec: [WordPart] = [.literal("env=\(stableHash(environment)) labels=\(labels.joined(separator: ","))")]
        for word in deployArguments(service, region, environmentFile: .literal(Self.environmentFile(service, region))) {
            spec += [" "] + Self.parts(word)
        }
        let fingerprint = "fingerprint_" + Self.shellName("\(service.name)_\(region)")
        return [
            G.log("Cloud Run service \(service.name) (\(region))"),
            .assign(fingerprint, .substitution(Command("fingerprint", .concat(spec)))),
            .if(
                Command.test(
                    .substitution(
                        Command("deployed_fingerprint", .literal(names.cloudRunService(service)), .literal(region))),
                    .syntax(.equal), .variable(fingerprint)),
                then: [G.log("  unchanged (same image, secret versions and settings): no new revision")],
                else: [
                    G.run(
                        serviceArguments(service, region) + [
                            "--labels",
                            .concat(
                                labels.map { .literal($0 + ",") }
                                    + [.literal("\(Self.fingerprintLabel)="), .variable(fingerprint)]),
                        ], trailing: containerArguments(service, region))
                ]),
        ]
    }

    static func environmentFile(_ service: RealtimeService, _ region: String) -> String {
        "env/\(service.name)-\(region).yaml"
    }

    /// Every flag of a deployment: the service's, then its containers'.
    func deployArguments(_ service: RealtimeService, _ region: String, environmentFile: Word? = nil) -> [Word] {
        serviceArguments(service, region) + containerArguments(service, region, environmentFile: environmentFile)
    }

    func serviceArguments(_ service: RealtimeService, _ region: String) -> [Word] {
        var words: [Word] = [
            "run", "deploy", .literal(names.cloudRunService(service)), "--region", .literal(region),
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
        ]
        // Public without an `allUsers` binding (`Topology.isPublic`): the invoker check is off, or on.
        words.append(topology.isPublic(service) ? "--no-invoker-iam-check" : "--invoker-iam-check")
        return words
    }

    /// The containers' flags. With the Prometheus sidecar, the flags after `--container NAME` are that container's
    /// and nothing of the service's may follow them (`--labels`, `--project`: gcloud refuses them there).
    func containerArguments(_ service: RealtimeService, _ region: String, environmentFile: Word? = nil) -> [Word] {
        let export = topology.metricsExport(service)
        var words: [Word] = []
        if export != nil { words += ["--container", .literal(ServerMetricsExport.appContainer)] }
        words += [
            "--image", service.image == .bundled ? .variable(Self.bundledImage) : .literal(names.image(service)),
            "--port", .literal(String(service.port)),
            "--cpu", .literal(service.cpu.description), "--memory", .literal(service.memory.description),
            "--env-vars-file", environmentFile ?? G.besideScript(Self.environmentFile(service, region)),
            "--startup-probe", .literal(Self.probe(service.probes.startup, port: service.port)),
            "--liveness-probe", .literal(Self.probe(service.probes.liveness, port: service.port)),
        ]
        var secrets: [WordPart] = []
        for variable in topology.environment(for: service, in: region) {
            guard case .secret(let id, let version) = variable.value else { continue }
            if !secrets.isEmpty { secrets.append(",") }
            secrets.append(.literal("\(variable.name)=\(id):"))
            // `latest` is pinned to the version this run resolved; a number the user chose stays.
            secrets.append(version == "latest" ? .variable(Self.versionVariable(id)) : .literal(version))
        }
        if let relay = topology.relayEndpoints {
            // A key starting with `/` mounts the secret as a file; at `latest` on purpose (`RelayEndpoints`).
            if !secrets.isEmpty { secrets.append(",") }
            secrets.append(.literal("\(RelayEndpoints.filePath)=\(relay.secretID):\(RelayEndpoints.version)"))
        }
        if !secrets.isEmpty { words += ["--set-secrets", .concat(secrets)] }
        if let export {
            // The sidecar (`ServerMetricsExport`): after the server, its configuration at the version stored above.
            words += [
                "--container", .literal(ServerMetricsExport.collectorContainer),
                "--image", .literal(ServerMetricsExport.image),
                "--cpu", .literal(ServerMetricsExport.cpu), "--memory", .literal(ServerMetricsExport.memory),
                "--depends-on", .literal(ServerMetricsExport.appContainer),
                // Its handler waits 5 s before it answers.
                "--liveness-probe",
                .literal(
                    "httpGet.path=\(ServerMetricsExport.livenessPath),httpGet.port=\(ServerMetricsExport.livenessPort),"
                        + "periodSeconds=30,timeoutSeconds=10,failureThreshold=3"),
                "--set-secrets",
                .concat([
                    .literal(
                        "\(ServerMetricsExport.mountDirectory)/\(ServerMetricsExport.fileName)=\(export.secretID):"),
                    .variable(Self.versionVariable(export.secretID)),
                ]),
            ]
        }
        return words
    }

    /// The bundled server's image by digest: `IMAGE` when given (what `tfctl apply` just built), else the digest
    /// `:latest` points to now, looked up once so that every region gets the same build.
    static let bundledImage = "bundled_image"

    static func versionVariable(_ secret: String) -> String { "version_" + shellName(secret) }

    /// A shell variable name from a resource name: anything but letters and digits becomes `_`.
    static func shellName(_ name: String) -> String {
        String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    /// A word as the parts of a larger double-quoted word.
    private static func parts(_ word: Word) -> [WordPart] {
        switch word {
        case .literal(let text): [.literal(text)]
        case .variable(let name): [.variable(name)]
        case .concat(let parts): parts
        case .substitution(let command): [.substitution(command)]
        case .defaulted(let name, _): [.variable(name)]
        case .allArguments, .syntax: []
        }
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
