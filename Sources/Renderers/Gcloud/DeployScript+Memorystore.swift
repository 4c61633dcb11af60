import JSON
import Shell
import TopologyModel

extension DeployScript {
    /// A Memorystore instance per region, then the secrets the services read its endpoint and CA from.
    func memorystore() -> [Statement] {
        guard let redis = topology.memorystore else { return [] }
        return topology.regions.flatMap { region in
            instance(region, redis)
        } + relayEndpoints(redis)
    }

    /// The instance of `region`, its endpoint secrets, and its entry in the relay document being built.
    private func instance(_ region: String, _ redis: Memorystore) -> [Statement] {
        let id = names.redisInstance(region)
        let location: [Word] = ["--region", .literal(region)]
        var create: [Word] = [
            "redis", "instances", "create", .literal(id), "--region", .literal(region),
            "--tier", redis.tier == .standardHA ? "standard" : "basic",
            "--size", .literal(String(redis.memoryGB)),
            "--redis-version", .literal(Self.redisVersionFlag(redis.version)),
            "--network",
            .concat(["projects/", .variable("PROJECT"), .literal("/global/networks/\(names.network)")]),
            "--connect-mode", "private-service-access", "--reserved-ip-range", .literal(names.serviceAccessRange),
            "--transit-encryption-mode", redis.transitEncryption ? "server-authentication" : "disabled",
            "--display-name", .literal("\(topology.name) pub/sub adapter (\(region))"),
        ]
        var update: [Word] =
            ["redis", "instances", "update", .literal(id)] + location + [
                "--size", .literal(String(redis.memoryGB)),
            ]
        // The weekly maintenance window (a failover on a Standard instance), on creation and on every run.
        let window: [Word] = [
            "--maintenance-window-day", .literal(redis.maintenance.day.rawValue),
            "--maintenance-window-hour", .literal(String(redis.maintenance.hour)),
        ]
        create += window
        update += window
        if redis.auth { create.append("--enable-auth") }
        if redis.readReplicas > 0 {
            create += [
                "--replica-count", .literal(String(redis.readReplicas)), "--read-replicas-mode",
                "read-replicas-enabled",
            ]
            update += ["--replica-count", .literal(String(redis.readReplicas))]
        }
        var body = G.ensure(
            "Memorystore \(id) (\(redis.tier.rawValue), \(redis.memoryGB) GB)",
            probe: ["redis", "instances", "describe", .literal(id)] + location,
            create: [G.run(create)], update: [G.run(update)])
        body += Self.secret(names.redisURLSecret(region), names: names)
        if redis.transitEncryption { body += Self.secret(names.redisCASecret(region), names: names) }
        body.append(endpointSecrets(id: id, region: region, redis: redis))
        return body
    }

    /// The relay endpoints document (`RelayEndpointsDocument`) of every region, stored when it changed. The
    /// services mount it at `latest` and read it while they run, so a region added here reaches them with no
    /// new revision (`RelayEndpoints`).
    private func relayEndpoints(_ redis: Memorystore) -> [Statement] {
        guard let relay = topology.relayEndpoints else { return [] }
        // The document's JSON comes from the JSON printer, with `${variable}` where a value is only known when the
        // script runs; those become shell expansions of the variables holding them, already JSON-escaped.
        var regions: [String: JSONValue] = [:]
        for region in topology.regions {
            var endpoint: [String: JSONValue] = [
                RelayEndpointsDocument.urlKey: .string("${\(Self.relayVariable(region, "url"))}")
            ]
            if redis.transitEncryption {
                endpoint[RelayEndpointsDocument.caKey] = .string("${\(Self.relayVariable(region, "ca"))}")
            }
            regions[region] = .sortedObject(endpoint)
        }
        let text = JSONValue.sortedObject([
            RelayEndpointsDocument.formatKey: .string(RelayEndpointsDocument.format),
            RelayEndpointsDocument.regionsKey: .sortedObject(regions),
        ]).serialized()
        let document = Self.expandingVariables(text)
        return [G.log("Relay endpoints of every region")] + Self.secret(relay.secretID, names: names) + [
            .if(
                G.isDryRun, then: [G.log("  would store the endpoints of every region in \(relay.secretID)")],
                else: [.assign("relay_document", .concat(document))]
                    + Self.storeIfChanged(secret: relay.secretID, value: "relay_document"))
        ]
    }

    /// `text` as word parts: each `${name}` in it the variable `name`, the rest literal.
    static func expandingVariables(_ text: String) -> [WordPart] {
        var parts: [WordPart] = []
        var rest = Substring(text)
        while let start = rest.range(of: "${"), let end = rest[start.upperBound...].firstIndex(of: "}") {
            if start.lowerBound > rest.startIndex { parts.append(.literal(String(rest[..<start.lowerBound]))) }
            parts.append(.variable(String(rest[start.upperBound..<end])))
            rest = rest[rest.index(after: end)...]
        }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        return parts
    }

    /// The shell variable holding a region's `url` or `ca`, JSON-escaped, for the relay document.
    static func relayVariable(_ region: String, _ field: String) -> String {
        "relay_\(field)_" + CloudRunSteps.shellName(region)
    }

    /// `json_lines VALUE`: the value with its line breaks written `\n`, as inside a JSON string. Enough for what the
    /// relay document holds: a URL (an IP address, a port and Memorystore's AUTH string, a UUID) and PEM
    /// certificates (base64 and `-----BEGIN ...` lines), neither of which has a quote or a backslash.
    static let jsonLinesHelper: Statement = .function(
        "json_lines",
        [
            .command(
                Command("printf", "%s", .variable("1")).piped(
                    into: Command("awk", .literal(#"NR > 1 { printf "\\n" } { printf "%s", $0 }"#))))
        ])

    /// Stores the instance's URL (and CA) in their secrets when the stored value differs: a recreated instance
    /// gets a new address, and the services read it on their next revision.
    private func endpointSecrets(id: String, region: String, redis: Memorystore) -> Statement {
        let location: [Word] = ["--region", .literal(region)]
        func describe(_ field: String) -> Word {
            .substitution(
                G.gcloud(
                    ["redis", "instances", "describe", .literal(id)] + location + [
                        "--format", .literal("value(\(field))"),
                    ]))
        }
        var read: [Statement] = [
            .assign("redis_host", describe("host")),
            .assign("redis_port", describe("port")),
        ]
        var url: [WordPart] = [.literal(redis.transitEncryption ? "rediss://" : "redis://")]
        if redis.auth {
            let auth = G.gcloud(
                ["redis", "instances", "get-auth-string", .literal(id)] + location + ["--format", "value(authString)"])
            read.append(.assign("redis_auth", .substitution(auth)))
            url += [":", .variable("redis_auth"), "@"]
        }
        url += [.variable("redis_host"), ":", .variable("redis_port")]
        read.append(.assign("redis_url", .concat(url)))
        read += Self.storeIfChanged(secret: names.redisURLSecret(region), value: "redis_url")
        read.append(.assign(Self.relayVariable(region, "url"), .variable("redis_url")))
        if redis.transitEncryption {
            // Every CA, one PEM after another: during a rotation an instance has several server CAs.
            let cas = G.gcloud(
                ["redis", "instances", "describe", .literal(id)] + location + [
                    "--flatten", "serverCaCerts", "--format", "value(serverCaCerts.cert)",
                ])
            read.append(.assign("redis_ca", .substitution(cas)))
            read += Self.storeIfChanged(secret: names.redisCASecret(region), value: "redis_ca")
            read.append(
                .assign(
                    Self.relayVariable(region, "ca"),
                    .substitution(Command("json_lines", .variable("redis_ca")))))
        }
        return .if(
            G.isDryRun,
            then: [
                G.log("  would store the endpoint of \(id) in \(names.redisURLSecret(region))")
            ], else: read)
    }

    /// `if [ "$(current_secret ID)" != "$VALUE" ]; then printf '%s' "$VALUE" | gcloud secrets versions add ...`
    static func storeIfChanged(secret: String, value: String) -> [Statement] {
        let add = G.gcloud("secrets", "versions", "add", .literal(secret), "--data-file=-")
        return [
            .if(
                Command.test(
                    .substitution(Command("current_secret", .literal(secret))), .syntax(.notEqual), .variable(value)),
                then: [
                    G.log("  storing a new version of \(secret)"),
                    .command(Command("printf", "%s", .variable(value)).piped(into: add)),
                ], else: [G.log("  \(secret) is up to date")])
        ]
    }

    /// The latest value of a secret, or nothing when it has none.
    static let currentSecretHelper: Statement = .function(
        "current_secret",
        [
            .if(
                G.gcloud("secrets", "versions", "access", "latest", "--secret", .variable("1")).redirecting(
                    .discardErrors),
                negated: true, then: [.command(Command("return", "0"))])
        ])

    static func redisVersionFlag(_ version: RedisVersion) -> String {
        "redis_" + String(version.rawValue.map { $0 == "." ? "_" : $0 })
    }
}
