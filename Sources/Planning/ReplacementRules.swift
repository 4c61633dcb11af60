/// Which attribute changes Terraform (the google provider) can only apply by destroying and recreating the
/// resource: `ForceNew` in the provider's schema, or a `CustomizeDiff` that forces it.
///
/// One entry per resource type the renders use, each with the provider source it was read from (paths in
/// hashicorp/terraform-provider-google, `google-beta/` in terraform-provider-google-beta), at `providerRelease`.
/// The render pins `TerraformRenderer.providerVersion` to the same minor release (a test checks): upgrading the
/// provider is a change to review here.
enum ReplacementRules {
    static let providerRelease = "6.50.0"

    struct Entry: Sendable {
        /// Attribute paths (a prefix matches its sub-paths) that force replacement; `*` means all.
        let forced: [String]
        let source: String

        init(_ forced: [String], _ source: String) {
            self.forced = forced
            self.source = source
        }
    }

    static let iamMember = "google/tpgiamresource/resource_iam_member.go (every argument ForceNew)"

    static let table: [String: Entry] = [
        // restrictions and display_name are updates; a new key (a new key string) only with a new name.
        "google_apikeys_key": Entry(["name", "project"], "google/services/apikeys/resource_apikeys_key.go"),
        "google_artifact_registry_repository": Entry(
            ["format", "location", "repository_id"],
            "google/services/artifactregistry/resource_artifact_registry_repository.go"),
        "google_artifact_registry_repository_iam_member": Entry(["*"], iamMember),
        // Nothing under template.* and not ingress: those are updates (a template change is a new revision).
        "google_cloud_run_v2_service": Entry(
            ["location", "name"], "google/services/cloudrunv2/resource_cloud_run_v2_service.go"),
        "google_cloud_run_v2_service_iam_member": Entry(["*"], iamMember),
        // load_balancing_scheme is updatable since 6.36 (magic-modules #13926), here and on the forwarding rule.
        "google_compute_backend_service": Entry(
            ["name"], "google/services/compute/resource_compute_backend_service.go"),
        // network is Required but not ForceNew (a diff-suppressed update).
        "google_compute_firewall": Entry(
            ["direction", "name"], "google/services/compute/resource_compute_firewall.go"),
        "google_compute_global_address": Entry(["*"], "google/services/compute/resource_compute_global_address.go"),
        "google_compute_global_forwarding_rule": Entry(
            ["ip_address", "ip_protocol", "name", "port_range"],
            "google/services/compute/resource_compute_global_forwarding_rule.go"),
        "google_compute_managed_ssl_certificate": Entry(
            ["managed", "name"], "google/services/compute/resource_compute_managed_ssl_certificate.go"),
        "google_compute_network": Entry(
            ["auto_create_subnetworks", "name"], "google/services/compute/resource_compute_network.go"),
        "google_compute_region_network_endpoint_group": Entry(
            ["*"], "google/services/compute/resource_compute_region_network_endpoint_group.go"),
        "google_compute_security_policy": Entry(
            ["name", "type"], "google/services/compute/resource_compute_security_policy.go"),
        "google_compute_ssl_policy": Entry(["name"], "google/services/compute/resource_compute_ssl_policy.go"),
        // ip_cidr_range: CustomizeDiff `IsShrinkageIpCidr` (`forcesReplacement`).
        "google_compute_subnetwork": Entry(
            ["name", "network", "region"], "google/services/compute/resource_compute_subnetwork.go"),
        "google_compute_target_http_proxy": Entry(
            ["name"], "google/services/compute/resource_compute_target_http_proxy.go"),
        "google_compute_target_https_proxy": Entry(
            ["name"], "google/services/compute/resource_compute_target_https_proxy.go"),
        "google_compute_url_map": Entry(["name"], "google/services/compute/resource_compute_url_map.go"),
        "google_firebase_database_instance": Entry(
            ["instance_id", "project", "region", "type"],
            "google-beta/services/firebasedatabase/resource_firebase_database_instance.go"),
        "google_firebase_project": Entry(["project"], "google-beta/services/firebase/resource_firebase_project.go"),
        "google_logging_metric": Entry(
            // labels is a set: a label added, removed or changed replaces the metric. `name` is an update (a PUT to
            // the new name, which leaves the old metric behind: terraform-provider-google#18144); tfctl derives it
            // from the topology's name, which does not change.
            ["metric_descriptor.labels"], "google/services/logging/resource_logging_metric.go"),
        "google_monitoring_alert_policy": Entry([], "google/services/monitoring/resource_monitoring_alert_policy.go"),
        "google_monitoring_custom_service": Entry(
            ["service_id"], "google/services/monitoring/resource_monitoring_custom_service.go"),
        // dashboard_json is a PATCH in place.
        "google_monitoring_dashboard": Entry([], "google/services/monitoring/resource_monitoring_dashboard.go"),
        "google_monitoring_slo": Entry(["service", "slo_id"], "google/services/monitoring/resource_monitoring_slo.go"),
        "google_monitoring_uptime_check_config": Entry(
            ["checker_type", "http_check.request_method", "monitored_resource", "resource_group"],
            "google/services/monitoring/resource_monitoring_uptime_check_config.go"),
        "google_monitoring_notification_channel": Entry(
            [], "google/services/monitoring/resource_monitoring_notification_channel.go"),
        // service is not ForceNew (one create-or-update function): a new service is written beside the old one.
        "google_project_iam_audit_config": Entry(["project"], "google/tpgiamresource/resource_iam_audit_config.go"),
        "google_project_iam_member": Entry(["*"], iamMember),
        "google_project_service": Entry(
            ["service"], "google/services/resourcemanager/resource_google_project_service.go"),
        // read_replicas_mode, replica_count and memory_size_gb are updates; redis_version: CustomizeDiff
        // `isRedisVersionDecreasing` (`forcesReplacement`).
        "google_redis_instance": Entry(
            [
                "alternative_location_id", "authorized_network", "connect_mode", "location_id", "name", "region",
                "reserved_ip_range", "tier", "transit_encryption_mode",
            ], "google/services/redis/resource_redis_instance.go"),
        "google_secret_manager_secret": Entry(
            ["replication", "secret_id"], "google/services/secretmanager/resource_secret_manager_secret.go"),
        "google_secret_manager_secret_iam_member": Entry(["*"], iamMember),
        "google_secret_manager_secret_version": Entry(
            ["secret", "secret_data"], "google/services/secretmanager/resource_secret_manager_secret_version.go"),
        "google_service_account": Entry(
            ["account_id"], "google/services/resourcemanager/resource_google_service_account.go"),
        "google_service_account_iam_member": Entry(["*"], iamMember),
        "google_service_networking_connection": Entry(
            ["network", "service"], "google/services/servicenetworking/resource_service_networking_connection.go"),
        "google_storage_bucket": Entry(["location", "name"], "google/services/storage/resource_storage_bucket.go"),
        "google_storage_bucket_iam_member": Entry(["*"], iamMember),
    ]

    /// Optional+Computed attributes the renders set only sometimes: leaving one out keeps the object's value, so
    /// Terraform shows no change (read replicas stay on; Memorystore cannot turn them off).
    static let keptWhenUnset: [String: Set<String>] = [
        "google_redis_instance": ["read_replicas_mode", "replica_count", "secondary_ip_range"]
    ]

    static func forcesReplacement(type: String, path: String, before: String?, after: String?) -> Bool {
        // Every google resource's project is ForceNew, whether set or the provider's (`Manifest`); labels never are
        // (each labelled type updates them in place: setLabels, or its Update), even where all else is.
        if path == "project" { return true }
        if path.hasPrefix("labels.") || path.hasPrefix("terraform_labels.") { return false }
        if type == "google_redis_instance", path == "redis_version" {
            // Replaced only when both versions match REDIS_<major>_<minor> and the new one is lower, compared as
            // the provider does: as the float "<major>.<minor>" (REDIS_6_X matches neither, so is in place).
            guard let old = redisVersion(before), let new = redisVersion(after) else { return false }
            return new < old
        }
        if type == "google_compute_subnetwork", path == "ip_cidr_range" {
            // A primary range can only grow in place; a value that does not parse is not replaced (as the provider).
            guard let growing = expands(before, to: after) else { return false }
            return !growing
        }
        // A type missing here is assumed to replace only on a new name (a test keeps every rendered type here).
        let rules = table[type]?.forced ?? ["name"]
        return rules.contains { $0 == "*" || path == $0 || path.hasPrefix($0 + ".") }
    }

    /// `"REDIS_7_2"` as 7.2, the provider's comparison; nil for anything else (`"REDIS_6_X"`).
    static func redisVersion(_ text: String?) -> Double? {
        guard let text else { return nil }
        let parts = text.trimmingCharacters(in: ["\""]).split(separator: "_")
        guard parts.count == 3, parts[0] == "REDIS", Int(parts[1]) != nil, Int(parts[2]) != nil else { return nil }
        return Double("\(parts[1]).\(parts[2])")
    }

    /// Whether CIDR `after` contains CIDR `before` (both HCL string literals); nil when either does not parse.
    static func expands(_ before: String?, to after: String?) -> Bool? {
        func parse(_ text: String?) -> (address: UInt32, prefix: Int)? {
            guard let text, text.count > 2 else { return nil }
            let parts = text.dropFirst().dropLast().split(separator: "/")
            guard parts.count == 2, let prefix = Int(parts[1]) else { return nil }
            let octets = parts[0].split(separator: ".").compactMap { UInt32($0) }
            guard octets.count == 4, (0...32).contains(prefix) else { return nil }
            return (octets.reduce(0) { $0 << 8 | $1 }, prefix)
        }
        guard let old = parse(before), let new = parse(after) else { return nil }
        guard new.prefix <= old.prefix else { return false }
        let mask: UInt32 = new.prefix == 0 ? 0 : UInt32.max << UInt32(32 - new.prefix)
        return old.address & mask == new.address & mask
    }
}
