import Shell
import TopologyModel

/// `deploy.sh`: brings the topology up step by step. Every step checks what exists and creates or updates it,
/// so a second run changes nothing and an interrupted run can simply be started again.
struct DeployScript {
    let topology: Topology
    var names: ResourceNames { topology.names }

    func script(header: String) -> Script {
        var body = Preamble.settings(topology, readsFiles: true)
        body += Preamble.arguments(
            usage: [
                "usage: deploy.sh [--dry-run] [--skip-secret-check]",
                "Brings the '\(topology.name)' topology up with gcloud; safe to run again.",
                "  --dry-run  print the commands instead of running them (every resource counts as absent)",
                "  --skip-secret-check  go on to Cloud Run even when a secret has no enabled version",
                "Project \(topology.project), regions \(topology.regions.joined(separator: " ")) (from the environment file).",
            ]
                + (topology.usesBundledImage
                    ? [
                        "IMAGE=REPOSITORY@sha256:...  deploy that build of the bundled server (default: :latest's digest)"
                    ]
                    : []),
            flags: [("--dry-run", "DRY_RUN"), ("--skip-secret-check", "SKIP_SECRET_CHECK")])
        body.append(.blank)
        body += Preamble.helpers
        if topology.memorystore != nil || topology.firebaseEnabled
            || topology.services.contains(where: { topology.metricsExport($0) != nil })
        {
            body += [.blank, Self.currentSecretHelper]
        }
        if topology.memorystore != nil { body += [.blank, Self.jsonLinesHelper] }
        if !topology.services.isEmpty { body += [.blank] + CloudRunSteps.helpers() }
        for section in sections() where !section.isEmpty {
            body.append(.blank)
            body += section
        }
        body += [.blank, G.log(.concat(["Done: '\(topology.name)' is deployed in ", .variable("PROJECT"), "."]))]
        return Script(
            header: [
                header, "",
                "Brings the topology up with gcloud. Idempotent: every step checks whether its resource exists",
                "and creates or updates it, so running it twice is safe and a half-finished run can be resumed.",
            ],
            body: body)
    }

    private func sections() -> [[Statement]] {
        [
            apis(), identity(), network(), secrets(), secretGate(), memorystore(),
            FirebaseAPIKeySteps(topology: topology).statements(), CloudRunSteps(topology: topology).statements(),
            LoadBalancerSteps(topology: topology).statements(),
            MonitoringSteps(topology: topology).statements(), FirebaseSteps(topology: topology).statements(),
        ]
    }

    private func apis() -> [Statement] {
        return [
            G.log("APIs"),
            G.run(
                [.literal("services"), .literal("enable")]
                    + topology.requiredAPIs.map { .literal("\($0).googleapis.com") }),
        ]
    }

    private func identity() -> [Statement] {
        var statements = G.ensure(
            "Service account \(names.serviceAccountID)",
            probe: ["iam", "service-accounts", "describe", G.serviceAccountEmail(names)],
            create: [
                G.run(
                    "iam", "service-accounts", "create", .literal(names.serviceAccountID), "--display-name",
                    .literal("\(topology.name) real-time services"))
            ])
        for role in topology.runtimeRoles {
            statements.append(
                G.run(
                    "projects", "add-iam-policy-binding", G.project, "--member", G.serviceAccountMember(names),
                    "--role",
                    .literal(role), "--condition", "None"))
        }
        for (role, _) in topology.runtimeSelfRoles {
            statements.append(
                G.run(
                    "iam", "service-accounts", "add-iam-policy-binding", G.serviceAccountEmail(names), "--member",
                    G.serviceAccountMember(names), "--role", .literal(role), "--condition", "None"))
        }
        return statements
    }

    private func network() -> [Statement] {
        var statements = G.ensure(
            "VPC \(names.network)", probe: ["compute", "networks", "describe", .literal(names.network)],
            create: [
                G.run(
                    "compute", "networks", "create", .literal(names.network), "--subnet-mode", "custom",
                    "--bgp-routing-mode", "global")
            ])
        // Nothing takes connections from inside the VPC: said explicitly, logged, above the implied rules.
        statements += G.ensure(
            "Firewall \(names.denyIngressFirewall)",
            probe: ["compute", "firewall-rules", "describe", .literal(names.denyIngressFirewall)],
            create: [
                G.run(
                    "compute", "firewall-rules", "create", .literal(names.denyIngressFirewall), "--network",
                    .literal(names.network), "--direction", "INGRESS", "--action", "DENY", "--rules", "all",
                    "--source-ranges", "0.0.0.0/0", "--priority", .literal(String(NetworkFacts.denyIngressPriority)),
                    "--enable-logging", "--logging-metadata", "include-all")
            ])
        // VPC flow logs on every subnet, on creation and on every run (`Network.flowLogSampling`).
        let sampling = topology.network.flowLogSampling
        let flowLogs: [Word] =
            sampling > 0
            ? [
                "--enable-flow-logs", "--logging-flow-sampling", .literal(formatted(sampling)),
                "--logging-aggregation-interval", "interval-5-sec", "--logging-metadata", "include-all",
            ] : ["--no-enable-flow-logs"]
        for (region, range) in topology.network.subnetPlan(regions: topology.regions) {
            guard let range else { continue }
            let subnet = names.subnet(region)
            let identity: [Word] = [.literal(subnet), "--region", .literal(region)]
            statements += G.ensure(
                "Subnet \(subnet) \(range)",
                probe: ["compute", "networks", "subnets", "describe"] + identity,
                create: [
                    G.run(
                        ["compute", "networks", "subnets", "create"] + identity + [
                            "--network", .literal(names.network), "--range", .literal(range.description),
                            "--enable-private-ip-google-access",
                        ] + flowLogs)
                ],
                update: [G.run(["compute", "networks", "subnets", "update"] + identity + flowLogs)])
        }
        guard topology.memorystore != nil, let psa = topology.network.serviceAccessRangeResolved else {
            return statements
        }
        let address = String(psa.description.split(separator: "/")[0])
        statements += G.ensure(
            "Private service access range \(names.serviceAccessRange) \(psa)",
            probe: ["compute", "addresses", "describe", .literal(names.serviceAccessRange), "--global"],
            create: [
                G.run(
                    "compute", "addresses", "create", .literal(names.serviceAccessRange), "--global", "--purpose",
                    "VPC_PEERING", "--addresses", .literal(address), "--prefix-length", .literal(String(psa.prefix)),
                    "--network", .literal(names.network))
            ])
        let peerings = G.gcloud(
            "services", "vpc-peerings", "list", "--network", .literal(names.network), "--service",
            "servicenetworking.googleapis.com", "--format", "value(peering)")
        statements += [
            G.log("Private service access peering"),
            .if(
                Command.test(.syntax(.isEmpty), .substitution(peerings)),
                then: [
                    G.run(
                        "services", "vpc-peerings", "connect", "--service", "servicenetworking.googleapis.com",
                        "--ranges",
                        .literal(names.serviceAccessRange), "--network", .literal(names.network))
                ], else: [G.log("  exists, unchanged")]),
        ]
        return statements
    }

    /// The user's secrets: created empty if absent, never overwritten; readable by the runtime account. One
    /// without an enabled version is noted in `missing_secrets`, for `secretGate`.
    private func secrets() -> [Statement] {
        let ids = topology.userSecretIDs
        guard !ids.isEmpty else { return [] }
        return [.assign("missing_secrets", .literal(""))]
            + ids.flatMap { id in
                Self.secret(id, names: names) + [
                    .if(
                        Command.test(
                            .syntax(.isEmpty),
                            .substitution(G.gcloud(GcloudCalls.newestEnabledSecretVersion(id).map(Word.literal)))),
                        then: [
                            G.log(
                                .concat([
                                    .literal(
                                        "  secret \(id) has no enabled version; add one with: gcloud secrets versions "
                                            + "add \(id) --data-file=FILE --project "),
                                    .variable("PROJECT"),
                                ])),
                            .assign("missing_secrets", .concat([.variable("missing_secrets"), .literal(" \(id)")])),
                        ])
                ]
            }
    }

    /// Stops before Memorystore (minutes to create) and any Cloud Run step while a secret the services read has
    /// no enabled version: Cloud Run
    /// resolves secret environment variables before an instance starts, and the instance does not start when
    /// that fails ("Configure secrets": a revision that references a secret it cannot read never becomes
    /// ready). Under `--dry-run` it only says so; `--skip-secret-check` goes on regardless (the value is on its
    /// way, or the check cannot see it).
    private func secretGate() -> [Statement] {
        guard !topology.userSecretIDs.isEmpty else { return [] }
        return [
            .if(
                Command.test(.syntax(.isNotEmpty), .variable("missing_secrets")),
                then: [
                    G.log(
                        .concat([
                            "Stopping before Memorystore and Cloud Run: no enabled version in",
                            .variable("missing_secrets"),
                            " (the commands to add one are above). Cloud Run cannot start a service that reads them.",
                        ])),
                    .if(
                        Command.test(.variable("SKIP_SECRET_CHECK"), .syntax(.equal), "1"),
                        then: [G.log("  going on (--skip-secret-check): those services will not start yet")],
                        else: [
                            .if(
                                G.isDryRun, then: [G.log("  (dry run: not stopping)")],
                                else: [.command(Command("exit", "1"))])
                        ]),
                ])
        ]
    }

    /// Creates a secret if absent and lets the runtime service account read it.
    static func secret(_ id: String, names: ResourceNames) -> [Statement] {
        G.ensure(
            "Secret \(id)", probe: ["secrets", "describe", .literal(id)],
            create: [G.run("secrets", "create", .literal(id), "--replication-policy", "automatic")])
            + [
                G.run(
                    "secrets", "add-iam-policy-binding", .literal(id), "--member", G.serviceAccountMember(names),
                    "--role",
                    "roles/secretmanager.secretAccessor")
            ]
    }
}
