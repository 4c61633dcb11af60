import Shell
import TopologyModel

/// `destroy.sh`: the reverse of deploy.sh. Asks for confirmation unless `--yes`; keeps Memorystore, secrets,
/// the network they need and the image repository unless `--delete-data`. The Realtime Database is never
/// deleted here: its id cannot be reused.
struct DestroyScript {
    let topology: Topology
    var names: ResourceNames { topology.names }

    func script(header: String) -> Script {
        var body = Preamble.settings(topology, readsFiles: false)
        body += Preamble.arguments(
            usage: [
                "usage: destroy.sh [--yes] [--delete-data] [--dry-run]",
                "Removes the '\(topology.name)' topology, in the reverse order of deploy.sh.",
                "  --yes          do not ask for confirmation",
                "  --delete-data  also delete Memorystore (all Redis data), secrets, the VPC, the accounts and the image build",
                "  --dry-run      print the commands instead of running them",
            ],
            flags: [("--yes", "YES"), ("--delete-data", "DELETE_DATA"), ("--dry-run", "DRY_RUN")])
        body.append(.blank)
        body += Preamble.helpers
        body += [.blank] + confirmation()
        for section in [loadBalancer(), cloudRun(), notificationChannels(), dataAndNetwork()] where !section.isEmpty {
            body.append(.blank)
            body += section
        }
        body += [.blank, G.log("Done.")]
        return Script(
            header: [header, "", "Removes the topology with gcloud, in the reverse order of deploy.sh."], body: body)
    }

    private func confirmation() -> [Statement] {
        let data = Word.literal(" including Memorystore data and secrets")
        return [
            .if(
                Command.test(.variable("YES"), .syntax(.equal), "0"),
                then: [
                    .if(
                        Command.test(.variable("DELETE_DATA"), .syntax(.equal), "1"), then: [.assign("scope", data)],
                        else: [.assign("scope", "")]),
                    .command(
                        Command(
                            "read", "-r", "-p",
                            .concat([
                                "Destroy '\(topology.name)' in project ", .variable("PROJECT"), .variable("scope"),
                                "? [y/N] ",
                            ]), "answer")),
                    .case(
                        .variable("answer"),
                        [
                            CaseArm(literals: ["y", "Y", "yes"], [.command(Command(":"))]),
                            CaseArm(
                                [[.anyString]],
                                [
                                    .command(Command("echo", "Aborted.").redirecting(.outputToErrors)),
                                    .command(Command("exit", "1")),
                                ]),
                        ]),
                ])
        ]
    }

    private func delete(_ what: String, _ resource: [Word], _ identity: [Word]) -> Statement {
        .if(
            G.exists(resource + ["describe"] + identity),
            then: [
                G.log("Deleting \(what)"),
                G.run(resource + ["delete"] + identity),
            ])
    }

    private func loadBalancer() -> [Statement] {
        guard let lb = topology.loadBalancer else { return [] }
        let global: [Word] = ["--global"]
        var statements: [Statement] = [
            delete(
                "forwarding rule \(names.httpForwardingRule)", ["compute", "forwarding-rules"],
                [.literal(names.httpForwardingRule)] + global),
            delete(
                "forwarding rule \(names.httpsForwardingRule)", ["compute", "forwarding-rules"],
                [.literal(names.httpsForwardingRule)] + global),
            delete(
                "HTTP proxy \(names.httpProxy)", ["compute", "target-http-proxies"],
                [.literal(names.httpProxy)] + global),
            delete(
                "HTTPS proxy \(names.httpsProxy)", ["compute", "target-https-proxies"],
                [.literal(names.httpsProxy)] + global),
            delete("SSL policy \(names.sslPolicy)", ["compute", "ssl-policies"], [.literal(names.sslPolicy)] + global),
        ]
        statements += lb.certificateDomains.map { domains in
            delete(
                "certificate", ["compute", "ssl-certificates"],
                [.literal(LoadBalancerNames.certificate(domains, names))] + global)
        }
        statements += [
            delete(
                "URL map \(names.redirectURLMap)", ["compute", "url-maps"], [.literal(names.redirectURLMap)] + global),
            delete("URL map \(names.urlMap)", ["compute", "url-maps"], [.literal(names.urlMap)] + global),
        ]
        for service in topology.sortedServices {
            let backend = LoadBalancerNames.backend(service, names)
            statements.append(
                delete("backend service \(backend)", ["compute", "backend-services"], [.literal(backend)] + global))
        }
        for service in topology.sortedServices {
            for region in topology.regions {
                let neg = names.neg(service, region)
                statements += [
                    delete(
                        "NEG \(neg)", ["compute", "network-endpoint-groups"],
                        [.literal(neg), "--region", .literal(region)])
                ]
            }
        }
        statements.append(
            delete("Cloud Armor policy", ["compute", "security-policies"], [.literal(names.securityPolicy)]))
        statements.append(
            delete("address \(names.address)", ["compute", "addresses"], [.literal(names.address)] + global))
        return statements
    }

    private func cloudRun() -> [Statement] {
        topology.sortedServices.flatMap { service in
            topology.regions.map { region in
                delete(
                    "Cloud Run service \(service.name) (\(region))", ["run", "services"],
                    [.literal(names.cloudRunService(service)), "--region", .literal(region)])
            }
        }
    }

    /// How often, and how long apart, a subnet's deletion is tried: Cloud Run releases the addresses Direct VPC
    /// egress took "1–2 hours" after its services are deleted, and the subnet cannot go before ("Direct VPC
    /// egress with a VPC network": deleting the subnet). Two and a half hours at most, then a clear stop.
    static let subnetAttempts = 16
    static let subnetRetrySeconds = 600

    /// Deletes a region's subnet, waiting (bounded) while Cloud Run still holds addresses in it.
    private func subnetDeletion(_ region: String) -> Statement {
        let subnet = names.subnet(region)
        let identity: [Word] = [.literal(subnet), "--region", .literal(region)]
        return .if(
            G.exists(["compute", "networks", "subnets", "describe"] + identity),
            then: [G.log("Deleting subnet \(subnet)")]
                + G.retrying(
                    G.runCommand(["compute", "networks", "subnets", "delete"] + identity),
                    attempts: Self.subnetAttempts, pauseSeconds: Self.subnetRetrySeconds,
                    waiting: "still in use (Cloud Run releases Direct VPC egress addresses 1-2 hours after its "
                        + "services are gone)",
                    gaveUp: "Gave up on subnet \(subnet): run destroy.sh --delete-data again later."))
    }

    /// The email channels deploy.sh created, one per address (alert policies are Terraform's).
    private func notificationChannels() -> [Statement] {
        topology.monitoring.emails.flatMap { email -> [Statement] in
            let channel = G.gcloud(
                "beta", "monitoring", "channels", "list", "--filter",
                .literal("type=\"email\" AND labels.email_address=\"\(email)\""), "--limit", "1", "--format",
                "value(name)")
            return [
                .assign("channel", .substitution(channel)),
                .if(
                    Command.test(.syntax(.isNotEmpty), .variable("channel")),
                    then: [
                        G.log("Deleting the notification channel of \(email)"),
                        G.run("beta", "monitoring", "channels", "delete", .variable("channel"), "--force"),
                    ]),
            ]
        }
    }

    /// Stateful and shared pieces, only with --delete-data.
    private func dataAndNetwork() -> [Statement] {
        var statements: [Statement] = []
        if topology.memorystore != nil {
            for region in topology.regions {
                statements += [
                    delete(
                        "Memorystore \(names.redisInstance(region))", ["redis", "instances"],
                        [.literal(names.redisInstance(region)), "--region", .literal(region)])
                ]
            }
        }
        statements += topology.allSecretIDs.map { delete("secret \($0)", ["secrets"], [.literal($0)]) }
        if topology.usesBundledImage, let region = topology.regions.first {
            statements.append(
                delete(
                    "Artifact Registry repository", ["artifacts", "repositories"],
                    [.literal(names.artifactRepository), "--location", .literal(region)]))
            // What cloudbuild/build.sh made: the build account (its project role first) and the source bucket.
            let bucket = Word.literal("gs://" + names.buildSourceBucket)
            statements += [
                G.log("Removing roles/logging.logWriter from the build account"),
                G.attempt(
                    [
                        "projects", "remove-iam-policy-binding", G.project, "--member",
                        .literal("serviceAccount:" + names.buildServiceAccountEmail), "--role",
                        "roles/logging.logWriter",
                        "--condition", "None",
                    ], otherwise: "not bound"),
                delete(
                    "build service account", ["iam", "service-accounts"], [.literal(names.buildServiceAccountEmail)]),
                .if(
                    G.exists(["storage", "buckets", "describe", bucket]),
                    then: [
                        G.log("Deleting source bucket \(names.buildSourceBucket)"),
                        G.run("storage", "rm", "--recursive", bucket),
                    ]),
            ]
        }
        if topology.memorystore != nil {
            // The peering holds the range and the network: it goes first, from the network's side
            // (`GcloudCalls.deleteServiceNetworkingPeering`). Idempotent without a probe: a run after the peering
            // is gone says so and goes on.
            statements.append(G.log("Deleting the private service access peering"))
            statements.append(
                G.attempt(
                    GcloudCalls.deleteServiceNetworkingPeering(network: names.network).map(Word.literal),
                    otherwise: "no peering to delete"))
            statements.append(
                delete(
                    "private service access range", ["compute", "addresses"],
                    [.literal(names.serviceAccessRange), "--global"]))
        }
        for region in topology.regions {
            statements += [subnetDeletion(region)]
        }
        // A network with firewall rules cannot be deleted.
        statements.append(
            delete(
                "firewall \(names.denyIngressFirewall)", ["compute", "firewall-rules"],
                [.literal(names.denyIngressFirewall)]))
        statements.append(delete("VPC \(names.network)", ["compute", "networks"], [.literal(names.network)]))
        // The account's project roles first: bindings outlive a deleted account (as `deleted:serviceAccount:...`).
        for role in topology.runtimeRoles {
            statements.append(G.log("Removing \(role) from the service account"))
            statements.append(
                G.attempt(
                    [
                        "projects", "remove-iam-policy-binding", G.project, "--member", G.serviceAccountMember(names),
                        "--role", .literal(role), "--condition", "None",
                    ], otherwise: "not bound"))
        }
        statements.append(delete("service account", ["iam", "service-accounts"], [G.serviceAccountEmail(names)]))
        return [
            .if(
                Command.test(.variable("DELETE_DATA"), .syntax(.equal), "1"), then: statements,
                else: [
                    G.log(
                        "Kept Memorystore, secrets, the VPC and the image repository (pass --delete-data to remove them)."
                    )
                ])
        ]
    }
}
