import Foundation

/// The price list behind cost estimates (`Resources/prices.json`), with where each figure comes from.
public struct PriceSheet: Sendable, Codable {
    public struct Rates: Sendable, Codable {
        public var vcpuSecond: Double
        public var gibSecond: Double
        public var checked: Bool?
    }

    public struct CloudRun: Sendable, Codable {
        public var source: String
        public var checked: Bool
        public var tier1: Rates
        public var tier2: Rates
        public var tier2Regions: [String]
    }

    public struct Band: Sendable, Codable {
        public var upToGb: Int
        public var gbHour: Double
    }

    public struct Memorystore: Sendable, Codable {
        public var source: String
        public var checked: Bool
        public var basic: [Band]
        public var standard: [Band]
    }

    public struct LoadBalancing: Sendable, Codable {
        public var source: String
        public var checked: Bool
        public var forwardingRuleHourFirst5: Double
        public var forwardingRuleHourAdditional: Double
        public var dataProcessedGib: Double
    }

    public struct CloudArmor: Sendable, Codable {
        public var source: String
        public var checked: Bool
        public var policyMonth: Double
        public var ruleMonth: Double
        public var millionRequests: Double
    }

    public struct SecretManager: Sendable, Codable {
        public var source: String
        public var checked: Bool
        public var activeVersionMonth: Double
    }

    public var currency: String
    public var date: String
    public var hoursPerMonth: Double
    public var notes: String
    public var cloudRun: CloudRun
    public var memorystoreRedis: Memorystore
    public var loadBalancing: LoadBalancing
    public var cloudArmor: CloudArmor
    public var secretManager: SecretManager

    /// The sheet shipped with tfctl: `override` (the CLI passes `$TFCTL_PRICES`) if given, else the resource
    /// bundle SwiftPM puts beside `executable`, else the source tree. (SwiftPM's `Bundle.module` would stop the
    /// process when the bundle is missing, as with a copied binary; a missing sheet is an error to report
    /// instead.) The caller says where to look: planning reads no environment of its own.
    public static func bundled(override: URL? = nil, executable: URL) throws -> PriceSheet {
        let candidates = locations(override: override, executable: executable)
        guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw ManifestError(
                message: "price sheet not found (looked in \(candidates.map(\.path).joined(separator: ", ")))")
        }
        return try load(url)
    }

    public static func load(_ url: URL) throws -> PriceSheet {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(PriceSheet.self, from: Data(contentsOf: url))
    }

    static func locations(override: URL?, executable: URL) -> [URL] {
        var urls: [URL] = override.map { [$0] } ?? []
        for directory in [executable.resolvingSymlinksInPath().deletingLastPathComponent(), Bundle.main.bundleURL] {
            for bundle in ["tfctl_Planning.resources", "tfctl_Planning.bundle/Contents/Resources"] {
                urls.append(directory.appendingPathComponent(bundle).appendingPathComponent("prices.json"))
            }
        }
        urls.append(
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/prices.json"))
        return urls
    }

    /// Sources of figures not read from their page on `date`.
    public var uncheckedSources: [String] {
        var sources: [String] = []
        if !cloudRun.checked || cloudRun.tier2.checked == false { sources.append(cloudRun.source + " (tier 2)") }
        if !memorystoreRedis.checked { sources.append(memorystoreRedis.source) }
        if !loadBalancing.checked { sources.append(loadBalancing.source) }
        if !cloudArmor.checked { sources.append(cloudArmor.source) }
        if !secretManager.checked { sources.append(secretManager.source) }
        return sources
    }
}

/// A monthly estimate of a render's fixed costs, read from its manifest. Usage-billed items (requests, data
/// processed, RTDB traffic) are not estimated: they depend on traffic, not on the topology.
public struct CostEstimate: Sendable, Hashable {
    public struct Line: Sendable, Hashable {
        public var item: String
        /// With `min_instances` running all month.
        public var baseline: Double
        /// With `max_instances` running all month.
        public var ceiling: Double
    }

    public var lines: [Line]

    public var baseline: Double { lines.reduce(0) { $0 + $1.baseline } }
    public var ceiling: Double { lines.reduce(0) { $0 + $1.ceiling } }

    public init(_ manifest: Manifest, prices: PriceSheet) {
        // Address order: floating-point sums depend on order, and output must not depend on hashing.
        let resources = manifest.resources.sorted { $0.key < $1.key }.map(\.value)
        func number(_ text: String?) -> Double { Double(Hazards.unquoted(text)) ?? 0 }
        func string(_ text: String?) -> String { Hazards.unquoted(text) }
        let hours = prices.hoursPerMonth

        var runBaseline = 0.0, runCeiling = 0.0
        for service in resources where service.type == "google_cloud_run_v2_service" {
            let a = service.attributes
            // Every container of the revision (the server, and its Prometheus sidecar): an instance is billed for
            // the sum of their limits. A container's path is `template.containers[NAME]` once it is named.
            var cpu = 0.0, memory = 0.0
            for (path, value) in a.sorted(by: { $0.key < $1.key }) where path.hasPrefix("template.containers") {
                if path.hasSuffix(".resources.limits.cpu") { cpu += Self.vcpus(string(value)) }
                if path.hasSuffix(".resources.limits.memory") { memory += Self.gibibytes(string(value)) }
            }
            let rates =
                prices.cloudRun.tier2Regions.contains(string(a["location"]))
                ? prices.cloudRun.tier2 : prices.cloudRun.tier1
            let instanceMonth = hours * 3600 * (cpu * rates.vcpuSecond + memory * rates.gibSecond)
            let minimum = number(a["template.scaling.min_instance_count"])
            let maximum = number(a["template.scaling.max_instance_count"])
            runBaseline += minimum * instanceMonth
            runCeiling += maximum * instanceMonth
        }

        var redis = 0.0
        for instance in resources where instance.type == "google_redis_instance" {
            let a = instance.attributes
            let size = number(a["memory_size_gb"])
            let standard = string(a["tier"]) == "STANDARD_HA"
            let rate = Self.rate(
                size, bands: standard ? prices.memorystoreRedis.standard : prices.memorystoreRedis.basic)
            let replicas = number(a["replica_count"])
            let replicaRate = Self.rate(size, bands: prices.memorystoreRedis.standard)
            redis += size * hours * rate + replicas * size * hours * replicaRate
        }

        let rules = resources.filter { $0.type == "google_compute_global_forwarding_rule" }.count
        let lb =
            hours
            * (Double(min(rules, 5)) * prices.loadBalancing.forwardingRuleHourFirst5
                + Double(max(0, rules - 5)) * prices.loadBalancing.forwardingRuleHourAdditional)

        var armor = 0.0
        for policy in resources where policy.type == "google_compute_security_policy" {
            let ruleCount = Set(
                policy.attributes.keys.compactMap { path -> String? in
                    guard path.hasPrefix("rule[") else { return nil }
                    return String(path.prefix { $0 != "]" })
                }
            ).count
            armor += prices.cloudArmor.policyMonth + Double(ruleCount) * prices.cloudArmor.ruleMonth
        }

        let secrets = Double(resources.filter { $0.type == "google_secret_manager_secret" }.count)
        let secretCost = secrets * prices.secretManager.activeVersionMonth

        lines = [
            Line(item: "Cloud Run (instance-based billing)", baseline: runBaseline, ceiling: runCeiling),
            Line(item: "Memorystore for Redis", baseline: redis, ceiling: redis),
            Line(item: "Load balancer forwarding rules", baseline: lb, ceiling: lb),
            Line(item: "Cloud Armor policy and rules", baseline: armor, ceiling: armor),
            Line(item: "Secret Manager versions", baseline: secretCost, ceiling: secretCost),
        ]
    }

    /// Concurrent connections the services hold at `max_instances`: Σ max_instance_count × concurrency.
    public static func connectionCapacity(_ manifest: Manifest) -> Int {
        manifest.resources.sorted { $0.key < $1.key }.reduce(0) { total, entry in
            let a = entry.value.attributes
            guard entry.value.type == "google_cloud_run_v2_service",
                let maximum = Int(a["template.scaling.max_instance_count"] ?? ""),
                let concurrency = Int(a["template.max_instance_request_concurrency"] ?? "")
            else { return total }
            let (product, overflow) = maximum.multipliedReportingOverflow(by: concurrency)
            return overflow ? Int.max : total.addingReportingOverflow(product).overflow ? Int.max : total + product
        }
    }

    static func rate(_ size: Double, bands: [PriceSheet.Band]) -> Double {
        (bands.first { size <= Double($0.upToGb) } ?? bands.last)?.gbHour ?? 0
    }

    /// `"2"` → 2, `"500m"` → 0.5.
    static func vcpus(_ text: String) -> Double {
        text.hasSuffix("m") ? (Double(text.dropLast()) ?? 0) / 1000 : Double(text) ?? 0
    }

    /// `"512Mi"` → 0.5, `"2Gi"` → 2.
    static func gibibytes(_ text: String) -> Double {
        if text.hasSuffix("Gi") { return Double(text.dropLast(2)) ?? 0 }
        if text.hasSuffix("Mi") { return (Double(text.dropLast(2)) ?? 0) / 1024 }
        return 0
    }
}
