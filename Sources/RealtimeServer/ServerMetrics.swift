import Metrics
import Prometheus

/// The server's metrics, recorded through swift-metrics into its own Prometheus registry (no global
/// bootstrap, so every server and every test has its own) and served at `/metrics`.
public final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    /// Open Engine.IO sessions by transport.
    let pollingConnections: Metrics.Meter
    let webSocketConnections: Metrics.Meter
    let upgradeFailures: Metrics.Counter
    /// Engine.IO handshakes (a new session on either transport): accepted, or refused because the instance drains.
    /// The handshake availability SLO is their ratio; malformed requests are the client's and not counted.
    private let handshakes: [String: Metrics.Counter]
    /// Socket.IO CONNECTs to a namespace: accepted, or refused by reason (`ConnectRefusal`).
    private let connects: [String: Metrics.Counter]
    /// From a recoverable broadcast's entry in its region's Redis stream (the stream id's milliseconds) to its
    /// frames handed to this instance's sockets: the delivery latency SLO's histogram.
    let deliveryLatency: Metrics.Timer
    /// Packets not delivered: volatile ones to clients that were behind, and the queues of closed slow consumers.
    let droppedVolatile: Metrics.Counter
    let slowConsumersClosed: Metrics.Counter
    let authFailures: Metrics.Counter
    let rateLimited: Metrics.Counter
    let broadcastFanOut: Metrics.Recorder
    let publishRequests: Metrics.Counter
    /// Broadcasts between instances through Redis: sent, received, and lost (Redis unreachable, or more
    /// arriving than the instance can deliver); whether Redis is connected (1) or not (0).
    let clusterPublished: Metrics.Counter
    let clusterReceived: Metrics.Counter
    let clusterDroppedUnavailable: Metrics.Counter
    let clusterDroppedBacklog: Metrics.Counter
    let clusterDroppedRelay: Metrics.Counter
    let redisConnected: Metrics.Gauge
    /// Regions this instance relays to, and whether the relay endpoints file was last read and accepted (1) or
    /// refused or unreadable (0): an instance with no relays is visible, not only one whose relays fail.
    let relayRegions: Metrics.Gauge
    let relayDocumentAccepted: Metrics.Gauge
    /// Polling requests that reached the wrong instance and were forwarded to their session's owner.
    let pollingForwarded: Metrics.Counter
    /// Reconnecting clients that asked for their socket back, by outcome.
    private let recovered: Metrics.Counter
    /// Sessions ended, by `CloseReason.metricLabel`.
    private let sessionsClosed: [String: Metrics.Counter]
    private let notRecovered: Metrics.Counter
    private let namespaceMetrics: [String: NamespaceMetrics]
    /// The mirror to the Realtime Database of the fallback.
    let fallback: FallbackMetrics

    /// Per namespace: connected sockets, events in and out, rooms, and how long handlers take.
    struct NamespaceMetrics: Sendable {
        let sockets: Metrics.Meter
        let rooms: Metrics.Meter
        let eventsReceived: Metrics.Counter
        let eventsSent: Metrics.Counter
        let handlerDuration: Metrics.Timer
    }

    public init(namespaces: [String]) {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultValueHistogramBuckets = [1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000, 50000]
        factory.durationHistogramBuckets = [
            Self.deliveryLatencyLabel: [
                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
            ]
        ]
        factory.defaultDurationHistogramBuckets = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100), .seconds(1),
        ]
        self.registry = registry
        self.factory = factory
        pollingConnections = Metrics.Meter(
            label: "realtime_connections", dimensions: [("transport", "polling")], factory: factory)
        webSocketConnections = Metrics.Meter(
            label: "realtime_connections", dimensions: [("transport", "websocket")], factory: factory)
        upgradeFailures = Metrics.Counter(label: "realtime_upgrade_failures_total", factory: factory)
        var handshakes: [String: Metrics.Counter] = [:]
        for transport in ["polling", "websocket"] {
            for outcome in ["accepted", "refused"] {
                handshakes[transport + outcome] = Metrics.Counter(
                    label: "realtime_handshakes_total", dimensions: [("transport", transport), ("outcome", outcome)],
                    factory: factory)
            }
        }
        self.handshakes = handshakes
        connects = Dictionary(
            uniqueKeysWithValues: ([nil] + ConnectRefusal.allCases).map { refusal in
                (
                    refusal?.rawValue ?? "",
                    Metrics.Counter(
                        label: "realtime_connects_total",
                        dimensions: [
                            ("outcome", refusal == nil ? "accepted" : "refused"),
                            ("reason", refusal?.rawValue ?? "none"),
                        ],
                        factory: factory)
                )
            })
        deliveryLatency = Metrics.Timer(label: Self.deliveryLatencyLabel, factory: factory)
        droppedVolatile = Metrics.Counter(
            label: "realtime_dropped_messages_total", dimensions: [("reason", "volatile")], factory: factory)
        slowConsumersClosed = Metrics.Counter(
            label: "realtime_dropped_messages_total", dimensions: [("reason", "slow_consumer")], factory: factory)
        authFailures = Metrics.Counter(label: "realtime_auth_failures_total", factory: factory)
        rateLimited = Metrics.Counter(label: "realtime_rate_limited_events_total", factory: factory)
        broadcastFanOut = Metrics.Recorder(label: "realtime_broadcast_fanout", factory: factory)
        publishRequests = Metrics.Counter(label: "realtime_publish_requests_total", factory: factory)
        clusterPublished = Metrics.Counter(label: "realtime_cluster_messages_published_total", factory: factory)
        clusterReceived = Metrics.Counter(label: "realtime_cluster_messages_received_total", factory: factory)
        clusterDroppedUnavailable = Metrics.Counter(
            label: "realtime_cluster_messages_dropped_total", dimensions: [("reason", "redis_unavailable")],
            factory: factory)
        clusterDroppedBacklog = Metrics.Counter(
            label: "realtime_cluster_messages_dropped_total", dimensions: [("reason", "backlog")], factory: factory)
        clusterDroppedRelay = Metrics.Counter(
            label: "realtime_cluster_messages_dropped_total", dimensions: [("reason", "relay_unavailable")],
            factory: factory)
        redisConnected = Metrics.Gauge(label: "realtime_redis_connected", factory: factory)
        relayRegions = Metrics.Gauge(label: "realtime_relay_regions", factory: factory)
        relayDocumentAccepted = Metrics.Gauge(label: "realtime_relay_document_accepted", factory: factory)
        pollingForwarded = Metrics.Counter(label: "realtime_polling_forwarded_total", factory: factory)
        recovered = Metrics.Counter(
            label: "realtime_recoveries_total", dimensions: [("outcome", "recovered")], factory: factory)
        notRecovered = Metrics.Counter(
            label: "realtime_recoveries_total", dimensions: [("outcome", "not_recovered")], factory: factory)
        sessionsClosed = Dictionary(
            uniqueKeysWithValues: CloseReason.metricLabels.map { label in
                (
                    label,
                    Metrics.Counter(
                        label: "realtime_sessions_closed_total", dimensions: [("reason", label)], factory: factory)
                )
            })
        var perNamespace: [String: NamespaceMetrics] = [:]
        for namespace in namespaces {
            // Not `namespace`: the Prometheus sidecar on Cloud Run sets that label to the service's name, and a
            // scraped label it sets itself is renamed `exported_namespace`.
            let dimensions = [("socketio_namespace", namespace)]
            perNamespace[namespace] = NamespaceMetrics(
                sockets: Metrics.Meter(label: "realtime_sockets", dimensions: dimensions, factory: factory),
                rooms: Metrics.Meter(label: "realtime_rooms", dimensions: dimensions, factory: factory),
                eventsReceived: Metrics.Counter(
                    label: "realtime_events_received_total", dimensions: dimensions, factory: factory),
                eventsSent: Metrics.Counter(
                    label: "realtime_events_sent_total", dimensions: dimensions, factory: factory),
                handlerDuration: Metrics.Timer(
                    label: "realtime_event_handler_duration_seconds", dimensions: dimensions, factory: factory))
        }
        namespaceMetrics = perNamespace
        fallback = FallbackMetrics(factory: factory)
    }

    static let deliveryLatencyLabel = "realtime_delivery_latency_seconds"

    func namespace(_ name: String) -> NamespaceMetrics? { namespaceMetrics[name] }

    func handshake(webSocket: Bool, accepted: Bool) {
        handshakes[(webSocket ? "websocket" : "polling") + (accepted ? "accepted" : "refused")]?.increment()
    }

    /// A CONNECT accepted (nil) or refused.
    func connect(refused refusal: ConnectRefusal?) { connects[refusal?.rawValue ?? ""]?.increment() }

    func recoveries(succeeded: Bool) -> Metrics.Counter { succeeded ? recovered : notRecovered }

    func sessionClosed(_ reason: CloseReason) { sessionsClosed[reason.metricLabel]?.increment() }

    func connections(_ transport: EngineSession.State) -> Metrics.Meter? {
        switch transport {
        case .polling, .upgrading: return pollingConnections
        case .webSocket: return webSocketConnections
        case .closed: return nil
        }
    }

    /// The Prometheus text exposition format.
    public func exposition() -> String { registry.emitToString() }
}

/// Why a Socket.IO CONNECT was refused: the `reason` label of `realtime_connects_total`, a closed set.
enum ConnectRefusal: String, CaseIterable, Sendable {
    case invalidNamespace = "invalid_namespace"
    case unauthorized
    case userIDTooLong = "user_id_too_long"
    case tooManyConnections = "too_many_connections"
}
