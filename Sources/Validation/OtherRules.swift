import Diagnostics
import TopologyModel

/// TFC06xx: the Firebase Realtime Database fallback.
enum FirebaseRules {
    static func check(_ topology: Topology, _ report: inout Report) {
        guard let firebase = topology.firebase, firebase.enabled else { return }
        if !GCPFacts.rtdbLocations.contains(firebase.location) {
            report.error(
                "TFC0601", "firebase.location",
                "Realtime Database is not offered in '\(firebase.location)'",
                help: "use one of \(GCPFacts.rtdbLocations.joined(separator: ", "))")
        }
        let id = topology.names.firebaseDatabase
        let derived = firebase.instanceID == nil
        // A derived id from an invalid project or name is already reported by TFC0101 / TFC0102.
        if derived, !ProjectRules.validProject(topology.project) || !ProjectRules.validName(topology.name) { return }
        if !(6...63).contains(id.count) || !Names.isRFC1035(id, maxLength: 63) {
            report.error(
                "TFC0602", topology.firebase?.instanceID == nil ? "project" : "firebase.instance_id",
                "invalid Realtime Database instance id '\(id)'",
                help: "6 to 63 lowercase letters, digits and hyphens, starting with a letter")
        }
        if Self.defaultDatabases(topology.project).contains(id) {
            report.error(
                "TFC0603", derived ? "name" : "firebase.instance_id",
                "'\(id)' is the project's default Realtime Database, which the project's apps share",
                help: derived
                    ? "rename the topology, or set firebase.instance_id to a database of the fallback's own"
                    : "leave instance_id out (tfctl derives a database of the fallback's own) or name a new one")
        }
    }

    /// The database Firebase creates for a project's apps, whose rules any app's `firebase deploy` replaces:
    /// `<project>-default-rtdb`, or `<project>` in projects older than that naming.
    static func defaultDatabases(_ project: String) -> [String] { [project + "-default-rtdb", project] }
}

/// TFC07xx: observability: notification channels, the server's metrics, alert thresholds, uptime checks, SLOs.
enum MonitoringRules {
    static func check(_ topology: Topology, _ report: inout Report) {
        let monitoring = topology.monitoring
        if monitoring.emails.isEmpty, monitoring.channels.isEmpty {
            report.warning(
                "TFC0703", "monitoring", "alert policies notify nobody",
                help: "add `monitoring: { emails: [oncall@example.com] }` or an existing channel under `channels`")
        }
        for (index, email) in monitoring.emails.enumerated() where !isEmail(email) {
            report.error("TFC0701", "monitoring.emails[\(index)]", "'\(email)' is not an email address")
        }
        for (index, channel) in monitoring.channels.enumerated() where !isChannel(channel) {
            report.error(
                "TFC0704", "monitoring.channels[\(index)]", "'\(channel)' is not a notification channel's name",
                help: "write projects/PROJECT/notificationChannels/ID (gcloud beta monitoring channels list)")
        }
        thresholds(monitoring.alerts, &report)
        if !(10...300).contains(monitoring.scrapeIntervalSeconds) {
            report.error(
                "TFC0705", "monitoring.scrape_interval",
                "scrape interval \(monitoring.scrapeIntervalSeconds)s is outside 10s to 300s",
                help: "30s is the sidecar's default; every scrape is billed per sample")
        }
        if !(GCPFacts.autoCloseSeconds).contains(monitoring.autoCloseSeconds) {
            report.error(
                "TFC0706", "monitoring.auto_close",
                "auto_close \(monitoring.autoCloseSeconds)s is outside what Cloud Monitoring accepts",
                help: "between 30m and 168h (7 days)")
        }
        let unknown = monitoring.uptimeRegions.filter { !GCPFacts.uptimeRegions.contains($0) }
        if !unknown.isEmpty {
            report.error(
                "TFC0707", "monitoring.uptime_regions", "unknown uptime checker region '\(unknown[0])'",
                help: "use \(GCPFacts.uptimeRegions.sorted().joined(separator: ", "))")
        } else if Set(monitoring.uptimeRegions).count < 3 {
            report.error(
                "TFC0707", "monitoring.uptime_regions",
                "an uptime check needs at least 3 checker regions, not \(Set(monitoring.uptimeRegions).count)",
                help: "e.g. [USA, EUROPE, ASIA_PACIFIC]")
        }
        objectives(monitoring.objectives, &report)
        if !monitoring.prometheus, topology.services.contains(where: { $0.image == .bundled }) {
            let off = AlertKind.allCases.filter(\.needsServerMetrics).map(\.rawValue)
            report.warning(
                "TFC0709", "monitoring.prometheus",
                "the server's own metrics stay on each instance: the alerts \(off.joined(separator: ", ")) and both "
                    + "SLOs are not rendered",
                help: "leave `prometheus: true` (the default) unless another collector sends them")
        }
    }

    private static func thresholds(_ alerts: AlertThresholds, _ report: inout Report) {
        let ratios = [
            ("instance_utilization", alerts.instanceUtilization),
            ("redis_memory_utilization", alerts.redisMemoryUtilization),
            ("connection_utilization", alerts.connectionUtilization),
        ]
        for (key, value) in ratios where !(value > 0 && value <= 1) {
            report.error(
                "TFC0702", "monitoring.alerts.\(key)",
                "threshold \(formatted(value)) is not a fraction above 0 and at most 1")
        }
        let counts = [
            ("server_errors_per_minute", alerts.serverErrorsPerMinute),
            ("cluster_drops_per_minute", alerts.clusterDropsPerMinute),
            ("slow_consumer_drops_per_minute", alerts.slowConsumerDropsPerMinute),
            ("refusals_per_minute", alerts.refusalsPerMinute),
        ]
        for (key, value) in counts where value < 1 {
            report.error("TFC0702", "monitoring.alerts.\(key)", "threshold \(value) is below 1")
        }
        // An alert condition's duration is at most a day (the API's limit for `duration`).
        if !(1...1440).contains(alerts.redisDisconnectedMinutes) {
            report.error(
                "TFC0702", "monitoring.alerts.redis_disconnected_minutes",
                "\(alerts.redisDisconnectedMinutes) minutes is outside 1 to 1440")
        }
    }

    private static func objectives(_ slo: ServiceLevelObjectives, _ report: inout Report) {
        for (key, value) in [
            ("handshake_availability", slo.handshakeAvailability), ("delivery_latency", slo.deliveryLatency),
        ] where !(value > 0 && value <= 0.999) {
            // The API takes a goal above 0 and at most 0.999 (`google_monitoring_slo.goal`); 1 would leave no
            // error budget to burn.
            report.error(
                "TFC0708", "monitoring.slo.\(key)", "SLO goal \(formatted(value)) is not above 0 and at most 0.999",
                help: "e.g. 0.999 or 0.99")
        }
        if !ServiceLevelObjectives.latencyBuckets.contains(slo.deliveryLatencyMilliseconds) {
            report.error(
                "TFC0708", "monitoring.slo.delivery_latency_threshold",
                "\(slo.deliveryLatencyMilliseconds)ms is not a bucket bound of the server's latency histogram",
                help: "a latency SLO counts whole buckets: use "
                    + ServiceLevelObjectives.latencyBuckets.map { "\($0)ms" }.joined(separator: ", "))
        }
        if !(1...30).contains(slo.windowDays) {
            report.error(
                "TFC0708", "monitoring.slo.window_days", "an SLO window of \(slo.windowDays) days is outside 1 to 30")
        }
    }

    /// `projects/PROJECT/notificationChannels/ID`, the name Cloud Monitoring gives a channel.
    static func isChannel(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "projects" && ProjectRules.validProject(String(parts[1]))
            && parts[2] == "notificationChannels" && !parts[3].isEmpty && parts[3].allSatisfy(\.isNumber)
    }

    static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !text.contains(where: { $0.isWhitespace }) else { return false }
        return LoadBalancerRules.isDomain(String(parts[1]))
    }
}

/// TFC08xx: the declared peak load against the scaling limits.
enum CapacityRules {
    static func check(_ topology: Topology, _ report: inout Report) {
        guard let capacity = topology.capacity, !topology.regions.isEmpty else { return }
        if capacity.peakConnections < 0 || capacity.peakMessagesPerSecond < 0 {
            report.error(
                "TFC0803",
                capacity.peakConnections < 0 ? "capacity.peak_connections" : "capacity.peak_messages_per_second",
                "declared peaks cannot be negative")
            return
        }
        guard capacity.headroom.isFinite, (0...10).contains(capacity.headroom) else {
            report.error(
                "TFC0803", "capacity.headroom", "headroom \(formatted(capacity.headroom)) is outside 0 to 10",
                help: "0.25 asks for room for 125 % of the peak")
            return
        }
        let perRegion = saturatingSum(
            topology.services.map { saturatingProduct(max(0, $0.maxInstances), max(0, $0.concurrency)) })
        let regions = Set(topology.regions).count
        let total = saturatingProduct(perRegion, regions)
        let required = capacity.requiredConnections
        let breakdown = topology.sortedServices
            .map { "\($0.name): \($0.maxInstances) max instances × \($0.concurrency) concurrency" }
            .joined(separator: " + ")
        if total < required {
            let headroom = Int((capacity.headroom * 100).rounded())
            report.error(
                "TFC0801", "capacity.peak_connections",
                "the services hold at most \(total) connections, the declared peak needs \(required)",
                notes: [
                    "(\(breakdown)) × \(regions) region\(regions == 1 ? "" : "s") = \(total)",
                    "\(capacity.peakConnections) peak + \(headroom)% headroom = \(required)",
                ],
                help: "raise max_instances to at least \(neededInstances(topology, required, regions))")
        } else if regions > 1, saturatingProduct(perRegion, regions - 1) < capacity.peakConnections {
            report.warning(
                "TFC0802", "capacity.peak_connections",
                "if one region fails, the other \(regions - 1) hold \(saturatingProduct(perRegion, regions - 1)) connections, "
                    + "below the peak of \(capacity.peakConnections)",
                help: "raise max_instances to at least "
                    + "\(neededInstances(topology, capacity.peakConnections, regions - 1))")
        }
    }

    /// The max_instances that every service would need, at its concurrency, for `connections` over `regions`.
    private static func neededInstances(_ topology: Topology, _ connections: Int, _ regions: Int) -> Int {
        let concurrency = saturatingSum(topology.services.map { max(1, $0.concurrency) })
        let perRegion = connections / max(1, regions) + (connections % max(1, regions) == 0 ? 0 : 1)
        return perRegion / concurrency + (perRegion % concurrency == 0 ? 0 : 1)
    }
}
