import TopologyModel

/// The dashboard of a topology: what a team running it watches, row by row. The rows on the server's own metrics
/// are there when the Prometheus sidecar sends them (`monitoring.prometheus`) and a service runs the bundled
/// server; Cloud Run, the load balancer and Redis come from Google's own metrics.
public enum TopologyDashboard {
    public static func build(_ topology: Topology) -> Dashboard {
        var layout = Dashboard.Layout()
        let services = ServerSeries.services(topology)
        let run = ["resource.labels.service_name = monitoring.regex.full_match(\"\(runServices(topology))\")"]
        if !services.isEmpty {
            let on = ServerSeries.matchers(topology)
            let region = [ServerSeries.region]
            layout.section("Connections", "Sockets by region and transport; who connects, and who is refused")
            layout.chart(
                .init(
                    "Connections by region and transport", unit: "connections",
                    [
                        .init(
                            .prometheus(.sum(by: region + ["transport"], .metric("realtime_connections", on))),
                            legend: "${labels.\(ServerSeries.region)} ${labels.transport}", plot: .stackedArea)
                    ]))
            layout.chart(
                .init(
                    "Socket.IO connects per second, by outcome and reason", unit: "connects/s",
                    [
                        .init(
                            .prometheus(.sum(by: ["outcome", "reason"], .rate("realtime_connects_total", on))),
                            legend: "${labels.outcome} ${labels.reason}")
                    ]))
            layout.chart(
                .init(
                    "Engine.IO handshakes per second, by outcome", unit: "handshakes/s",
                    [
                        .init(
                            .prometheus(.sum(by: ["transport", "outcome"], .rate("realtime_handshakes_total", on))),
                            legend: "${labels.transport} ${labels.outcome}")
                    ]))
            layout.chart(
                .init(
                    "Sessions ended per second, by reason", unit: "sessions/s",
                    [
                        .init(
                            .prometheus(.sum(by: ["reason"], .rate("realtime_sessions_closed_total", on))),
                            legend: "${labels.reason}", plot: .stackedArea)
                    ]))

            layout.section(
                "Messages", "Events in and out, how far a broadcast fans out, how late it arrives, what is lost")
            layout.chart(
                .init(
                    "Events per second, received and sent", unit: "events/s",
                    [
                        .init(
                            .prometheus(.sum(by: ["socketio_namespace"], .rate("realtime_events_received_total", on))),
                            legend: "in ${labels.socketio_namespace}"),
                        .init(
                            .prometheus(.sum(by: ["socketio_namespace"], .rate("realtime_events_sent_total", on))),
                            legend: "out ${labels.socketio_namespace}"),
                    ]))
            layout.chart(
                .init(
                    "Broadcast fan-out (p50, p99 sockets per broadcast)", unit: "sockets",
                    [0.5, 0.99].map { q in
                        .init(
                            .prometheus(.quantile(q, "realtime_broadcast_fanout", on, by: region)),
                            legend: "p\(Int(q * 100)) ${labels.\(ServerSeries.region)}")
                    }))
            layout.chart(
                .init(
                    "Delivery latency, Redis to socket (p50, p99)", unit: "seconds",
                    [0.5, 0.99].map { q in
                        .init(
                            .prometheus(.quantile(q, "realtime_delivery_latency_seconds", on, by: region)),
                            legend: "p\(Int(q * 100)) ${labels.\(ServerSeries.region)}")
                    }))
            layout.chart(
                .init(
                    "Dropped messages per second, by reason", unit: "messages/s",
                    [
                        .init(
                            .prometheus(.sum(by: region + ["reason"], .rate("realtime_dropped_messages_total", on))),
                            legend: "${labels.\(ServerSeries.region)} ${labels.reason}")
                    ]))

            layout.section("Cluster and Redis", "Broadcasts between instances and regions, recoveries, Redis itself")
            layout.chart(
                .init(
                    "Cluster messages per second, published and received", unit: "messages/s",
                    [
                        .init(
                            .prometheus(.sum(by: region, .rate("realtime_cluster_messages_published_total", on))),
                            legend: "published ${labels.\(ServerSeries.region)}"),
                        .init(
                            .prometheus(.sum(by: region, .rate("realtime_cluster_messages_received_total", on))),
                            legend: "received ${labels.\(ServerSeries.region)}"),
                    ]))
            layout.chart(
                .init(
                    "Cluster and relay drops per second, by region and reason", unit: "messages/s",
                    [
                        .init(
                            .prometheus(
                                .sum(by: region + ["reason"], .rate("realtime_cluster_messages_dropped_total", on))),
                            legend: "${labels.\(ServerSeries.region)} ${labels.reason}")
                    ]))
            layout.chart(
                .init(
                    "Recoveries per second, by outcome", unit: "recoveries/s",
                    [
                        .init(
                            .prometheus(.sum(by: ["outcome"], .rate("realtime_recoveries_total", on))),
                            legend: "${labels.outcome}")
                    ]))
            layout.chart(
                .init(
                    "Instances connected to Redis, and regions each relays to", unit: "instances / regions",
                    [
                        .init(
                            .prometheus(.sum(by: region, .metric("realtime_redis_connected", on))),
                            legend: "connected ${labels.\(ServerSeries.region)}"),
                        .init(
                            .prometheus(.aggregate("count", by: region, .metric("realtime_redis_connected", on))),
                            legend: "instances ${labels.\(ServerSeries.region)}"),
                        .init(
                            .prometheus(.aggregate("min", by: region, .metric("realtime_relay_regions", on))),
                            legend: "relayed regions ${labels.\(ServerSeries.region)}"),
                    ]))
        } else {
            layout.section("Redis", "Memorystore")
        }
        if topology.memorystore != nil {
            let redis = [
                "resource.labels.instance_id = monitoring.regex.full_match(\"(.*/)?\(topology.names.redisInstance(""))[a-z0-9-]+\")"
            ]
            // Per instance (one per region); CPU is written per process part and role, which the sum adds up.
            func redisChart(_ title: String, _ unit: String, _ metric: GoogleMetric, reducer: String = "REDUCE_MAX")
                -> Dashboard.Chart
            {
                .init(
                    title, unit: unit,
                    [
                        .init(
                            .filter(
                                .init(
                                    metric, redis, aligner: "ALIGN_MEAN", reducer: reducer,
                                    groupBy: ["resource.labels.instance_id"])))
                    ])
            }
            layout.chart(redisChart("Redis memory usage ratio", "ratio", .redisMemoryUsageRatio))
            layout.chart(redisChart("Redis connected clients", "clients", .redisConnectedClients))
            layout.chart(redisChart("Redis pub/sub channels", "channels", .redisPubSubChannels))
            layout.chart(
                redisChart("Redis CPU seconds per second", "CPU s/s", .redisCPUUtilization, reducer: "REDUCE_SUM"))
        }
        if !services.isEmpty, topology.firebaseEnabled {
            let on = ServerSeries.matchers(topology)
            layout.section("Fallback", "The mirror to the Realtime Database that fallback clients read")
            layout.chart(
                .init(
                    "Fallback writes per second, by kind", unit: "paths/s",
                    [
                        .init(
                            .prometheus(.sum(by: ["kind"], .rate("realtime_fallback_writes_total", on))),
                            legend: "${labels.kind}")
                    ]))
            layout.chart(
                .init(
                    "Fallback circuit (0 closed, 1 half-open, 2 open) and queue", unit: "state / paths",
                    [
                        .init(
                            .prometheus(
                                .max(by: [ServerSeries.region], .metric("realtime_fallback_circuit_state", on))),
                            legend: "circuit ${labels.\(ServerSeries.region)}"),
                        .init(
                            .prometheus(.max(by: [ServerSeries.region], .metric("realtime_fallback_queue_depth", on))),
                            legend: "queue ${labels.\(ServerSeries.region)}"),
                    ]))
        }
        layout.section("Cloud Run and the load balancer", "Instances, their CPU and memory, requests at the edge")
        layout.chart(
            .init(
                "Cloud Run instances by region and state", unit: "instances",
                [
                    .init(
                        .filter(
                            .init(
                                .runInstanceCount, run, aligner: "ALIGN_MAX", reducer: "REDUCE_SUM",
                                groupBy: ["resource.labels.location", "metric.labels.state"])),
                        plot: .stackedArea)
                ]))
        layout.chart(
            .init(
                "Cloud Run CPU and memory utilisation (p99 of instances)", unit: "ratio",
                [
                    .init(
                        .filter(
                            .init(
                                .runCPUUtilizations, run, aligner: "ALIGN_PERCENTILE_99", reducer: "REDUCE_MAX",
                                groupBy: ["resource.labels.location"])), legend: "CPU ${resource.labels.location}"),
                    .init(
                        .filter(
                            .init(
                                .runMemoryUtilizations, run, aligner: "ALIGN_PERCENTILE_99", reducer: "REDUCE_MAX",
                                groupBy: ["resource.labels.location"])), legend: "memory ${resource.labels.location}"),
                ]))
        if topology.loadBalancer != nil {
            let lb = ["resource.labels.url_map_name = \"\(topology.names.urlMap)\""]
            layout.chart(
                .init(
                    "Load balancer requests per second, by backend and class", unit: "requests/s",
                    [
                        .init(
                            .filter(
                                .init(
                                    .loadBalancerRequestCount, lb, aligner: "ALIGN_RATE", reducer: "REDUCE_SUM",
                                    groupBy: [
                                        "resource.labels.backend_target_name", "metric.labels.response_code_class",
                                    ])))
                    ]))
            layout.chart(
                .init(
                    "Load balancer 5xx per second, by backend", unit: "requests/s",
                    [
                        .init(
                            .filter(
                                .init(
                                    .loadBalancerRequestCount, lb + ["metric.labels.response_code_class = 500"],
                                    aligner: "ALIGN_RATE", reducer: "REDUCE_SUM",
                                    groupBy: ["resource.labels.backend_target_name"])))
                    ]))
        }
        return Dashboard(displayName: "\(topology.name): real-time topology", tiles: layout.placed)
    }

    /// The regular expression of the topology's Cloud Run service names.
    static func runServices(_ topology: Topology) -> String {
        topology.sortedServices.map { topology.names.cloudRunService($0) }.joined(separator: "|")
    }
}

/// How the server's metrics are told apart in Cloud Monitoring: the resource labels the Prometheus sidecar gives
/// every series it sends.
public enum ServerSeries {
    /// The region label of `prometheus_target`.
    public static let region = "location"
    /// The label that names the Cloud Run service.
    public static let service = "namespace"

    /// The services whose instances export the server's metrics: bundled ones, with the sidecar on.
    public static func services(_ topology: Topology) -> [RealtimeService] {
        guard topology.monitoring.prometheus else { return [] }
        return topology.sortedServices.filter { $0.image == .bundled }
    }

    /// The matchers that keep a query to this topology's servers.
    public static func matchers(_ topology: Topology) -> [PromQL.Matcher] {
        let names = services(topology).map { topology.names.cloudRunService($0) }
        return names.count == 1
            ? [.init(service, "=", names[0])] : [.init(service, "=~", names.joined(separator: "|"))]
    }
}
