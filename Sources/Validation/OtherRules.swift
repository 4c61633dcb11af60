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
    }
}

/// TFC07xx: alerting.
enum MonitoringRules {
    static func check(_ topology: Topology, _ report: inout Report) {
        let monitoring = topology.monitoring
        if monitoring.emails.isEmpty {
            report.warning(
                "TFC0703", "monitoring", "alert policies notify nobody",
                help: "add `monitoring: { emails: [oncall@example.com] }`")
        }
        for (index, email) in monitoring.emails.enumerated() where !isEmail(email) {
            report.error("TFC0701", "monitoring.emails[\(index)]", "'\(email)' is not an email address")
        }
        let ratios = [
            ("monitoring.alerts.instance_utilization", monitoring.instanceUtilization),
            ("monitoring.alerts.redis_memory_utilization", monitoring.redisMemoryUtilization),
        ]
        for (path, value) in ratios where !(value > 0 && value <= 1) {
            report.error("TFC0702", path, "threshold \(formatted(value)) is not a fraction above 0 and at most 1")
        }
        if monitoring.serverErrorsPerMinute < 1 {
            report.error(
                "TFC0702", "monitoring.alerts.server_errors_per_minute",
                "threshold \(monitoring.serverErrorsPerMinute) is below 1")
        }
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
