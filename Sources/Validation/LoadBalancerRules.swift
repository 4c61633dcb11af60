import Diagnostics
import TopologyModel

/// TFC05xx: the global load balancer with serverless NEG backends.
enum LoadBalancerRules {
    static func check(_ topology: Topology, _ report: inout Report) {
        checkDerivedNames(topology, &report)
        guard let lb = topology.loadBalancer else { return }
        if let timeout = lb.backendTimeoutSeconds {
            report.error(
                "TFC0501", "load_balancer.backend_timeout",
                "backend timeout \(timeout)s is not supported with serverless NEG backends",
                notes: ["the load balancer's timeout for serverless NEGs is a fixed 60 minutes"],
                help: "remove it; the WebSocket lifetime is the Cloud Run service's `timeout`")
        }
        if let affinity = lb.sessionAffinity, affinity.uppercased() != "NONE" {
            report.error(
                "TFC0502", "load_balancer.session_affinity",
                "load-balancer session affinity '\(affinity)' is not supported with serverless NEG backends",
                help: "remove it and use `session_affinity: true` on the service")
        }
        if lb.healthCheckPath != nil {
            report.error(
                "TFC0503", "load_balancer.health_check",
                "backend services with serverless NEGs take no health check",
                help: "remove it; the service's `probes` check health")
        }
        checkDomains(lb.domains, "load_balancer.domains", &report)
        EdgeSecurityRules.check(lb, topology, &report)
        if lb.adminSourceRanges.count > AdminPaths.maxSourceRanges {
            report.error(
                "TFC0511", "load_balancer.admin_source_ranges",
                "\(lb.adminSourceRanges.count) admin source ranges: Cloud Armor's rule takes at most "
                    + "\(AdminPaths.maxSourceRanges)",
                help: "a rule's expression has at most five subexpressions, one of them the path: merge ranges, or "
                    + "reach the admin paths from inside the VPC")
        }
        if lb.tls.minVersion != .tls12 || lb.tls.profile == .compatible {
            report.warning(
                "TFC0510", "load_balancer.tls",
                "the load balancer accepts TLS \(lb.tls.minVersion.rawValue) with the \(lb.tls.profile.rawValue) profile",
                help: "TLS 1.0 and 1.1 are deprecated (RFC 8996) and COMPATIBLE keeps ciphers without forward secrecy; "
                    + "use { profile: modern, min_version: 1.2 } unless old clients must connect")
        }
        if !lb.previousDomains.isEmpty {
            checkDomains(lb.previousDomains, "load_balancer.previous_domains", &report)
            if Set(lb.previousDomains.map { $0.lowercased() }) == Set(lb.domains.map { $0.lowercased() }) {
                report.error(
                    "TFC0509", "load_balancer.previous_domains",
                    "previous_domains are the certificate's current domains: there is nothing to switch from",
                    help: "list the domains of the certificate being replaced, or remove previous_domains")
            }
        }
        if let limit = lb.rateLimit, let ban = limit.banSeconds, ban > 0, limit.requests > 0, limit.key == .ip {
            report.warning(
                "TFC0512", "load_balancer.rate_limit.ban_seconds",
                "clients over \(limit.requests) requests per \(limit.intervalSeconds)s are banned for \(ban)s by IP: "
                    + "everyone behind one NAT shares it",
                notes: [
                    "a Socket.IO client that reconnects makes about 4 requests (polling handshake, connect, poll, "
                        + "upgrade): after a deploy, \(limit.requests / 4) clients behind one office address use the "
                        + "whole limit at once"
                ],
                help: "throttle instead (remove ban_seconds), or count per header or cookie (key: header:NAME)")
        }
        if let limit = lb.rateLimit {
            if !GCPFacts.armorIntervals.contains(limit.intervalSeconds) {
                let nearest = GCPFacts.armorIntervals.min {
                    abs($0 - limit.intervalSeconds) < abs($1 - limit.intervalSeconds)
                }!
                report.error(
                    "TFC0506", "load_balancer.rate_limit.interval_seconds",
                    "Cloud Armor does not count over \(limit.intervalSeconds)s intervals",
                    help: "use one of \(GCPFacts.armorIntervals.map(String.init).joined(separator: ", ")) "
                        + "(nearest: \(nearest))")
            }
            if limit.requests < 1 {
                report.error(
                    "TFC0506", "load_balancer.rate_limit.requests",
                    "rate limit of \(limit.requests) requests is below 1")
            }
            if let ban = limit.banSeconds, ban < 1 {
                report.error(
                    "TFC0506", "load_balancer.rate_limit.ban_seconds", "ban of \(ban)s is below 1s",
                    help: "remove `ban_seconds` to throttle without banning")
            }
        }
        if !(0...1).contains(lb.logSampleRate) {
            report.error(
                "TFC0507", "load_balancer.log_sample_rate",
                "log sample rate \(formatted(lb.logSampleRate)) is outside 0 to 1")
        }
    }

    private static func checkDomains(_ domains: [String], _ key: String, _ report: inout Report) {
        if domains.isEmpty || domains.count > 100 {
            report.error(
                "TFC0505", key, "a managed certificate covers 1 to 100 domains, \(domains.count) given")
        }
        var seen: Set<String> = []
        for (index, domain) in domains.enumerated() {
            let path = "\(key)[\(index)]"
            if !seen.insert(domain.lowercased()).inserted {
                report.error("TFC0505", path, "domain '\(domain)' is listed twice")
            } else if !isDomain(domain) {
                report.error(
                    "TFC0504", path, "'\(domain)' is not a valid certificate domain",
                    help: domain.hasPrefix("*.")
                        ? "managed certificates do not cover wildcards"
                        : "use a fully qualified name such as realtime.example.com")
            }
        }
    }

    static func isDomain(_ domain: String) -> Bool {
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, domain.count <= 253 else { return false }
        return labels.allSatisfy { label in
            guard (1...63).contains(label.count), label.first != "-", label.last != "-" else { return false }
            return label.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "-" }
        } && labels.last!.allSatisfy(\.isASCIILetter)
    }

    /// Every derived Compute Engine name must be a valid RFC 1035 name of at most 63 characters.
    private static func checkDerivedNames(_ topology: Topology, _ report: inout Report) {
        // Names built from an invalid topology or service name are already reported by their own rule.
        var reported: Set<String> = ProjectRules.validName(topology.name) ? [] : ["name", "regions"]
        for service in topology.services where !CloudRunRules.validName(service.name) {
            reported.insert("services.\(service.name)")
        }
        for (name, origin) in topology.names.computeNames where !Names.isRFC1035(name, maxLength: 63) {
            guard reported.insert(origin).inserted else { continue }
            report.keyError(
                "TFC0508", origin, "derived resource name '\(name)' is invalid (\(name.count) characters)",
                help: "shorten the topology or service name")
        }
    }
}
