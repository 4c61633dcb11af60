import HCL
import TopologyModel

/// The Firebase Realtime Database fallback (google-beta only).
enum Firebase {
    static let database = "fallback"

    static func blocks(_ context: TerraformContext) -> [Block] {
        guard let firebase = context.topology.firebase, firebase.enabled else { return [] }
        return [
            TF.resource("google_firebase_project", "default") {
                Attribute("provider", .ref("google-beta"))
                Attribute("project", TF.variable("project_id"))
                TF.dependsOn([context.api("firebase")])
            },
            TF.resource("google_firebase_database_instance", database) {
                Attribute("provider", .ref("google-beta"))
                Attribute("project", TF.ref("google_firebase_project", "default", "project"))
                Attribute("region", .string(firebase.location))
                Attribute("instance_id", .string(context.names.firebaseDatabase))
                Attribute("type", "USER_DATABASE")
                Attribute("desired_state", "ACTIVE")
                TF.dependsOn([context.api("firebasedatabase")])
            },
        ]
    }
}

/// Email notification channels and the alert policies a real-time topology needs.
enum MonitoringBlocks {
    static func blocks(_ context: TerraformContext) -> [Block] {
        let monitoring = context.topology.monitoring
        var blocks: [Block] = []
        var channels: [Expression] = []
        for (index, email) in monitoring.emails.enumerated() {
            let label = "email_\(index)"
            channels.append(TF.ref("google_monitoring_notification_channel", label, "id"))
            blocks.append(
                TF.resource("google_monitoring_notification_channel", label) {
                    Attribute("display_name", .string("\(context.topology.name) on-call: \(email)"))
                    Attribute("type", "email")
                    Attribute("labels", .object([ObjectItem("email_address", .string(email))]))
                    TF.dependsOn([context.api("monitoring")])
                })
        }
        for service in context.services {
            let threshold = instanceThreshold(service.maxInstances, monitoring.instanceUtilization)
            blocks.append(
                policy(
                    label: TF.label(service.name, "instances"),
                    title: "\(service.name): instances near max_instances",
                    filter: cloudRunFilter(service, metric: "run.googleapis.com/container/instance_count"),
                    aligner: "ALIGN_MAX", threshold: .int(threshold),
                    // The limit tfctl sets is the revision's (`template.scaling`): each revision is held against
                    // it, so a revision that is still draining does not add its instances to the new one's.
                    groupBy: ["resource.labels.location", "resource.labels.revision_name"],
                    documentation:
                        "More than \(threshold) of \(service.maxInstances) instances in a region: new WebSocket "
                        + "connections will soon be refused. Raise max_instances in the environment file.",
                    channels: channels, context: context))
            blocks.append(
                policy(
                    label: TF.label(service.name, "server_errors"),
                    title: "\(service.name): 5xx responses",
                    filter: cloudRunFilter(service, metric: "run.googleapis.com/request_count")
                        + " AND metric.labels.response_code_class = \"5xx\"",
                    aligner: "ALIGN_DELTA", threshold: .int(monitoring.serverErrorsPerMinute),
                    documentation:
                        "More than \(monitoring.serverErrorsPerMinute) 5xx responses per minute in a region.",
                    channels: channels, context: context))
        }
        if context.topology.loadBalancer != nil {
            // The load balancer's own 502/503/504 (no healthy backend, a region failing over, its timeout) never
            // reach Cloud Run's request count.
            blocks.append(
                policy(
                    label: "load_balancer_server_errors",
                    title: "\(context.topology.name): load balancer 5xx responses",
                    filter:
                        "resource.type = \"https_lb_rule\" AND resource.labels.url_map_name = \"\(context.names.urlMap)\" "
                        + "AND metric.type = \"loadbalancing.googleapis.com/https/request_count\" "
                        + "AND metric.labels.response_code_class = 500",
                    aligner: "ALIGN_DELTA", threshold: .int(monitoring.serverErrorsPerMinute),
                    groupBy: ["resource.labels.url_map_name"],
                    documentation:
                        "More than \(monitoring.serverErrorsPerMinute) 5xx responses per minute from the load "
                        + "balancer, its own included (no backend could answer).",
                    channels: channels, context: context))
        }
        if context.topology.memorystore != nil {
            blocks.append(
                policy(
                    label: "redis_memory",
                    title: "\(context.topology.name): Redis memory usage",
                    // Only this topology's instances, not every Memorystore instance in the project (`instance_id`
                    // is the instance's resource name, projects/P/locations/R/instances/NAME), by their name's
                    // prefix rather than a list, so that adding a region leaves the policy alone.
                    filter:
                        "resource.type = \"redis_instance\" AND metric.type = \"redis.googleapis.com/stats/memory/usage_ratio\" "
                        + "AND resource.labels.instance_id = monitoring.regex.full_match(\"(.*/)?"
                        + context.names.redisInstance("") + "[a-z0-9-]+\")",
                    // Per instance: a ratio summed over three instances at 30 % would fire at 90 %.
                    aligner: "ALIGN_MAX", threshold: .double(monitoring.redisMemoryUtilization),
                    reducer: "REDUCE_MAX", groupBy: ["resource.labels.instance_id"],
                    documentation:
                        "A Memorystore instance is above \(Int(monitoring.redisMemoryUtilization * 100))% of its "
                        + "memory: pub/sub buffers and presence keys may be evicted. Raise memorystore.memory_gb.",
                    channels: channels, context: context))
        }
        return blocks
    }

    /// The instance count that triggers the alert; at least 1, computed without trapping on any input.
    static func instanceThreshold(_ maxInstances: Int, _ ratio: Double) -> Int {
        let value = (Double(maxInstances) * ratio).rounded(.down)
        guard value.isFinite, value >= 1 else { return 1 }
        return value >= Double(Int.max / 2) ? Int.max / 2 : Int(value)
    }

    private static func cloudRunFilter(_ service: RealtimeService, metric: String) -> String {
        "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"\(service.name)\" "
            + "AND metric.type = \"\(metric)\""
    }

    private static func policy(
        label: String, title: String, filter: String, aligner: String, threshold: Expression,
        reducer: String = "REDUCE_SUM", groupBy: [String] = ["resource.labels.location"],
        documentation: String, channels: [Expression], context: TerraformContext
    ) -> Block {
        TF.resource("google_monitoring_alert_policy", label) {
            Attribute("display_name", .string(title))
            Attribute("combiner", "OR")
            Attribute("enabled", true)
            Attribute("notification_channels", .list(channels))
            Block("conditions") {
                Attribute("display_name", .string(title))
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
            Block("documentation") {
                Attribute("content", .string(documentation))
                Attribute("mime_type", "text/markdown")
            }
            TF.dependsOn([context.api("monitoring")])
        }
    }
}

/// What operators need after apply: where to point DNS, where each region's service and Redis live.
enum Outputs {
    static func blocks(_ context: TerraformContext) -> [Block] {
        var blocks: [Block] = []
        if context.topology.loadBalancer != nil {
            blocks.append(
                Block("output", "load_balancer_ip") {
                    Attribute("description", "Point the certificate's domains (A records) at this address.")
                    Attribute("value", TF.ref("google_compute_global_address", "load_balancer", "address"))
                })
        }
        for service in context.services {
            blocks.append(
                Block("output", TF.label(service.name, "urls")) {
                    Attribute("description", .string("Cloud Run URL of '\(service.name)' by region."))
                    Attribute(
                        "value",
                        .object(
                            context.regions.map { region in
                                ObjectItem(
                                    region,
                                    TF.ref("google_cloud_run_v2_service", CloudRun.label(service, region), "uri"))
                            }))
                })
        }
        if context.topology.memorystore != nil {
            blocks.append(
                Block("output", "redis_hosts") {
                    Attribute("description", "Memorystore host by region.")
                    Attribute(
                        "value",
                        .object(
                            context.regions.map { region in
                                ObjectItem(
                                    region, TF.ref("google_redis_instance", MemorystoreBlocks.instance(region), "host"))
                            }))
                })
        }
        if context.topology.firebaseEnabled {
            blocks.append(
                Block("output", "firebase_database_url") {
                    Attribute("description", "URL of the Realtime Database fallback.")
                    Attribute("value", TF.ref("google_firebase_database_instance", Firebase.database, "database_url"))
                })
        }
        return blocks
    }
}
