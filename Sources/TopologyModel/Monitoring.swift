/// Observability of a topology: where alerts go, the server's own metrics in Cloud Monitoring, the thresholds of
/// the alert policies, the uptime check and the service level objectives (`monitoring:` of an environment file).
public struct Monitoring: Sendable, Hashable {
    /// Email notification channels tfctl creates.
    public var emails: [String]
    /// Notification channels that exist already (a pager, a chat room), by resource name:
    /// `projects/PROJECT/notificationChannels/ID`.
    public var channels: [String]
    /// The Managed Service for Prometheus sidecar beside every bundled server, which sends the server's own metrics
    /// to Cloud Monitoring: the dashboard's message-flow rows, most alerts and both SLOs read them.
    public var prometheus: Bool
    /// How often the sidecar scrapes the server (the sidecar's default: 30 s).
    public var scrapeIntervalSeconds: Int
    /// An incident whose condition has not been met for this long is closed (Cloud Monitoring's default: 7 days).
    public var autoCloseSeconds: Int
    /// Where the uptime check runs from: Cloud Monitoring's checker regions, at least three.
    public var uptimeRegions: [String]
    public var alerts: AlertThresholds
    /// Severity by alert, over each alert's default.
    public var severities: [AlertKind: Severity]
    public var objectives: ServiceLevelObjectives

    /// An alert policy's severity, as Cloud Monitoring writes it.
    public enum Severity: String, Sendable, Hashable, CaseIterable {
        case critical = "CRITICAL"
        case error = "ERROR"
        case warning = "WARNING"
    }

    public init(
        emails: [String] = [], channels: [String] = [], prometheus: Bool = true, scrapeIntervalSeconds: Int = 30,
        autoCloseSeconds: Int = 1800, uptimeRegions: [String] = ["ASIA_PACIFIC", "EUROPE", "USA_VIRGINIA"],
        alerts: AlertThresholds = AlertThresholds(), severities: [AlertKind: Severity] = [:],
        objectives: ServiceLevelObjectives = ServiceLevelObjectives()
    ) {
        self.emails = emails
        self.channels = channels
        self.prometheus = prometheus
        self.scrapeIntervalSeconds = scrapeIntervalSeconds
        self.autoCloseSeconds = autoCloseSeconds
        self.uptimeRegions = uptimeRegions
        self.alerts = alerts
        self.severities = severities
        self.objectives = objectives
    }
}

extension Monitoring {
    /// The severity alert `kind` is raised with.
    public func severity(_ kind: AlertKind) -> Severity { severities[kind] ?? kind.defaultSeverity }
}

/// The alert policies tfctl renders, by the name `monitoring.severity`, the policies' user labels and
/// `tfctl explain` use. Never rename one: the name is the contract.
public enum AlertKind: String, Sendable, Hashable, CaseIterable, Comparable {
    case instancesNearMax = "instances_near_max"
    case serverErrors = "server_errors"
    case loadBalancerErrors = "load_balancer_errors"
    case redisMemory = "redis_memory"
    case redisDisconnected = "redis_disconnected"
    case clusterDrops = "cluster_drops"
    case connectionsNearConcurrency = "connections_near_concurrency"
    case slowConsumerDrops = "slow_consumer_drops"
    case connectRefusals = "connect_refusals"
    case uptimeFailing = "uptime_failing"
    case fallbackCircuitOpen = "fallback_circuit_open"
    case handshakeAvailabilityBurn = "handshake_availability_burn"
    case handshakeAvailabilitySlowBurn = "handshake_availability_slow_burn"
    case deliveryLatencyBurn = "delivery_latency_burn"
    case deliveryLatencySlowBurn = "delivery_latency_slow_burn"

    /// What users feel first pages (CRITICAL); what degrades before they do is an ERROR; early warnings WARNING.
    public var defaultSeverity: Monitoring.Severity {
        switch self {
        case .uptimeFailing, .redisDisconnected, .handshakeAvailabilityBurn: .critical
        case .serverErrors, .loadBalancerErrors, .clusterDrops, .deliveryLatencyBurn, .fallbackCircuitOpen,
            .handshakeAvailabilitySlowBurn:
            .error
        case .instancesNearMax, .redisMemory, .connectionsNearConcurrency, .slowConsumerDrops, .connectRefusals,
            .deliveryLatencySlowBurn:
            .warning
        }
    }

    /// Whether the alert reads the server's own metrics (the Prometheus sidecar's).
    public var needsServerMetrics: Bool {
        switch self {
        case .instancesNearMax, .serverErrors, .loadBalancerErrors, .redisMemory, .uptimeFailing: false
        default: true
        }
    }

    public static func < (lhs: AlertKind, rhs: AlertKind) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The thresholds of the alert policies (`monitoring.alerts`).
public struct AlertThresholds: Sendable, Hashable {
    /// A service's instance count above this fraction of `max_instances`.
    public var instanceUtilization: Double = 0.8
    /// A Memorystore instance's memory above this fraction.
    public var redisMemoryUtilization: Double = 0.8
    /// More 5xx responses a minute than this, per region (Cloud Run's, and the load balancer's).
    public var serverErrorsPerMinute: Int = 60
    /// An instance without its Redis connection for this many minutes.
    public var redisDisconnectedMinutes: Int = 2
    /// Broadcasts between instances or regions lost, per minute and region.
    public var clusterDropsPerMinute: Int = 10
    /// Connections on an instance above this fraction of the service's `concurrency`.
    public var connectionUtilization: Double = 0.8
    /// Messages dropped for clients that could not keep up, per minute and region.
    public var slowConsumerDropsPerMinute: Int = 100
    /// Socket.IO connections refused (token, limits), per minute and region.
    public var refusalsPerMinute: Int = 60

    public init() {}
}

/// The service level objectives (`monitoring.slo`), over a rolling window, with burn-rate alerts.
public struct ServiceLevelObjectives: Sendable, Hashable {
    /// The share of Engine.IO handshakes an instance accepts (refused: the instance drains).
    public var handshakeAvailability: Double = 0.999
    /// The share of broadcasts delivered within `deliveryLatencyMilliseconds` of entering Redis.
    public var deliveryLatency: Double = 0.99
    /// One of `ServiceLevelObjectives.latencyBuckets`: the SLI counts the server's histogram buckets.
    public var deliveryLatencyMilliseconds: Int = 250
    public var windowDays: Int = 28

    /// The bucket bounds of the server's `realtime_delivery_latency_seconds`, in milliseconds. A latency SLO counts
    /// whole buckets, so its threshold must be one of them (a test scrapes the server and compares).
    public static let latencyBuckets = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000]

    public init() {}
}
