import Diagnostics
import TopologyModel

/// Decodes the merged tree of an environment into a `Topology`. The key names are the environment file
/// contract documented in README.md: add keys freely, never rename one.
struct TopologyDecoder {
    let context: DecodingContext

    static let rootKeys = [
        "project", "name", "regions", "labels", "network", "services", "memorystore", "load_balancer", "firebase",
        "monitoring", "capacity", "state",
    ]

    func decode(_ tree: SourceNode) -> Topology? {
        guard let root = ObjectReader(tree, path: "", keys: Self.rootKeys, context: context) else { return nil }
        let project = root.required("project", .string)
        let name = root.required("name", .string)
        let regions = root.list("regions", .string)
        if root.node("regions") == nil { root.missing("regions", help: "list at least one region: [us-central1]") }
        let labels = root.stringMap("labels") ?? []
        let network = root.object("network", keys: NetworkDecoder.keys).map {
            NetworkDecoder(context: context).decode($0)
        }
        let services = decodeServices(root)
        let memorystore = root.object("memorystore", keys: MemorystoreDecoder.keys).map {
            MemorystoreDecoder().decode($0)
        }
        let loadBalancer = root.object("load_balancer", keys: LoadBalancerDecoder.keys).flatMap {
            LoadBalancerDecoder().decode($0)
        }
        let firebase = root.object("firebase", keys: ["enabled", "location", "instance_id"]).map { reader in
            FirebaseFallback(
                enabled: reader.decode("enabled", .bool) ?? true,
                location: reader.decode("location", .string) ?? "us-central1",
                instanceID: reader.decode("instance_id", .string))
        }
        let monitoring = root.object("monitoring", keys: Self.monitoringKeys).map(decodeMonitoring) ?? Monitoring()
        let capacity = root.object("capacity", keys: ["peak_connections", "peak_messages_per_second", "headroom"])
            .flatMap(decodeCapacity)

        let state = root.object("state", keys: ["bucket", "prefix"]).flatMap { reader -> TerraformState? in
            guard let bucket = reader.required("bucket", .string) else { return nil }
            return TerraformState(
                bucket: bucket, prefix: reader.decode("prefix", .string) ?? "tfctl/\(name ?? "topology")")
        }

        guard let project, let name, let regions, let services, !context.diagnostics.hasErrors else { return nil }
        return Topology(
            project: project, name: name, regions: regions,
            labels: Dictionary(labels, uniquingKeysWith: { _, last in last }),
            network: network ?? Network(), services: services, memorystore: memorystore,
            loadBalancer: loadBalancer, firebase: firebase, monitoring: monitoring, capacity: capacity, state: state)
    }

    private func decodeServices(_ root: ObjectReader) -> [RealtimeService]? {
        guard root.node("services") != nil else {
            root.missing(
                "services", help: "declare at least one service, e.g. `services: { realtime: { image: bundled } }`")
            return nil
        }
        guard let entries = root.namedEntries("services") else { return nil }
        if entries.isEmpty {
            context.error(
                "TFC0004", "`services` declares no service", at: root.node("services")?.location,
                path: "services", help: "declare at least one service")
        }
        return entries.compactMap { entry in
            ObjectReader(entry.value, path: "services.\(entry.key)", keys: ServiceDecoder.keys, context: context)
                .map { ServiceDecoder(context: context).decode(name: entry.key, $0) }
        }
    }

    static let monitoringKeys = [
        "emails", "channels", "prometheus", "scrape_interval", "auto_close", "uptime_regions", "severity", "alerts",
        "slo",
    ]

    private func decodeMonitoring(_ reader: ObjectReader) -> Monitoring {
        var monitoring = Monitoring(
            emails: reader.list("emails", .string) ?? [], channels: reader.list("channels", .string) ?? [])
        monitoring.prometheus = reader.decode("prometheus", .bool) ?? monitoring.prometheus
        monitoring.scrapeIntervalSeconds =
            reader.decode("scrape_interval", .duration) ?? monitoring.scrapeIntervalSeconds
        monitoring.autoCloseSeconds = reader.decode("auto_close", .duration) ?? monitoring.autoCloseSeconds
        monitoring.uptimeRegions = reader.list("uptime_regions", .string) ?? monitoring.uptimeRegions
        if let severities = reader.object("severity", keys: AlertKind.allCases.map(\.rawValue)) {
            for kind in AlertKind.allCases {
                if let severity = severities.decode(kind.rawValue, .choice("severity")) as Monitoring.Severity? {
                    monitoring.severities[kind] = severity
                }
            }
        }
        let alertKeys = [
            "instance_utilization", "redis_memory_utilization", "server_errors_per_minute",
            "redis_disconnected_minutes",
            "cluster_drops_per_minute", "connection_utilization", "slow_consumer_drops_per_minute",
            "refusals_per_minute",
        ]
        if let alerts = reader.object("alerts", keys: alertKeys) {
            var thresholds = monitoring.alerts
            func read<T>(_ key: String, _ decoder: ScalarDecoder<T>, _ value: inout T) {
                if let decoded = alerts.decode(key, decoder) { value = decoded }
            }
            read("instance_utilization", .number, &thresholds.instanceUtilization)
            read("redis_memory_utilization", .number, &thresholds.redisMemoryUtilization)
            read("server_errors_per_minute", .int, &thresholds.serverErrorsPerMinute)
            read("redis_disconnected_minutes", .int, &thresholds.redisDisconnectedMinutes)
            read("cluster_drops_per_minute", .int, &thresholds.clusterDropsPerMinute)
            read("connection_utilization", .number, &thresholds.connectionUtilization)
            read("slow_consumer_drops_per_minute", .int, &thresholds.slowConsumerDropsPerMinute)
            read("refusals_per_minute", .int, &thresholds.refusalsPerMinute)
            monitoring.alerts = thresholds
        }
        let sloKeys = ["handshake_availability", "delivery_latency", "delivery_latency_threshold", "window_days"]
        if let slo = reader.object("slo", keys: sloKeys) {
            var objectives = monitoring.objectives
            objectives.handshakeAvailability =
                slo.decode("handshake_availability", .number) ?? objectives.handshakeAvailability
            objectives.deliveryLatency = slo.decode("delivery_latency", .number) ?? objectives.deliveryLatency
            objectives.deliveryLatencyMilliseconds =
                slo.decode("delivery_latency_threshold", .milliseconds) ?? objectives.deliveryLatencyMilliseconds
            objectives.windowDays = slo.decode("window_days", .int) ?? objectives.windowDays
            monitoring.objectives = objectives
        }
        return monitoring
    }

    private func decodeCapacity(_ reader: ObjectReader) -> Capacity? {
        let connections = reader.required("peak_connections", .int)
        let messages = reader.required("peak_messages_per_second", .int)
        guard let connections, let messages else { return nil }
        return Capacity(
            peakConnections: connections, peakMessagesPerSecond: messages,
            headroom: reader.decode("headroom", .number) ?? 0.25)
    }
}

struct NetworkDecoder {
    static let keys = ["cidr", "subnet_prefix", "subnets", "psa_cidr", "psa_prefix", "flow_log_sampling"]
    let context: DecodingContext

    func decode(_ reader: ObjectReader) -> Network {
        var network = Network()
        network.cidr = reader.decode("cidr", .cidr) ?? network.cidr
        network.subnetPrefix = reader.decode("subnet_prefix", .int) ?? network.subnetPrefix
        network.serviceAccessRange = reader.decode("psa_cidr", .cidr)
        network.serviceAccessPrefix = reader.decode("psa_prefix", .int) ?? network.serviceAccessPrefix
        network.flowLogSampling = reader.decode("flow_log_sampling", .number) ?? network.flowLogSampling
        for entry in reader.namedEntries("subnets") ?? [] {
            if let range = ScalarDecoder.cidr.decode(
                entry.value, path: "network.subnets.\(entry.key)", context: context)
            {
                network.subnets[entry.key] = range
            }
        }
        return network
    }
}

struct MemorystoreDecoder {
    static let keys = ["tier", "memory_gb", "version", "auth", "transit_encryption", "read_replicas", "maintenance"]

    func decode(_ reader: ObjectReader) -> Memorystore {
        var redis = Memorystore()
        redis.tier = reader.decode("tier", .choice("tier")) ?? redis.tier
        redis.memoryGB = reader.decode("memory_gb", .int) ?? redis.memoryGB
        redis.version =
            reader.decode("version", .choice("Redis version", rule: "TFC0406", suggest: false)) ?? redis.version
        redis.auth = reader.decode("auth", .bool) ?? redis.auth
        redis.transitEncryption = reader.decode("transit_encryption", .bool) ?? redis.transitEncryption
        redis.readReplicas = reader.decode("read_replicas", .int) ?? redis.readReplicas
        if let window = reader.object("maintenance", keys: ["day", "hour"]) {
            redis.maintenance.day = window.decode("day", .choice("day")) ?? redis.maintenance.day
            redis.maintenance.hour = window.decode("hour", .int) ?? redis.maintenance.hour
        }
        return redis
    }
}

struct LoadBalancerDecoder {
    static let keys = [
        "domains", "previous_domains", "tls", "admin_source_ranges", "http_redirect", "rate_limit", "waf",
        "adaptive_protection", "log_sample_rate", "backend_timeout",
        "session_affinity",
        "health_check",
    ]

    func decode(_ reader: ObjectReader) -> LoadBalancer? {
        let domains = reader.list("domains", .string)
        if reader.node("domains") == nil {
            reader.missing("domains", help: "list the domains of the managed certificate: [realtime.example.com]")
        }
        var rateLimit: RateLimit?
        if let limit = reader.object("rate_limit", keys: ["requests", "interval_seconds", "ban_seconds", "key"]) {
            let requests = limit.required("requests", .int)
            let interval = limit.required("interval_seconds", .int)
            let key = limit.decode("key", .rateLimitKey) ?? .ip
            if let requests, let interval {
                rateLimit = RateLimit(
                    requests: requests, intervalSeconds: interval,
                    banSeconds: limit.decode("ban_seconds", .int), key: key)
            }
        }
        var tls = TLSPolicy()
        if let policy = reader.object("tls", keys: ["profile", "min_version"]) {
            tls.profile = policy.decode("profile", .choice("TLS profile")) ?? tls.profile
            tls.minVersion = policy.decode("min_version", .choice("TLS version", suggest: false)) ?? tls.minVersion
        }
        var waf = WebApplicationFirewall()
        if let rules = reader.object("waf", keys: ["sensitivity", "preview", "rule_sets"]) {
            waf.sensitivity = rules.decode("sensitivity", .int) ?? waf.sensitivity
            waf.preview = rules.decode("preview", .bool) ?? waf.preview
            waf.ruleSets = rules.list("rule_sets", .choice("WAF rule set")) ?? waf.ruleSets
        }
        guard let domains else { return nil }
        return LoadBalancer(
            domains: domains,
            previousDomains: reader.list("previous_domains", .string) ?? [],
            tls: tls,
            adminSourceRanges: reader.list("admin_source_ranges", .cidr) ?? [],
            httpRedirect: reader.decode("http_redirect", .bool) ?? true,
            rateLimit: rateLimit,
            waf: waf,
            adaptiveProtection: reader.decode("adaptive_protection", .bool) ?? false,
            logSampleRate: reader.decode("log_sample_rate", .number) ?? 1.0,
            backendTimeoutSeconds: reader.decode("backend_timeout", .duration),
            sessionAffinity: reader.decode("session_affinity", .string),
            healthCheckPath: reader.decode("health_check", .string))
    }
}
