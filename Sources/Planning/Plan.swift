/// What changes between two renders, resource by resource, as Terraform would classify it, with what each
/// change does to a running real-time system.
public struct Plan: Sendable, Hashable {
    public var changes: [Change]
    public var before: Manifest
    public var after: Manifest

    public enum Action: String, Sendable, Hashable, Codable {
        case create
        case update
        case replace
        case delete
    }

    public struct Change: Sendable, Hashable {
        public var address: String
        public var type: String
        public var action: Action
        /// Changed attributes (empty for create and delete), sorted by path.
        public var attributes: [AttributeChange]
        public var hazards: [Hazard]
    }

    public struct AttributeChange: Sendable, Hashable {
        public var path: String
        public var before: String?
        public var after: String?
        public var forcesReplacement: Bool
    }

    /// Computes the plan from `before` (nil: nothing rendered yet) to `after`. Changes are sorted by address.
    public init(before: Manifest?, after: Manifest) {
        let before = before ?? Manifest(source: after.source)
        self.before = before
        self.after = after
        var changes: [Change] = []
        let addresses = Set(before.resources.keys).union(after.resources.keys).sorted()
        for address in addresses {
            switch (before.resources[address], after.resources[address]) {
            case (nil, let new?):
                changes.append(Change(address: address, type: new.type, action: .create, attributes: [], hazards: []))
            case (let old?, nil):
                changes.append(Change(address: address, type: old.type, action: .delete, attributes: [], hazards: []))
            case (let old?, let new?):
                let attributes = Self.diff(old, new)
                guard !attributes.isEmpty else { continue }
                let action: Action = attributes.contains(where: \.forcesReplacement) ? .replace : .update
                changes.append(
                    Change(address: address, type: new.type, action: action, attributes: attributes, hazards: []))
            case (nil, nil):
                continue
            }
        }
        Propagation.apply(to: &changes, before: before, after: after)
        for index in changes.indices {
            changes[index].hazards = Hazards.of(changes[index], before: before, after: after)
        }
        self.changes = changes
    }

    private static func diff(_ old: Manifest.Resource, _ new: Manifest.Resource) -> [AttributeChange] {
        Set(old.attributes.keys).union(new.attributes.keys).sorted().compactMap { path in
            let before = old.attributes[path], after = new.attributes[path]
            guard before != after else { return nil }
            return AttributeChange(
                path: path, before: before, after: after,
                forcesReplacement: ReplacementRules.forcesReplacement(
                    type: new.type, path: path, before: before, after: after))
        }
    }

    public var hasChanges: Bool { !changes.isEmpty }

    /// Terraform's counting: a replacement is one add and one destroy.
    public var summary: (add: Int, change: Int, destroy: Int) {
        changes.reduce((0, 0, 0)) { counts, change in
            switch change.action {
            case .create: return (counts.0 + 1, counts.1, counts.2)
            case .update: return (counts.0, counts.1 + 1, counts.2)
            case .replace: return (counts.0 + 1, counts.1, counts.2 + 1)
            case .delete: return (counts.0, counts.1, counts.2 + 1)
            }
        }
    }
}

/// Which attribute changes Terraform (the google provider) can only apply by destroying and recreating the
/// resource (`ForceNew` in the provider's schema).
enum ReplacementRules {
    /// Attribute paths (a prefix matches its sub-paths) that force replacement, by resource type; `*` means all.
    static let table: [String: [String]] = [
        "google_artifact_registry_repository": ["format", "location", "repository_id"],
        "google_artifact_registry_repository_iam_member": ["*"],
        "google_cloud_run_v2_service": ["location", "name"],
        "google_cloud_run_v2_service_iam_member": ["*"],
        // load_balancing_scheme is updatable in place since provider 6.36.0 (backend service, forwarding rule).
        "google_compute_backend_service": ["name"],
        "google_compute_firewall": ["name", "network"],
        "google_compute_global_address": ["*"],
        "google_compute_global_forwarding_rule": [
            "ip_address", "ip_protocol", "name", "port_range",
        ],
        "google_compute_managed_ssl_certificate": ["managed", "name"],
        "google_compute_network": ["auto_create_subnetworks", "name"],
        "google_compute_region_network_endpoint_group": ["*"],
        "google_compute_security_policy": ["name", "type"],
        "google_compute_ssl_policy": ["name"],
        "google_compute_subnetwork": ["name", "network", "region"],
        "google_compute_target_http_proxy": ["name"],
        "google_compute_target_https_proxy": ["name"],
        "google_compute_url_map": ["name"],
        "google_firebase_database_instance": ["instance_id", "project", "region", "type"],
        "google_firebase_project": ["project"],
        // A notification channel's type is updatable (no ForceNew in the provider's schema).
        "google_monitoring_alert_policy": [],
        "google_monitoring_notification_channel": [],
        "google_project_iam_audit_config": ["project", "service"],
        "google_project_iam_member": ["*"],
        "google_project_service": ["service"],
        "google_redis_instance": [
            // read_replicas_mode is updated in place (the provider's acceptance test turns replicas on without a
            // new instance).
            "alternative_location_id", "authorized_network", "connect_mode", "location_id", "name", "region",
            "reserved_ip_range", "tier", "transit_encryption_mode",
        ],
        "google_secret_manager_secret": ["replication", "secret_id"],
        "google_secret_manager_secret_iam_member": ["*"],
        "google_secret_manager_secret_version": ["secret", "secret_data"],
        "google_service_account": ["account_id"],
        "google_service_networking_connection": ["network", "service"],
        "google_storage_bucket": ["location", "name"],
        "google_storage_bucket_iam_member": ["*"],
    ]

    static func forcesReplacement(type: String, path: String, before: String?, after: String?) -> Bool {
        // Every google resource's project is ForceNew, whether set or the provider's (`Manifest`).
        if path == "project" { return true }
        if type == "google_redis_instance", path == "redis_version" {
            // The provider replaces the instance only when both versions parse as REDIS_<major>_<minor> and the new
            // one is lower (its CustomizeDiff on redis_version); REDIS_6_X parses as neither, so is planned in place.
            guard let old = redisVersion(before), let new = redisVersion(after) else { return false }
            return new.major < old.major || (new.major == old.major && new.minor < old.minor)
        }
        if type == "google_compute_subnetwork", path == "ip_cidr_range" {
            // A primary range can only grow in place.
            return !expands(before, to: after)
        }
        let rules = table[type] ?? ["name"]
        return rules.contains { $0 == "*" || path == $0 || path.hasPrefix($0 + ".") }
    }

    /// `"REDIS_7_2"` as (7, 2); nil for anything else (`"REDIS_6_X"`).
    static func redisVersion(_ text: String?) -> (major: Int, minor: Int)? {
        guard let text else { return nil }
        let parts = text.trimmingCharacters(in: ["\""]).split(separator: "_")
        guard parts.count == 3, parts[0] == "REDIS", let major = Int(parts[1]), let minor = Int(parts[2]) else {
            return nil
        }
        return (major, minor)
    }

    /// Whether CIDR `after` contains CIDR `before` (both HCL string literals).
    static func expands(_ before: String?, to after: String?) -> Bool {
        func parse(_ text: String?) -> (address: UInt32, prefix: Int)? {
            guard let text, text.count > 2 else { return nil }
            let parts = text.dropFirst().dropLast().split(separator: "/")
            guard parts.count == 2, let prefix = Int(parts[1]) else { return nil }
            let octets = parts[0].split(separator: ".").compactMap { UInt32($0) }
            guard octets.count == 4, (0...32).contains(prefix) else { return nil }
            return (octets.reduce(0) { $0 << 8 | $1 }, prefix)
        }
        guard let old = parse(before), let new = parse(after), new.prefix <= old.prefix else { return false }
        let mask: UInt32 = new.prefix == 0 ? 0 : UInt32.max << UInt32(32 - new.prefix)
        return old.address & mask == new.address & mask
    }
}
