import EngineIO
import Logging
import Redis
import _CryptoExtras

/// The server's settings, read from the environment at start (Cloud Run passes `PORT`).
public struct ServerConfiguration: Sendable {
    /// Which handlers the server runs.
    public enum Profile: String, Sendable {
        /// The TenderFlow namespaces: `/tenders` (rooms, presence, typing) and `/system`.
        case tenderflow
        /// What the socket.io-protocol test suite expects: `message` → `message-back`, `message-with-ack`,
        /// `emit-with-ack`, `/custom`, `auth` echo.
        case socketIOTestSuite = "socketio-test-suite"
        /// A bare Engine.IO echo server, what the engine.io-protocol test suite expects.
        case engineEcho = "engine-echo"
    }

    public var host: String
    public var port: Int
    /// The port of the second listener, on 127.0.0.1 only, that serves `/metrics` (`METRICS_PORT`, default 9464,
    /// Prometheus's exporter port; 0 lets the OS choose). A metrics sidecar in the same instance shares the
    /// loopback interface and can read it; nothing outside the instance can, whatever the load balancer routes.
    public var metricsPort: Int = 9464
    /// Fraction of Socket.IO CONNECTs, accepted and refused, that get an audit line (`AUDIT_SAMPLE_RATE`, 0 to 1;
    /// `ConnectionAudit`).
    public var auditSampleRate: Double = 1
    /// The metrics listener's address: loopback only, never configurable.
    public static let metricsHost = "127.0.0.1"
    public var profile: Profile
    public var engine: EngineConfiguration
    /// Milliseconds a client has to send its Socket.IO CONNECT.
    public var connectTimeout: Int
    /// Origins allowed to poll cross-origin; `*` allows any.
    public var corsOrigins: [String]
    /// Outbound packets queued per connection before it counts as too slow and is closed.
    public var outboundQueueLimit: Int
    /// Bearer token of the publish API; the API is off without one.
    public var publishToken: String?
    /// Rooms one socket may be in at once.
    public var maxRoomsPerSocket: Int = 100
    /// Events per second one connection may send (bursts of twice as many).
    public var eventsPerSecond: Int = 50
    /// Sockets one user may have open on one instance.
    public var maxConnectionsPerUser: Int = 20
    /// Token authentication of Socket.IO connections; nil accepts every connection (the user is unverified).
    public var tokens: TokenSettings?
    /// Redis (Memorystore) that connects this instance to the others; nil runs the instance on its own.
    public var redis: RedisConfiguration?
    /// The region this instance runs in (`TFCTL_REGION`, which the renderers set).
    public var region = "local"
    /// The relay endpoints document (`RELAY_ENDPOINTS_FILE`): every region's Redis, read while the server runs.
    public var relayEndpointsFile: String?
    /// How often the relay endpoints file is read again, in milliseconds (`RELAY_REFRESH_MS`).
    public var relayRefresh = 60_000
    /// Report not-ready while Redis is unreachable (off by default: an instance without Redis still serves
    /// its own clients, which beats refusing them).
    public var readyRequiresRedis = false
    /// Milliseconds a presence entry lives in Redis without a refresh (instances refresh every third of it):
    /// how long a user of an instance that died can still show as present.
    public var presenceTTL = 30_000
    /// Milliseconds a client that dropped may come back within and get the events it missed (0: off); needs Redis.
    public var recoveryWindow = 120_000
    /// Recoverable events kept per namespace; a client that missed more is told it was not recovered.
    public var recoveryMaxEvents = 10_000
    /// TenderFlow's leases, status debounce, handoff, activity and job bounds; lease and status holds follow
    /// the presence TTL.
    var coordination = CoordinationSettings()
    /// The region whose Redis decides leases, versions and comment numbers (`COORDINATION_REGION`); nil: this one.
    public var coordinationRegion: String?
    /// Lowest level of the records written (`LOG_LEVEL`); the `listening` record is written at any level.
    public var logLevel = Logger.Level.info
    /// The topology this instance belongs to (`TFCTL_TOPOLOGY`, which the renderers set); in every log record.
    public var topology: String?
    /// The Firebase Realtime Database of the topology's fallback (`FIREBASE_DATABASE_URL`, which the renderers
    /// set when the topology has one), which the server mirrors events and presence to; nil without one.
    public var fallback: FallbackConfiguration?

    /// Every environment variable the server reads: the one list. Reading a name that is not here is a bug that
    /// stops the server at once; the tests check that every variable the renderers set is here, and that README
    /// documents each.
    public static let variables: [String] = [
        "ACTIVITY_MAX_EVENTS", "AUDIT_SAMPLE_RATE", "CONNECT_TIMEOUT_MS", "COORDINATION_REGION", "CORS_ORIGINS",
        "EDIT_LEASE_GRACE_MS", "EVENTS_PER_SECOND", "FALLBACK_FLUSH_MS",
        "FALLBACK_MAX_EVENTS", "FALLBACK_QUEUE_LIMIT", "FALLBACK_TOKEN_ACCOUNT", "FALLBACK_TOKEN_KEY",
        "FIREBASE_AUTH_EMULATOR_HOST", "FIREBASE_DATABASE_EMULATOR_HOST", "FIREBASE_DATABASE_URL",
        "FIREBASE_WEB_API_KEY",
        "GCE_METADATA_HOST", "HANDOFF_MAX_ENTRIES", "HOST", "JOB_RETENTION_MS", "JWT_AUDIENCE",
        "JWT_HS256_SECRET", "JWT_ISSUER", "JWT_LEEWAY_SECONDS", "JWT_RS256_PUBLIC_KEY", "LOG_LEVEL",
        "MAX_CONNECTIONS_PER_USER", "METRICS_PORT", "MAX_PAYLOAD_BYTES", "MAX_ROOMS_PER_SOCKET", "OUTBOUND_QUEUE_LIMIT",
        "PING_INTERVAL_MS", "PING_TIMEOUT_MS", "PORT", "PRESENCE_TTL_MS", "PUBLISH_TOKEN", "REALTIME_PROFILE",
        "RECOVERY_MAX_EVENTS", "RECOVERY_WINDOW_MS", "REDIS_AUTH", "REDIS_CA_CERT", "REDIS_REQUIRED_FOR_READY",
        "REDIS_URL", "RELAY_ENDPOINTS_FILE", "RELAY_REFRESH_MS", "STATUS_DEBOUNCE_MS", "TFCTL_REGION", "TFCTL_TOPOLOGY",
        "UPGRADE_TIMEOUT_MS",
    ]

    /// Whether the server reads `name`.
    public static func reads(_ name: String) -> Bool { variables.contains(name) }

    public init(
        host: String = "0.0.0.0", port: Int = 8080, profile: Profile = .tenderflow,
        engine: EngineConfiguration = EngineConfiguration(), connectTimeout: Int = 45_000, corsOrigins: [String] = [],
        outboundQueueLimit: Int = 1024
    ) {
        self.host = host
        self.port = port
        self.profile = profile
        self.engine = engine
        self.connectTimeout = connectTimeout
        self.corsOrigins = corsOrigins
        self.outboundQueueLimit = outboundQueueLimit
    }

    public struct InvalidSetting: Error, CustomStringConvertible {
        public let name: String
        public let value: String
        public let expected: String
        public var description: String { "\(name)=\(value) is invalid: expected \(expected)" }
    }

    /// Reads `PORT`, `HOST`, `REALTIME_PROFILE`, `PING_INTERVAL_MS`, `PING_TIMEOUT_MS`, `MAX_PAYLOAD_BYTES`,
    /// `CONNECT_TIMEOUT_MS`, `CORS_ORIGINS` (comma separated) and `OUTBOUND_QUEUE_LIMIT`; throws on a bad value.
    public static func fromEnvironment(_ values: [String: String]) throws -> ServerConfiguration {
        let environment = DeclaredEnvironment(values)
        var configuration = ServerConfiguration()
        func integer(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text), range.contains(value) else {
                throw InvalidSetting(
                    name: name, value: text, expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        configuration.host = environment["HOST"] ?? configuration.host
        configuration.port = try integer("PORT", 0...65535) ?? configuration.port
        configuration.metricsPort = try integer("METRICS_PORT", 0...65535) ?? configuration.metricsPort
        if configuration.metricsPort != 0, configuration.metricsPort == configuration.port {
            throw InvalidSetting(
                name: "METRICS_PORT", value: "\(configuration.metricsPort)", expected: "a port other than PORT's")
        }
        if let text = environment["AUDIT_SAMPLE_RATE"] {
            guard let rate = Double(text), (0...1).contains(rate) else {
                throw InvalidSetting(name: "AUDIT_SAMPLE_RATE", value: text, expected: "a number from 0 to 1")
            }
            configuration.auditSampleRate = rate
        }
        if let profile = environment["REALTIME_PROFILE"] {
            guard let value = Profile(rawValue: profile) else {
                throw InvalidSetting(
                    name: "REALTIME_PROFILE", value: profile, expected: "tenderflow, socketio-test-suite or engine-echo"
                )
            }
            configuration.profile = value
        }
        configuration.engine.pingInterval =
            try integer("PING_INTERVAL_MS", 50...3_600_000) ?? configuration.engine.pingInterval
        configuration.engine.pingTimeout =
            try integer("PING_TIMEOUT_MS", 50...3_600_000) ?? configuration.engine.pingTimeout
        configuration.engine.upgradeTimeout =
            try integer("UPGRADE_TIMEOUT_MS", 100...3_600_000) ?? configuration.engine.upgradeTimeout
        configuration.engine.maxPayload =
            try integer("MAX_PAYLOAD_BYTES", 1024...100_000_000) ?? configuration.engine.maxPayload
        configuration.connectTimeout =
            try integer("CONNECT_TIMEOUT_MS", 100...3_600_000) ?? configuration.connectTimeout
        configuration.outboundQueueLimit =
            try integer("OUTBOUND_QUEUE_LIMIT", 16...1_000_000) ?? configuration.outboundQueueLimit
        configuration.maxRoomsPerSocket =
            try integer("MAX_ROOMS_PER_SOCKET", 1...100_000) ?? configuration.maxRoomsPerSocket
        configuration.eventsPerSecond = try integer("EVENTS_PER_SECOND", 1...100_000) ?? configuration.eventsPerSecond
        configuration.maxConnectionsPerUser =
            try integer("MAX_CONNECTIONS_PER_USER", 1...100_000) ?? configuration.maxConnectionsPerUser
        if let token = environment["PUBLISH_TOKEN"] {
            guard token.count >= 16 else {
                throw InvalidSetting(
                    name: "PUBLISH_TOKEN", value: "(\(token.count) characters)", expected: "at least 16 characters")
            }
            configuration.publishToken = token
        }
        configuration.tokens = try tokenSettings(environment, integer)
        configuration.redis = try redisSettings(environment)
        if let file = environment["RELAY_ENDPOINTS_FILE"], !file.isEmpty {
            configuration.relayEndpointsFile = file
        }
        configuration.relayRefresh = try integer("RELAY_REFRESH_MS", 1_000...3_600_000) ?? configuration.relayRefresh
        configuration.region = environment["TFCTL_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? configuration.region
        configuration.topology = environment["TFCTL_TOPOLOGY"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.fallback = try fallbackSettings(environment, integer)
        if configuration.relayEndpointsFile != nil, configuration.redis == nil {
            throw InvalidSetting(
                name: "REDIS_URL", value: "",
                expected: "this region's Redis, which the RELAY_ENDPOINTS_FILE relays need")
        }
        configuration.presenceTTL = try integer("PRESENCE_TTL_MS", 300...600_000) ?? configuration.presenceTTL
        configuration.recoveryWindow =
            try integer("RECOVERY_WINDOW_MS", 0...3_600_000) ?? configuration.recoveryWindow
        configuration.recoveryMaxEvents =
            try integer("RECOVERY_MAX_EVENTS", 1...1_000_000) ?? configuration.recoveryMaxEvents
        configuration.coordination.leaseLifetime = .milliseconds(configuration.presenceTTL)
        configuration.coordination.statusHold = .milliseconds(configuration.presenceTTL)
        if let value = try integer("EDIT_LEASE_GRACE_MS", 0...600_000) {
            configuration.coordination.leaseGrace = .milliseconds(value)
        }
        if let value = try integer("STATUS_DEBOUNCE_MS", 0...600_000) {
            configuration.coordination.statusDebounce = .milliseconds(value)
        }
        if let value = try integer("JOB_RETENTION_MS", 1_000...2_592_000_000) {
            configuration.coordination.jobRetention = .milliseconds(value)
        }
        configuration.coordination.activityMaxEvents =
            try integer("ACTIVITY_MAX_EVENTS", 10...100_000) ?? configuration.coordination.activityMaxEvents
        configuration.coordination.handoffMaxEntries =
            try integer("HANDOFF_MAX_ENTRIES", 1...100_000_000) ?? configuration.coordination.handoffMaxEntries
        configuration.coordinationRegion = environment["COORDINATION_REGION"].flatMap { $0.isEmpty ? nil : $0 }
        // The fallback keeps events as long as a reconnecting socket could get them back.
        if configuration.recoveryWindow > 0 {
            configuration.fallback?.retention = .milliseconds(configuration.recoveryWindow)
        }
        if let required = environment["REDIS_REQUIRED_FOR_READY"] {
            guard let value = ["true": true, "false": false][required] else {
                throw InvalidSetting(name: "REDIS_REQUIRED_FOR_READY", value: required, expected: "true or false")
            }
            configuration.readyRequiresRedis = value
        }
        if let level = environment["LOG_LEVEL"] {
            guard let value = Logger.Level(rawValue: level) else {
                throw InvalidSetting(
                    name: "LOG_LEVEL", value: level,
                    expected: Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))
            }
            configuration.logLevel = value
        }
        if let origins = environment["CORS_ORIGINS"] {
            configuration.corsOrigins = origins.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        return configuration
    }
}

/// The process environment, read only by the names `ServerConfiguration.variables` declares.
struct DeclaredEnvironment {
    private let values: [String: String]

    init(_ values: [String: String]) { self.values = values }

    subscript(name: String) -> String? {
        precondition(ServerConfiguration.reads(name), "\(name) is read but not in ServerConfiguration.variables")
        return values[name]
    }
}

/// `REDIS_URL` (`redis://host:port` or `rediss://` for TLS), `REDIS_AUTH` (Memorystore's AUTH string) and
/// `REDIS_CA_CERT` (the instance's server CA, for TLS; `\n` may stand for line breaks).
private func redisSettings(_ environment: DeclaredEnvironment) throws -> RedisConfiguration? {
    guard let url = environment["REDIS_URL"], !url.isEmpty else {
        if environment["REDIS_AUTH"] != nil || environment["REDIS_CA_CERT"] != nil {
            throw ServerConfiguration.InvalidSetting(
                name: "REDIS_URL", value: "", expected: "the Redis endpoint REDIS_AUTH or REDIS_CA_CERT is for")
        }
        return nil
    }
    do {
        return try RedisConfiguration(
            url: url, password: environment["REDIS_AUTH"],
            caPEM: environment["REDIS_CA_CERT"].map { $0.replacingEscapedNewlines() })
    } catch {
        // The URL may carry a password: the message names the problem, the value stays out of logs.
        throw ServerConfiguration.InvalidSetting(name: "REDIS_URL", value: "(hidden)", expected: "\(error)")
    }
}

/// `JWT_HS256_SECRET` (32 characters or more) and/or `JWT_RS256_PUBLIC_KEY` (PEM; `\n` may stand for line breaks),
/// with `JWT_ISSUER`, `JWT_AUDIENCE` and `JWT_LEEWAY_SECONDS` (default 30, at most 300).
private func tokenSettings(
    _ environment: DeclaredEnvironment, _ integer: (String, ClosedRange<Int>) throws -> Int?
) throws -> TokenSettings? {
    let secret = environment["JWT_HS256_SECRET"]
    let pem = environment["JWT_RS256_PUBLIC_KEY"].map { $0.replacingEscapedNewlines() }
    guard secret != nil || pem != nil else { return nil }
    if let secret, secret.count < 32 {
        throw ServerConfiguration.InvalidSetting(
            name: "JWT_HS256_SECRET", value: "(\(secret.count) characters)", expected: "at least 32 characters")
    }
    guard let issuer = environment["JWT_ISSUER"], !issuer.isEmpty else {
        throw ServerConfiguration.InvalidSetting(
            name: "JWT_ISSUER", value: "", expected: "the issuer tokens must carry")
    }
    guard let audience = environment["JWT_AUDIENCE"], !audience.isEmpty else {
        throw ServerConfiguration.InvalidSetting(
            name: "JWT_AUDIENCE", value: "", expected: "the audience tokens must carry")
    }
    return TokenSettings(
        hs256Secret: secret, rs256PublicKeyPEM: pem, issuer: issuer, audience: audience,
        leewaySeconds: try integer("JWT_LEEWAY_SECONDS", 0...300) ?? 30)
}

extension String {
    /// The text with each `\n` (a backslash and an n, as a variable set on one line has them) a line break.
    func replacingEscapedNewlines() -> String {
        var out = ""
        var iterator = makeIterator()
        while let character = iterator.next() {
            if character == "\\" {
                guard let next = iterator.next() else {
                    out.append(character)
                    break
                }
                if next == "n" { out.append("\n") } else { out.append(character); out.append(next) }
            } else {
                out.append(character)
            }
        }
        return out
    }

    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}

extension Set where Element == Character {
    fileprivate static let whitespaces: Set<Character> = [" ", "\t"]
}
