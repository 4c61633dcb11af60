import HCL
import JSON
import TopologyModel

/// Notification channels, the alert policies on Google's own metrics, the uptime check, the log-based metric and the
/// dashboard. The alerts and SLOs on the server's own metrics are `ServerAlerts`.
public enum MonitoringBlocks {
    static func blocks(_ context: TerraformContext) -> [Block] {
        let topology = context.topology
        let monitoring = topology.monitoring
        var blocks: [Block] = []
        for (index, email) in monitoring.emails.enumerated() {
            blocks.append(
                TF.resource("google_monitoring_notification_channel", "email_\(index)") {
                    Attribute("display_name", .string("\(topology.name) on-call: \(email)"))
                    Attribute("type", "email")
                    Attribute("labels", .object([ObjectItem("email_address", .string(email))]))
                    TF.dependsOn([context.api("monitoring")])
                })
        }
        for service in context.services {
            let limit = instanceThreshold(service.maxInstances, monitoring.alerts.instanceUtilization)
            blocks.append(
                policy(
                    .instancesNearMax, label: TF.label(service.name, "instances"), service: service.name,
                    condition: threshold(
                        filter: cloudRunFilter(service, .runInstanceCount), aligner: "ALIGN_MAX",
                        threshold: .int(limit),
                        // The limit tfctl sets is the revision's (`template.scaling`): each revision is held against
                        // it, so a revision that is still draining does not add its instances to the new one's.
                        groupBy: ["resource.labels.location", "resource.labels.revision_name"]),
                    context))
            blocks.append(
                policy(
                    .serverErrors, label: TF.label(service.name, "server_errors"), service: service.name,
                    condition: threshold(
                        filter: cloudRunFilter(service, .runRequestCount)
                            + " AND metric.labels.response_code_class = \"5xx\"",
                        aligner: "ALIGN_DELTA", threshold: .int(monitoring.alerts.serverErrorsPerMinute)),
                    context))
        }
        if topology.loadBalancer != nil {
            // The load balancer's own 502/503/504 (no healthy backend, a region failing over, its timeout) never
            // reach Cloud Run's request count.
            blocks.append(
                policy(
                    .loadBalancerErrors, label: "load_balancer_server_errors",
                    condition: threshold(
                        filter:
                            "resource.type = \"https_lb_rule\" AND resource.labels.url_map_name = \"\(context.names.urlMap)\" "
                            + "AND metric.type = \"\(GoogleMetric.loadBalancerRequestCount.rawValue)\" "
                            + "AND metric.labels.response_code_class = 500",
                        aligner: "ALIGN_DELTA", threshold: .int(monitoring.alerts.serverErrorsPerMinute),
                        groupBy: ["resource.labels.url_map_name"]),
                    context))
            blocks += uptime(context)
        }
        if topology.memorystore != nil {
            blocks.append(
                policy(
                    .redisMemory, label: "redis_memory",
                    condition: threshold(
                        // Only this topology's instances, not every Memorystore instance in the project
                        // (`instance_id` is the instance's resource name, projects/P/locations/R/instances/NAME),
                        // by their name's prefix rather than a list, so that adding a region leaves the policy alone.
                        filter:
                            "resource.type = \"redis_instance\" AND metric.type = \"\(GoogleMetric.redisMemoryUsageRatio.rawValue)\" "
                            + "AND resource.labels.instance_id = monitoring.regex.full_match(\"(.*/)?"
                            + context.names.redisInstance("") + "[a-z0-9-]+\")",
                        // Per instance: a ratio summed over three instances at 30 % would fire at 90 %.
                        aligner: "ALIGN_MAX", threshold: .double(monitoring.alerts.redisMemoryUtilization),
                        reducer: "REDUCE_MAX", groupBy: ["resource.labels.instance_id"]),
                    context))
        }
        for service in context.services {
            guard let export = topology.metricsExport(service) else { continue }
            blocks += MemorystoreBlocks.secretWithValue(
                label: scrapeConfigLabel(service), id: export.secretID,
                value: .string(export.document.document(header: [])), context: context)
        }
        blocks += ServerAlerts.blocks(context)
        blocks.append(refusalsLogMetric(context))
        blocks.append(
            TF.resource("google_monitoring_dashboard", "topology") {
                // The dashboard's JSON tree as an HCL object through `jsonencode`: `plan` and a reviewer see which
                // tile changed, and deploy.sh gets the same tree as a JSON file.
                Attribute("dashboard_json", .call("jsonencode", [hcl(TopologyDashboard.build(topology).json)]))
                TF.dependsOn([context.api("monitoring")])
            })
        return blocks
    }

    /// Set by `tfctl apply` once the certificate is ACTIVE: the uptime alert is enabled from then on.
    public static let edgeServingVariable = "edge_serving"

    /// The label of a service's Prometheus sidecar configuration secret, its version and its access.
    static func scrapeConfigLabel(_ service: RealtimeService) -> String { TF.label("prometheus", service.name) }

    /// Every channel a policy notifies: the emails tfctl creates, and the existing ones the model names.
    static func channels(_ context: TerraformContext) -> [Expression] {
        context.topology.monitoring.emails.indices.map {
            TF.ref("google_monitoring_notification_channel", "email_\($0)", "id")
        } + context.topology.monitoring.channels.map(Expression.string)
    }

    /// The instance count that triggers the alert; at least 1, computed without trapping on any input.
    static func instanceThreshold(_ maxInstances: Int, _ ratio: Double) -> Int {
        let value = (Double(maxInstances) * ratio).rounded(.down)
        guard value.isFinite, value >= 1 else { return 1 }
        return value >= Double(Int.max / 2) ? Int.max / 2 : Int(value)
    }

    private static func cloudRunFilter(_ service: RealtimeService, _ metric: GoogleMetric) -> String {
        "resource.type = \"\(metric.resourceType)\" AND resource.labels.service_name = \"\(service.name)\" "
            + "AND metric.type = \"\(metric.rawValue)\""
    }

    /// A metric-threshold condition over minute-aligned points, held for five minutes.
    static func threshold(
        filter: String, aligner: String, threshold: Expression, reducer: String = "REDUCE_SUM",
        groupBy: [String] = ["resource.labels.location"]
    ) -> Block {
        Block("condition_threshold") {
            Attribute("filter", .string(filter))
            Attribute("comparison", "COMPARISON_GT")
            Attribute("threshold_value", threshold)
            Attribute("duration", "300s")
            Block("aggregations") {
                Attribute("alignment_period", "60s")
                Attribute("per_series_aligner", .string(aligner))
                Attribute("cross_series_reducer", .string(reducer))
                Attribute("group_by_fields", TF.strings(groupBy))
            }
        }
    }

    /// An alert policy of `kind` with one condition (or several, ORed): its title, documentation, severity,
    /// channels and auto-close from the model, and the alert's name as a user label (what `tfctl explain` takes).
    static func policy(
        _ kind: AlertKind, label: String, service: String? = nil, condition: Block, more: [Block] = [],
        combiner: String = "OR", enabled: Expression = true, count: Expression? = nil, _ context: TerraformContext
    ) -> Block {
        let topology = context.topology
        let title = AlertCatalog.title(kind, topology, service: service)
        return TF.resource("google_monitoring_alert_policy", label) {
            if let count { Attribute("count", count) }
            Attribute("display_name", .string(title))
            Attribute("combiner", .string(combiner))
            Attribute("enabled", enabled)
            Attribute("severity", .string(topology.monitoring.severity(kind).rawValue))
            Attribute("notification_channels", .list(channels(context)))
            Attribute(
                "user_labels",
                .object([ObjectItem("alert", .string(kind.rawValue)), ObjectItem("topology", .string(topology.name))]))
            for (index, block) in ([condition] + more).enumerated() {
                Block("conditions") {
                    Attribute(
                        "display_name", .string(([condition] + more).count == 1 ? title : "\(title) (\(index + 1))"))
                    block
                }
            }
            Block("alert_strategy") {
                Attribute("auto_close", .string("\(topology.monitoring.autoCloseSeconds)s"))
            }
            Block("documentation") {
                Attribute("content", .string(AlertCatalog.documentation(kind, topology)))
                Attribute("mime_type", "text/markdown")
            }
            TF.dependsOn([context.api("monitoring")])
        }
    }

    /// `/healthz` through the load balancer from the model's checker regions, and an alert when more than one
    /// region fails: one checker's own trouble is not an outage.
    static func uptime(_ context: TerraformContext) -> [Block] {
        guard let lb = context.topology.loadBalancer, let host = lb.domains.first else { return [] }
        let check = TF.resource("google_monitoring_uptime_check_config", "healthz") {
            Attribute("display_name", .string(context.names.uptimeCheck))
            // 60 s is the shortest period the API takes; one try from each region per period.
            Attribute("period", "60s")
            Attribute("timeout", "10s")
            Attribute("selected_regions", TF.strings(context.topology.monitoring.uptimeRegions))
            Block("http_check") {
                Attribute("path", "/healthz")
                Attribute("port", 443)
                Attribute("use_ssl", true)
                Attribute("validate_ssl", true)
            }
            Block("monitored_resource") {
                Attribute("type", "uptime_url")
                Attribute(
                    "labels",
                    .object([ObjectItem("project_id", TF.variable("project_id")), ObjectItem("host", .string(host))]))
            }
            Block("content_matchers") {
                Attribute("content", "ok")
                Attribute("matcher", "CONTAINS_STRING")
            }
            TF.dependsOn([context.api("monitoring")])
        }
        let checkID = TF.ref("google_monitoring_uptime_check_config", "healthz", "uptime_check_id")
        let alert = policy(
            .uptimeFailing, label: "uptime_healthz",
            condition: Block("condition_threshold") {
                Attribute(
                    "filter",
                    .template([
                        .literal(
                            "metric.type = \"\(GoogleMetric.uptimeCheckPassed.rawValue)\" AND resource.type = \"uptime_url\" "
                                + "AND metric.labels.check_id = \""),
                        .interpolation(checkID), .literal("\""),
                    ]))
                Attribute("comparison", "COMPARISON_GT")
                // More than one checker region failing: one region's own trouble is not an outage.
                Attribute("threshold_value", 1)
                Attribute("duration", "60s")
                Block("aggregations") {
                    Attribute("alignment_period", "1200s")
                    Attribute("per_series_aligner", "ALIGN_NEXT_OLDER")
                    Attribute("cross_series_reducer", "REDUCE_COUNT_FALSE")
                    Attribute("group_by_fields", TF.strings(["resource.labels.host"]))
                }
            }, enabled: TF.variable(edgeServingVariable), context)
        return [check, alert]
    }

    /// Connection refusals by reason from the server's audit lines (`ConnectionAudit`): the token's own reason
    /// (expired, wrong audience...) is only there; `realtime_connects_total` counts the refusals by kind. Thinned
    /// by `AUDIT_SAMPLE_RATE` like the lines themselves.
    static func refusalsLogMetric(_ context: TerraformContext) -> Block {
        TF.resource("google_logging_metric", "connection_refusals") {
            Attribute("name", .string(context.names.refusalsLogMetric))
            Attribute("filter", .string(RefusalsLogMetric.filter(context.topology)))
            Attribute("label_extractors", .object([ObjectItem("reason", "EXTRACT(jsonPayload.reason)")]))
            Block("metric_descriptor") {
                Attribute("metric_kind", "DELTA")
                Attribute("value_type", "INT64")
                Block("labels") {
                    Attribute("key", "reason")
                    Attribute("value_type", "STRING")
                    Attribute("description", .string(RefusalsLogMetric.labelDescription))
                }
            }
            TF.dependsOn([context.api("logging")])
        }
    }

    /// A JSON tree as the HCL object `jsonencode` turns back into it (numbers, strings, lists and objects only).
    static func hcl(_ value: JSONValue) -> Expression {
        switch value {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .number(let number):
            return number == number.rounded() && abs(number) < 1e15 ? .int(Int(number)) : .double(number)
        case .string(let text): return .string(text)
        case .array(let items): return .list(items.map(hcl))
        case .object(let members): return .object(members.map { ObjectItem($0.key, hcl($0.value)) })
        case .binary: return .null
        }
    }
}
