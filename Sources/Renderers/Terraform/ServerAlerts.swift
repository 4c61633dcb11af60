import HCL
import TopologyModel

/// The alert policies and SLOs on the server's own metrics, which the Prometheus sidecar sends
/// (`ServerMetricsExport`): PromQL conditions, and request-based SLOs over the series as Cloud Monitoring stores
/// them (`prometheus.googleapis.com/NAME/KIND` on `prometheus_target`), each with a burn-rate alert.
public enum ServerAlerts {
    static func blocks(_ context: TerraformContext) -> [Block] {
        let topology = context.topology
        let services = ServerSeries.services(topology)
        guard !services.isEmpty else { return [] }
        let alerts = topology.monitoring.alerts
        let on = ServerSeries.matchers(topology)
        let region = ServerSeries.region
        let perMinute = PromQL.number(60)
        var blocks: [Block] = []
        if topology.memorystore != nil {
            blocks.append(
                policy(
                    .redisDisconnected, label: "redis_disconnected",
                    query: .binary(
                        .max(by: [region, ServerSeries.service, "instance"], .metric("realtime_redis_connected", on)),
                        "==", .number(0)),
                    minutes: alerts.redisDisconnectedMinutes, context))
            blocks.append(
                policy(
                    .clusterDrops, label: "cluster_drops",
                    query: .binary(
                        .binary(
                            .sum(by: [region, "reason"], .rate("realtime_cluster_messages_dropped_total", on)), "*",
                            perMinute), ">", .number(Double(alerts.clusterDropsPerMinute))),
                    minutes: 5, context))
        }
        for service in services {
            let limit = (Double(service.concurrency) * alerts.connectionUtilization).rounded(.down)
            let matcher = [PromQL.Matcher(ServerSeries.service, "=", topology.names.cloudRunService(service))]
            blocks.append(
                policy(
                    .connectionsNearConcurrency, label: TF.label(service.name, "connections"), service: service.name,
                    query: .binary(
                        .sum(by: [region, "instance"], .metric("realtime_connections", matcher)), ">",
                        .number(Swift.max(1, limit))),
                    minutes: 5, context))
        }
        blocks.append(
            policy(
                .slowConsumerDrops, label: "slow_consumer_drops",
                query: .binary(
                    .binary(
                        .sum(
                            by: [region],
                            .rate("realtime_dropped_messages_total", on + [.init("reason", "=", "slow_consumer")])),
                        "*", perMinute), ">", .number(Double(alerts.slowConsumerDropsPerMinute))),
                minutes: 5, context))
        blocks.append(
            policy(
                .connectRefusals, label: "connect_refusals",
                query: .binary(
                    .binary(
                        .sum(
                            by: [region, "reason"],
                            .rate("realtime_connects_total", on + [.init("outcome", "=", "refused")])),
                        "*", perMinute), ">", .number(Double(alerts.refusalsPerMinute))),
                minutes: 5, context))
        if topology.firebaseEnabled {
            blocks.append(
                policy(
                    .fallbackCircuitOpen, label: "fallback_circuit_open",
                    query: .binary(
                        .max(by: [region, "instance"], .metric("realtime_fallback_circuit_state", on)), "==",
                        .number(2)),
                    minutes: 5, context))
        }
        blocks += objectives(context)
        return blocks
    }

    /// A policy on a PromQL condition held for `minutes`.
    static func policy(
        _ kind: AlertKind, label: String, service: String? = nil, query: PromQL, minutes: Int,
        _ context: TerraformContext
    ) -> Block {
        MonitoringBlocks.policy(
            kind, label: label, service: service,
            condition: Block("condition_prometheus_query_language") {
                Attribute("query", .string(query.text))
                Attribute("duration", .string("\(minutes * 60)s"))
                Attribute("evaluation_interval", "60s")
                // The series exist once the sidecar has sent them: on a new project that is after this policy is
                // created, which the check of the query's metrics would refuse.
                Attribute("disable_metric_validation", true)
            }, context)
    }

    // MARK: - SLOs

    static let serviceLabel = "realtime"
    static let handshakeSLO = "handshake_availability"
    static let latencySLO = "delivery_latency"

    /// Set by `tfctl apply` once Cloud Monitoring knows the server's metrics: the SLOs exist from then on.
    public static let metricsExistVariable = "server_metrics_exist"

    /// The custom service, the two SLOs and their burn-rate alerts. The SLOs and their alerts wait for
    /// `server_metrics_exist`: "Invalid SLO definition: The metric referenced by the provided filter is unknown"
    /// is the API's answer to an SLO on a series nobody has written yet, which on a new project is every series
    /// the sidecar will write.
    static func objectives(_ context: TerraformContext) -> [Block] {
        let topology = context.topology
        let slo = topology.monitoring.objectives
        let services = ServerSeries.services(topology).map { topology.names.cloudRunService($0) }
        let namespace =
            services.count == 1
            ? "resource.labels.namespace = \"\(services[0])\""
            : "resource.labels.namespace = monitoring.regex.full_match(\"\(services.joined(separator: "|"))\")"
        func series(_ type: String, _ extra: [String] = []) -> String {
            (["metric.type = \"\(type)\"", "resource.type = \"prometheus_target\"", namespace] + extra)
                .joined(separator: " AND ")
        }
        let handshakes = PrometheusMetricType.counter("realtime_handshakes_total")
        let latency = PrometheusMetricType.histogram("realtime_delivery_latency_seconds")
        return [
            TF.resource("google_monitoring_custom_service", serviceLabel) {
                Attribute("service_id", .string(context.names.monitoringService))
                Attribute("display_name", .string("\(topology.name): real-time service"))
                TF.dependsOn([context.api("monitoring")])
            },
            TF.resource("google_monitoring_slo", handshakeSLO) {
                Attribute("count", onceMetricsExist)
                Attribute("service", TF.ref("google_monitoring_custom_service", serviceLabel, "service_id"))
                Attribute("slo_id", "handshake-availability")
                Attribute("display_name", "Engine.IO handshakes accepted")
                Attribute("goal", .double(slo.handshakeAvailability))
                Attribute("rolling_period_days", .int(slo.windowDays))
                Block("request_based_sli") {
                    Block("good_total_ratio") {
                        Attribute(
                            "good_service_filter", .string(series(handshakes, ["metric.labels.outcome = \"accepted\""]))
                        )
                        Attribute("total_service_filter", .string(series(handshakes)))
                    }
                }
                TF.dependsOn([context.api("monitoring")])
            },
            TF.resource("google_monitoring_slo", latencySLO) {
                Attribute("count", onceMetricsExist)
                Attribute("service", TF.ref("google_monitoring_custom_service", serviceLabel, "service_id"))
                Attribute("slo_id", "delivery-latency")
                Attribute("display_name", .string("Broadcasts delivered within \(slo.deliveryLatencyMilliseconds) ms"))
                Attribute("goal", .double(slo.deliveryLatency))
                Attribute("rolling_period_days", .int(slo.windowDays))
                Block("request_based_sli") {
                    Block("distribution_cut") {
                        Attribute("distribution_filter", .string(series(latency)))
                        // In the histogram's unit, seconds.
                        Block("range") { Attribute("max", .double(Double(slo.deliveryLatencyMilliseconds) / 1000)) }
                    }
                }
                TF.dependsOn([context.api("monitoring")])
            },
            burnRate(.handshakeAvailabilityBurn, slo: handshakeSLO, fast: true, context),
            burnRate(.handshakeAvailabilitySlowBurn, slo: handshakeSLO, fast: false, context),
            burnRate(.deliveryLatencyBurn, slo: latencySLO, fast: true, context),
            burnRate(.deliveryLatencySlowBurn, slo: latencySLO, fast: false, context),
        ]
    }

    /// `var.server_metrics_exist ? 1 : 0`.
    static let onceMetricsExist = Expression.conditional(TF.variable(metricsExistVariable), .int(1), .int(0))

    /// The SRE workbook's multiwindow burn-rate alerts: fast, 14.4x the sustainable rate over an hour and over
    /// its last 5 minutes (2% of a 30-day budget spent in an hour, and still burning); slow, 6x over six hours
    /// and over the last 30 minutes (5%). Both windows must agree (AND), so an incident closes soon after the burn
    /// stops rather than an hour or six later.
    static func burnRate(_ kind: AlertKind, slo: String, fast: Bool, _ context: TerraformContext) -> Block {
        let name = Expression.reference(
            Traversal(
                root: "google_monitoring_slo", steps: [.attribute(slo), .index(0), .attribute("name")]))
        func condition(_ window: Int, _ rate: Double) -> Block {
            Block("condition_threshold") {
                Attribute(
                    "filter",
                    .template([
                        .literal("select_slo_burn_rate(\""), .interpolation(name), .literal("\", \"\(window)s\")"),
                    ]))
                Attribute("comparison", "COMPARISON_GT")
                Attribute("threshold_value", .double(rate))
                Attribute("duration", "0s")
            }
        }
        let (long, short, rate) = fast ? (3600, 300, 14.4) : (21600, 1800, 6.0)
        return MonitoringBlocks.policy(
            kind, label: TF.label(slo, fast ? "burn" : "slow_burn"), condition: condition(long, rate),
            more: [condition(short, rate)], combiner: "AND", count: onceMetricsExist, context)
    }
}
