/// The value of one environment variable of a deployed service.
public enum RuntimeValue: Sendable, Hashable {
    case plain(String)
    /// Read from Secret Manager at start.
    case secret(id: String, version: String)
}

public struct RuntimeVariable: Sendable, Hashable {
    public var name: String
    public var value: RuntimeValue

    public init(_ name: String, _ value: RuntimeValue) {
        self.name = name
        self.value = value
    }
}

extension Topology {
    /// Every environment variable a service gets in a region, sorted by name: the user's plain and secret
    /// variables plus what wires it to the topology. All three renderers emit exactly this list, and every value
    /// is known before anything is created (Redis endpoints reach the service through a secret that the
    /// deployment fills once the instance exists), so the Knative YAML can be static.
    public func environment(for service: RealtimeService, in region: String) -> [RuntimeVariable] {
        var variables = service.sortedEnv.map { RuntimeVariable($0.name, .plain($0.value)) }
        variables += service.sortedSecrets.map {
            RuntimeVariable($0.name, .secret(id: $0.secret.secret, version: $0.secret.version))
        }
        // A browser on another origin is refused its first polling handshake without CORS headers, and the server
        // sends none unless told which origins to allow.
        let origins = corsOrigins(for: service)
        if !origins.isEmpty {
            variables.append(RuntimeVariable("CORS_ORIGINS", .plain(origins.joined(separator: ","))))
        }
        variables.append(RuntimeVariable("TFCTL_REGION", .plain(region)))
        variables.append(RuntimeVariable("TFCTL_TOPOLOGY", .plain(name)))
        if let redis = memorystore {
            variables.append(RuntimeVariable("REDIS_URL", .secret(id: names.redisURLSecret(region), version: "latest")))
            // Not ready (and so given no sockets) until Redis answers: an instance whose Direct VPC egress is not
            // up yet would take clients it cannot fan out to. The startup probe waits for it (TFC0316).
            variables.append(RuntimeVariable("REDIS_REQUIRED_FOR_READY", .plain("true")))
            if redis.transitEncryption {
                variables.append(
                    RuntimeVariable("REDIS_CA_CERT", .secret(id: names.redisCASecret(region), version: "latest")))
            }
        }
        if relayEndpoints != nil {
            // The region-to-region relay reads the other regions' endpoints from a mounted file, not from variables:
            // a new region then changes no service's definition (`RelayEndpoints`).
            variables.append(RuntimeVariable(RelayEndpoints.fileVariable, .plain(RelayEndpoints.filePath)))
            // What must be decided once for the world (an edit lease's holder, a section's version, a comment's
            // number) is decided in one Redis: the first region's, reached from the others through the relay. Set
            // with one region too, so a region added at the end changes no existing service's value.
            variables.append(RuntimeVariable("COORDINATION_REGION", .plain(primaryRegion)))
        }
        if firebaseEnabled {
            variables.append(RuntimeVariable("FIREBASE_DATABASE_URL", .plain(names.firebaseDatabaseURL)))
            // The browser key a fallback client signs in with, given out with its token (`/fallback/v1/token`):
            // a secret the deployment fills once the key exists, so its string is unknown when rendering.
            variables.append(
                RuntimeVariable(
                    "FIREBASE_WEB_API_KEY", .secret(id: names.fallbackAPIKeySecret, version: "latest")))
        }
        return variables.sorted { $0.name < $1.name }
    }

    /// The origins `service` allows cross-origin polling from: its `cors_origins`, else `https://` and each of
    /// the load balancer's domains (a front end served from the same domains), else none.
    public func corsOrigins(for service: RealtimeService) -> [String] {
        service.corsOrigins ?? (loadBalancer?.domains.map { "https://\($0)" } ?? [])
    }
}

extension RealtimeService {
    /// Variables tfctl sets on every service to wire it to the topology (region, Redis, fallback).
    public static let topologyEnvironment = [
        "COORDINATION_REGION", "CORS_ORIGINS", "FIREBASE_DATABASE_URL", "FIREBASE_WEB_API_KEY", "REDIS_CA_CERT",
        "REDIS_REQUIRED_FOR_READY",
        "REDIS_URL",
        RelayEndpoints.fileVariable, "TFCTL_REGION", "TFCTL_TOPOLOGY",
    ]

    /// The values the bundled server takes for `LOG_LEVEL` (swift-log's levels, spelled as they are). The server
    /// refuses any other at start, so a typo in `env` must be caught by validation, not by a revision that
    /// never becomes ready.
    public static let bundledServerLogLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Whether tfctl sets `name` itself, so a user's variable of that name would clash.
    public static func isTopologyVariable(_ name: String) -> Bool {
        topologyEnvironment.contains(name)
    }
}
