import Diagnostics
import EngineIO
import TopologyModel

/// TFC0513-TFC0515: the Cloud Armor WAF rules, and the rate limit against the traffic `capacity` declares.
enum EdgeSecurityRules {
    static func check(_ lb: LoadBalancer, _ topology: Topology, _ report: inout Report) {
        let waf = lb.waf
        if !WebApplicationFirewall.sensitivities.contains(waf.sensitivity) {
            report.error(
                "TFC0513", "load_balancer.waf.sensitivity",
                "WAF sensitivity \(waf.sensitivity) is outside 0 to 4",
                help: "1 (the default) turns on the signatures least likely to misfire; 0 renders no WAF rule")
        }
        var seen: Set<WebApplicationFirewall.RuleSet> = []
        for (index, set) in waf.ruleSets.enumerated() where !seen.insert(set).inserted {
            report.error(
                "TFC0514", "load_balancer.waf.rule_sets[\(index)]", "WAF rule set '\(set.rawValue)' is listed twice",
                help: "each rule set is one Cloud Armor rule: list it once")
        }
        if let limit = lb.rateLimit, let capacity = topology.capacity {
            checkRateLimit(limit, capacity, &report)
        }
    }

    /// A Socket.IO client whose WebSocket a proxy blocks stays on long-polling, where every packet is a request:
    /// the four of its (re)connection (handshake, CONNECT, first poll, upgrade attempt), per ping interval a PONG
    /// (a POST) and the poll the PING completed (a GET), and per message it receives the poll that message
    /// completed. The declared capacity gives each connection its share of the peak message rate. When one such
    /// client needs more requests per interval than the limit allows, every polling client is throttled at peak.
    private static func checkRateLimit(_ limit: RateLimit, _ capacity: Capacity, _ report: inout Report) {
        guard limit.requests > 0, limit.intervalSeconds > 0, capacity.peakConnections > 0,
            capacity.peakMessagesPerSecond >= 0
        else { return }
        let interval = Double(limit.intervalSeconds)
        let perConnection = Double(capacity.peakMessagesPerSecond) / Double(capacity.peakConnections)
        let messages = perConnection * interval
        let heartbeats = 2 * interval / Double(EngineIODefaults.pingIntervalSeconds)
        let total = (Double(EngineIODefaults.connectionRequests) + heartbeats + messages).rounded(.up)
        guard total > Double(limit.requests) else { return }
        let perClient = total >= Double(Int.max) ? Int.max : Int(total)
        report.warning(
            "TFC0515", "load_balancer.rate_limit.requests",
            "at the declared peak a long-polling client makes \(perClient) requests per \(limit.intervalSeconds)s, "
                + "over the limit of \(limit.requests) per \(limit.key.description)",
            notes: [
                "\(capacity.peakMessagesPerSecond) messages/s ÷ \(capacity.peakConnections) connections × "
                    + "\(limit.intervalSeconds)s = \(formatted(messages)) polls completed by messages",
                "+ 2 × \(limit.intervalSeconds)s ÷ \(EngineIODefaults.pingIntervalSeconds)s ping interval = "
                    + "\(formatted(heartbeats)) (a PONG and a poll per ping) + \(EngineIODefaults.connectionRequests) "
                    + "to connect = \(perClient)",
            ],
            help: "raise rate_limit.requests to at least \(perClient)"
                + (limit.key == .ip || limit.key == .forwardedIP
                    ? " times the polling clients one address may hold (an office behind a NAT)" : ""))
    }
}

/// The Engine.IO defaults the reference server and the Socket.IO clients use.
enum EngineIODefaults {
    /// pingInterval, in seconds: the server's own default (`PING_INTERVAL_MS` unset).
    static let pingIntervalSeconds = EngineConfiguration.defaultPingInterval / 1000
    /// Requests of one (re)connection: the polling handshake, the CONNECT, the first poll, the upgrade.
    static let connectionRequests = 4
}
