import Shell
import TopologyModel

/// The global load balancer with gcloud, in dependency order: Cloud Armor, NEGs, backend services, URL maps,
/// certificate, proxies, address, forwarding rules.
struct LoadBalancerSteps {
    let topology: Topology
    var names: ResourceNames { topology.names }

    func statements() -> [Statement] {
        guard let lb = topology.loadBalancer, let primary = topology.sortedServices.first else { return [] }
        var statements = armor(lb)
        for service in topology.sortedServices {
            for region in topology.regions {
                let neg = names.neg(service, region)
                statements += G.ensure(
                    "Serverless NEG \(neg)",
                    probe: [
                        "compute", "network-endpoint-groups", "describe", .literal(neg), "--region",
                        .literal(region),
                    ],
                    create: [
                        G.run(
                            "compute", "network-endpoint-groups", "create", .literal(neg), "--region",
                            .literal(region),
                            "--network-endpoint-type", "serverless", "--cloud-run-service",
                            .literal(names.cloudRunService(service)))
                    ])
            }
            statements += backendService(service, lb)
        }
        statements += urlMaps(lb, primary: primary)
        // Every certificate the proxy holds (`LoadBalancer.certificateDomains`); one that is no longer listed is
        // detached by the proxy update below and deleted by destroy.sh.
        for domains in lb.certificateDomains {
            let certificate = LoadBalancerNames.certificate(domains, names)
            statements += G.ensure(
                "Managed certificate \(certificate) for \(domains.joined(separator: ", "))",
                probe: ["compute", "ssl-certificates", "describe", .literal(certificate), "--global"],
                create: [
                    G.run(
                        "compute", "ssl-certificates", "create", .literal(certificate), "--global", "--domains",
                        .literal(domains.joined(separator: ",")))
                ])
        }
        let certificate = lb.certificateDomains.map { LoadBalancerNames.certificate($0, names) }.joined(
            separator: ",")
        // The SSL policy (`TLSPolicy`): without one the proxy accepts TLS 1.0.
        let tls: [Word] = [
            "--profile", .literal(lb.tls.profile.api), "--min-tls-version", .literal(lb.tls.minVersion.rawValue),
        ]
        statements += G.ensure(
            "SSL policy \(names.sslPolicy) (\(lb.tls.profile.api), TLS \(lb.tls.minVersion.rawValue)+)",
            probe: ["compute", "ssl-policies", "describe", .literal(names.sslPolicy), "--global"],
            create: [G.run(["compute", "ssl-policies", "create", .literal(names.sslPolicy), "--global"] + tls)],
            update: [G.run(["compute", "ssl-policies", "update", .literal(names.sslPolicy), "--global"] + tls)])
        let proxy: [Word] = [
            .literal(names.httpsProxy), "--global", "--url-map", .literal(names.urlMap), "--ssl-certificates",
            .literal(certificate), "--ssl-policy", .literal(names.sslPolicy),
        ]
        statements += G.ensure(
            "HTTPS proxy \(names.httpsProxy)",
            probe: ["compute", "target-https-proxies", "describe", .literal(names.httpsProxy), "--global"],
            create: [G.run(["compute", "target-https-proxies", "create"] + proxy)],
            update: [G.run(["compute", "target-https-proxies", "update"] + proxy)])
        statements += G.ensure(
            "Global address \(names.address)",
            probe: ["compute", "addresses", "describe", .literal(names.address), "--global"],
            create: [
                G.run("compute", "addresses", "create", .literal(names.address), "--global", "--ip-version", "IPV4")
            ])
        statements += forwardingRule(
            names.httpsForwardingRule, proxyFlag: "--target-https-proxy", proxy: names.httpsProxy, port: "443")
        if lb.httpRedirect {
            statements += G.ensure(
                "HTTP proxy \(names.httpProxy)",
                probe: ["compute", "target-http-proxies", "describe", .literal(names.httpProxy), "--global"],
                create: [
                    G.run(
                        "compute", "target-http-proxies", "create", .literal(names.httpProxy), "--global", "--url-map",
                        .literal(names.redirectURLMap))
                ],
                update: [
                    G.run(
                        "compute", "target-http-proxies", "update", .literal(names.httpProxy), "--global", "--url-map",
                        .literal(names.redirectURLMap))
                ])
            statements += forwardingRule(
                names.httpForwardingRule, proxyFlag: "--target-http-proxy", proxy: names.httpProxy, port: "80")
        }
        statements.append(
            G.log(
                .concat([
                    "Point ", .literal(lb.domains.joined(separator: ", ")), " at ",
                    .substitution(
                        G.gcloud(
                            "compute", "addresses", "describe", .literal(names.address), "--global", "--format",
                            "value(address)")),
                ])))
        return statements
    }

    private func armor(_ lb: LoadBalancer) -> [Statement] {
        let policy = names.securityPolicy
        var statements = G.ensure(
            "Cloud Armor policy \(policy)",
            probe: ["compute", "security-policies", "describe", .literal(policy)],
            create: [
                G.run(
                    "compute", "security-policies", "create", .literal(policy), "--type", "CLOUD_ARMOR",
                    "--description",
                    .literal("Cloud Armor policy of the \(topology.name) load balancer"))
            ])
        // Adaptive Protection on or off, as the model says: an update of the same value changes nothing.
        statements.append(
            G.run(
                "compute", "security-policies", "update", .literal(policy),
                lb.adaptiveProtection ? "--enable-layer7-ddos-defense" : "--no-enable-layer7-ddos-defense"))
        statements += ensureRule(
            AdminPaths.priority, "admin paths refused", policy: policy,
            [
                "--expression", .literal(AdminPaths.expression(lb)), "--action", "deny-403", "--description",
                .literal(AdminPaths.description),
            ])
        for rule in lb.waf.rules {
            // `--no-preview` on an update takes a rule out of preview when the model does.
            statements += ensureRule(
                rule.priority, rule.description, policy: policy,
                [
                    "--expression", .literal(rule.expression), "--action", "deny-403", "--description",
                    .literal(rule.description),
                ],
                create: lb.waf.preview ? ["--preview"] : [], update: [lb.waf.preview ? "--preview" : "--no-preview"])
        }
        // A WAF rule the model no longer has (a set removed, sensitivity 0) goes, as Terraform would remove it.
        let used = Set(lb.waf.rules.map(\.priority))
        let wafPriorities = (0..<WebApplicationFirewall.RuleSet.allCases.count).map {
            WebApplicationFirewall.firstPriority + $0
        }
        for priority in wafPriorities where !used.contains(priority) {
            statements.append(
                .if(
                    G.exists(Self.rule("describe", priority, policy: policy)),
                    then: [
                        G.log("Cloud Armor: WAF rule \(priority) removed"),
                        G.run(Self.rule("delete", priority, policy: policy)),
                    ],
                    else: []))
        }
        guard let limit = lb.rateLimit else { return statements }
        var rule: [Word] = [
            "--src-ip-ranges", "*",
            "--action", limit.banSeconds == nil ? "throttle" : "rate-based-ban",
            "--rate-limit-threshold-count", .literal(String(limit.requests)),
            "--rate-limit-threshold-interval-sec", .literal(String(limit.intervalSeconds)),
            "--conform-action", "allow", "--exceed-action", "deny-429",
            // gcloud spells the API's XFF_IP / HTTP_HEADER with hyphens.
            "--enforce-on-key", .literal(limit.key.api.key.replacingOccurrences(of: "_", with: "-")),
        ]
        if let name = limit.key.api.name { rule += ["--enforce-on-key-name", .literal(name)] }
        rule += ["--description", .literal(LoadBalancerNames.rateLimitDescription(limit))]
        if let ban = limit.banSeconds { rule += ["--ban-duration-sec", .literal(String(ban))] }
        statements += ensureRule(1000, "rate limit", policy: policy, rule)
        return statements
    }

    /// One rule of the policy at `priority`: created with `words` (and `create`) when absent, else updated to them
    /// (and `update`).
    private func ensureRule(
        _ priority: Int, _ what: String, policy: String, _ words: [Word], create: [Word] = [], update: [Word] = []
    ) -> [Statement] {
        G.ensure(
            "Cloud Armor: \(what) (rule \(priority))",
            probe: Self.rule("describe", priority, policy: policy),
            create: [G.run(Self.rule("create", priority, policy: policy) + words + create)],
            update: [G.run(Self.rule("update", priority, policy: policy) + words + update)])
    }

    /// `compute security-policies rules VERB PRIORITY --security-policy POLICY`.
    private static func rule(_ verb: Word, _ priority: Int, policy: String) -> [Word] {
        [
            "compute", "security-policies", "rules", verb, .literal(String(priority)), "--security-policy",
            .literal(policy),
        ]
    }

    /// The backend service as a whole, imported from `backend-services/<name>.yaml` (created if absent, else
    /// brought to exactly that: its NEGs, logging and outlier detection, which gcloud has no flags for), then
    /// the Cloud Armor policy, which the API attaches by its own call (`setSecurityPolicy`).
    private func backendService(_ service: RealtimeService, _ lb: LoadBalancer) -> [Statement] {
        let backend = LoadBalancerNames.backend(service, names)
        return [
            G.log("Backend service \(backend)"),
            G.run(
                "compute", "backend-services", "import", .literal(backend), "--global", "--source",
                G.besideScript(Self.backendServiceFile(service, names))),
            G.run(
                "compute", "backend-services", "update", .literal(backend), "--global", "--security-policy",
                .literal(names.securityPolicy)),
        ]
    }

    static func backendServiceFile(_ service: RealtimeService, _ names: ResourceNames) -> String {
        "backend-services/\(LoadBalancerNames.backend(service, names)).yaml"
    }

    /// What `backendService` imports: the same backend service as the Terraform's (serverless NEG backends: no
    /// timeout, no session affinity, no health check; validation enforces it).
    static func backendServiceDocument(_ service: RealtimeService, _ lb: LoadBalancer, _ topology: Topology)
        -> YAMLValue
    {
        let names = topology.names
        let compute = "https://www.googleapis.com/compute/v1/projects/\(topology.project)"
        var entries: [(String, YAMLValue)] = [
            ("name", .string(LoadBalancerNames.backend(service, names))),
            ("loadBalancingScheme", .string("EXTERNAL_MANAGED")),
            ("protocol", .string("HTTP")),
            (
                "backends",
                .sequence(
                    topology.regions.map { region in
                        .map(
                            (
                                "group",
                                .string(
                                    "\(compute)/regions/\(region)/networkEndpointGroups/\(names.neg(service, region))")
                            ))
                    })
            ),
            ("logConfig", .map(("enable", .bool(lb.logSampleRate > 0)), ("sampleRate", .double(lb.logSampleRate)))),
        ]
        if let outliers = OutlierDetection(regions: topology.regions.count) {
            entries.append(
                (
                    "outlierDetection",
                    .map(
                        ("consecutiveErrors", .int(outliers.consecutiveErrors)),
                        ("consecutiveGatewayFailure", .int(outliers.consecutiveGatewayFailures)),
                        ("enforcingConsecutiveErrors", .int(100)),
                        ("enforcingConsecutiveGatewayFailure", .int(100)),
                        ("maxEjectionPercent", .int(outliers.maxEjectionPercent)),
                        ("interval", .map(("seconds", .int(outliers.intervalSeconds)))),
                        ("baseEjectionTime", .map(("seconds", .int(outliers.baseEjectionSeconds))))
                    )
                ))
        }
        return .mapping(entries.map { YAMLEntry(key: $0.0, value: $0.1) })
    }

    private func urlMaps(_ lb: LoadBalancer, primary: RealtimeService) -> [Statement] {
        let defaultBackend = Word.literal(LoadBalancerNames.backend(primary, names))
        var create: [Statement] = [
            G.run(
                "compute", "url-maps", "create", .literal(names.urlMap), "--global", "--default-service", defaultBackend
            )
        ]
        let others = topology.sortedServices.filter { $0 != primary }
        if !others.isEmpty {
            let rules = others.map { service in
                let backend = LoadBalancerNames.backend(service, names)
                return "/\(service.name)=\(backend),/\(service.name)/*=\(backend)"
            }.joined(separator: ",")
            create.append(
                G.run(
                    "compute", "url-maps", "add-path-matcher", .literal(names.urlMap), "--global",
                    "--path-matcher-name", "services",
                    "--default-service", defaultBackend, "--path-rules", .literal(rules), "--new-hosts", "*"))
        }
        var statements = G.ensure(
            "URL map \(names.urlMap)", probe: ["compute", "url-maps", "describe", .literal(names.urlMap), "--global"],
            create: create,
            update: [
                G.run(
                    "compute", "url-maps", "set-default-service", .literal(names.urlMap), "--global",
                    "--default-service",
                    defaultBackend)
            ])
        if lb.httpRedirect {
            // Import creates or replaces: idempotent on its own.
            statements += [
                G.log("URL map \(names.redirectURLMap) (HTTP to HTTPS)"),
                G.run(
                    "compute", "url-maps", "import", .literal(names.redirectURLMap), "--global", "--source",
                    G.besideScript("url-maps/http-redirect.yaml")),
            ]
        }
        return statements
    }

    private func forwardingRule(_ name: String, proxyFlag: String, proxy: String, port: String) -> [Statement] {
        G.ensure(
            "Forwarding rule \(name) (:\(port))",
            probe: ["compute", "forwarding-rules", "describe", .literal(name), "--global"],
            create: [
                G.run(
                    "compute", "forwarding-rules", "create", .literal(name), "--global", "--load-balancing-scheme",
                    "EXTERNAL_MANAGED", .literal(proxyFlag), .literal(proxy), "--address", .literal(names.address),
                    "--ports", .literal(port))
            ])
    }
}

/// Load balancer names the Terraform and the scripts share.
public enum LoadBalancerNames {
    static func backend(_ service: RealtimeService, _ names: ResourceNames) -> String {
        "\(names.backendService)-\(service.name)"
    }

    /// "At most 600 requests per 60s per client IP", in both outputs.
    /// At most 64 characters (`WebApplicationFirewall.maxDescription`): a long header or cookie name is left out.
    static func rateLimitDescription(_ limit: RateLimit) -> String {
        let full = "At most \(limit.requests) requests per \(limit.intervalSeconds)s per \(limit.key.description)"
        guard full.count > WebApplicationFirewall.maxDescription else { return full }
        let kind =
            switch limit.key {
            case .ip, .forwardedIP: "address"
            case .header: "header value"
            case .cookie: "cookie value"
            }
        return "At most \(limit.requests) requests per \(limit.intervalSeconds)s per \(kind)"
    }

    /// The name of the managed certificate for `domains`: it changes with them, so a new set of domains is a new
    /// certificate beside the old one, never the old one changed.
    public static func certificate(_ domains: [String], _ names: ResourceNames) -> String {
        "\(names.certificate)-\(domainsHash(domains))"
    }

    /// The hash certificates are named and addressed by: of the domain set, so that listing the same domains in
    /// another order or case is the same certificate, not a new one that takes HTTPS down while it provisions.
    static func domainsHash(_ domains: [String]) -> String {
        stableHash(Set(domains.map { $0.lowercased() }).sorted().joined(separator: ","))
    }
}

/// `1` rather than `1.0`.
func formatted(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
}
