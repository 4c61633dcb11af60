/// What a change does to a running real-time system beyond the resource itself.
public struct Hazard: Sendable, Hashable {
    public enum Severity: String, Sendable, Hashable, Codable {
        /// Live connections dropped or a part of the system briefly unavailable.
        case disruption
        /// Data lost or something that cannot be undone.
        case danger
    }

    public var severity: Severity
    public var message: String
}

enum Hazards {
    /// An attribute's value as the manifest keeps it (an HCL string literal keeps its quotes), for a message.
    static func unquoted(_ text: String?) -> String { (text ?? "").trimmingCharacters(in: ["\""]) }

    static func of(_ change: Plan.Change, before: Manifest, after: Manifest) -> [Hazard] {
        let resource = change.action == .delete ? before.resources[change.address] : after.resources[change.address]
        let attributes = resource?.attributes ?? [:]
        let region = unquoted(attributes["region"] ?? attributes["location"])
        func disruption(_ message: String) -> Hazard { Hazard(severity: .disruption, message: message) }
        func danger(_ message: String) -> Hazard { Hazard(severity: .danger, message: message) }
        let removesOrReplaces = change.action == .delete || change.action == .replace

        // A replacement created before the old object goes needs a new name: these keep theirs, so the create
        // fails (ALREADY_EXISTS) and the apply stops there, the old object untouched.
        if change.action == .replace, change.createBeforeDestroy {
            let identity = ["name", "secret_id", "account_id", "instance_id", "repository_id"].first {
                attributes[$0] != nil
            }
            if let identity, !change.attributes.contains(where: { $0.path == identity }) {
                return [
                    danger(
                        "the apply fails here: this is replaced create-before-destroy (forced by a resource with "
                            + "create_before_destroy that depends on it), and the new one would take the old one's "
                            + "\(identity), \(attributes[identity] ?? "")")
                ]
            }
        }
        switch (change.type, change.action) {
        case ("google_redis_instance", .delete):
            return [
                danger(
                    "Redis data and pub/sub state in \(region) are lost; the other regions stop relaying to it when "
                        + "their instances next read the relay endpoints document")
            ]
        case ("google_redis_instance", .replace):
            return [
                danger(
                    "Redis data and pub/sub state in \(region) are lost; every server instance there loses its adapter "
                        + "(cross-instance broadcasts, presence, missed-event recovery) until the new instance is ready; "
                        + "its endpoint's secret versions are replaced, so every service there that reads them gets a "
                        + "new revision, and instances of the old one keep the old endpoint until they are replaced; "
                        + "the other regions follow the new endpoint through the relay endpoints document, without one")
            ]
        case ("google_redis_instance", .update):
            var hazards: [Hazard] = []
            if let version = change.attributes.first(where: { $0.path == "redis_version" }),
                ReplacementRules.redisVersion(version.before) == nil
                    || ReplacementRules.redisVersion(version.after) == nil
            {
                hazards.append(
                    disruption(
                        "the provider plans this version change in place (it compares only REDIS_<major>_<minor> "
                            + "versions): Memorystore upgrades with a failover, and refuses a downgrade when applied"))
            }
            if change.attributes.contains(where: { $0.path == "memory_size_gb" }) {
                hazards.append(
                    attributes["tier"] == "\"BASIC\""
                        ? danger(
                            "resizing a Basic tier instance flushes its data and makes it unavailable while it scales")
                        : disruption(
                            "resizing fails over to the replica: pub/sub connections in \(region) drop briefly and "
                                + "resubscribe"))
            }
            return hazards
        case ("google_cloud_run_v2_service", .update):
            var hazards: [Hazard] = []
            // Only a change of the revision template makes a revision; ingress, deletion protection and the other
            // service-level settings change the service alone.
            if change.attributes.contains(where: { $0.path.hasPrefix("template.") }) {
                hazards.append(
                    disruption(
                        "new revision in \(region): WebSockets on the old revision stay until they close or its "
                            + "instances are drained, then clients reconnect"))
            }
            // The coordination region's Redis decides edit leases, section versions and comment numbers; another
            // one starts them afresh (README, "The TenderFlow protocol").
            if let moved = change.attributes.first(where: {
                $0.path.hasSuffix("env[COORDINATION_REGION].value") && $0.before != nil && $0.after != nil
            }) {
                hazards.append(
                    disruption(
                        "coordination moves from \(unquoted(moved.before)) to \(unquoted(moved.after)): edit leases "
                            + "held now are forgotten, and section versions and comment numbers start again in the new "
                            + "region's Redis"
                    ))
            }
            let balanced = after.resources.values.contains { $0.type == "google_compute_global_forwarding_rule" }
            if let ingress = change.attributes.first(where: { $0.path == "ingress" }), balanced {
                if ingress.after == "\"INGRESS_TRAFFIC_INTERNAL_ONLY\"" {
                    hazards.append(
                        danger(
                            "ingress internal-only shuts the external load balancer out of \(region): every client "
                                + "there is refused"))
                } else if ingress.after == "\"INGRESS_TRAFFIC_ALL\"" {
                    hazards.append(
                        danger(
                            "ingress all: the service's own run.app URL in \(region) takes traffic from anywhere, past "
                                + "Cloud Armor (WAF, rate limit, the admin-path rule)"))
                }
            }
            return hazards
        case ("google_cloud_run_v2_service", .delete):
            let regionGone = !after.resources.values.contains {
                $0.type == "google_cloud_run_v2_service" && $0.attributes["location"] == attributes["location"]
            }
            return [
                disruption(
                    regionGone
                        ? "region \(region) is removed: all its live connections are dropped; clients reconnect to other regions"
                        : "the service is removed from \(region): all its live connections are dropped")
            ]
        case ("google_cloud_run_v2_service", .replace):
            return [disruption("the service in \(region) is recreated: all its live connections are dropped")]
        case ("google_compute_subnetwork", .replace)
        where change.attributes.contains { $0.path == "ip_cidr_range" && $0.before != nil && $0.after != nil }:
            // Derived subnets are numbered in the order of `regions`: a region inserted before this one, or one
            // removed before it, moves its range, which replaces it (ip_cidr_range only grows in place). The
            // replacement keeps the name, so the old subnet goes first, while the region's services still use it:
            // Cloud Run holds a Direct VPC egress subnet's addresses for up to 1-2 hours after its services leave
            // it, and a subnet in use is not deleted.
            let range = change.attributes.first { $0.path == "ip_cidr_range" }
            let before = unquoted(range?.before)
            let after = unquoted(range?.after)
            return [
                danger(
                    "the subnet in \(region) would move from \(before) to \(after): it is in use by the region's "
                        + "services, so its deletion fails (or, once free, they lose Direct VPC egress and Redis until "
                        + "the new one exists); derived subnets follow the order of `regions`: keep every region's "
                        + "range by listing it in `network.subnets` (here `\(region): \(before)`)")
            ]
        case ("google_artifact_registry_repository", _) where removesOrReplaces:
            return [
                danger(
                    "the image repository is deleted with every image in it: revisions that pull from it cannot start "
                        + "new instances until the images are built again (it lives in the first region of `regions`)")
            ]
        case ("google_compute_subnetwork", _) where removesOrReplaces,
            ("google_compute_network", _) where removesOrReplaces:
            return [disruption("network change: services lose Direct VPC egress (and with it Redis) until it is back")]
        case ("google_service_networking_connection", _) where removesOrReplaces:
            return [danger("private service access is torn down: every Memorystore instance becomes unreachable")]
        case ("google_compute_global_address", _) where removesOrReplaces && attributes["purpose"] == "\"VPC_PEERING\"":
            return [
                danger(
                    "the private service access range is released: the peering that Memorystore is reached through "
                        + "loses its range")
            ]
        case ("google_compute_global_address", _) where removesOrReplaces:
            return [
                danger(
                    "the load balancer's public IP address is released: DNS must be changed, clients fail until then")
            ]
        case ("google_compute_managed_ssl_certificate", _) where removesOrReplaces:
            // A managed certificate provisions only once attached, up to an hour after DNS points at the load
            // balancer, and serves only when ACTIVE (Google-managed SSL certificates).
            return [
                disruption(
                    "the proxy stops serving this certificate: HTTPS for its domains is down until another ACTIVE "
                        + "certificate covers them (a new one provisions for up to an hour); switch with "
                        + "load_balancer.previous_domains and remove them once the new certificate is ACTIVE")
            ]
        case ("google_compute_global_forwarding_rule", _) where removesOrReplaces,
            ("google_compute_target_https_proxy", _) where removesOrReplaces,
            ("google_compute_backend_service", _) where removesOrReplaces,
            ("google_compute_url_map", _) where removesOrReplaces:
            return [disruption("the load balancer path is interrupted while this is recreated: new connections fail")]
        case ("google_compute_region_network_endpoint_group", _) where removesOrReplaces:
            return [disruption("traffic to \(region) stops while its serverless NEG is detached")]
        case ("google_secret_manager_secret", _) where removesOrReplaces:
            return [danger("the secret and all its versions are deleted")]
        case ("google_firebase_database_instance", _) where removesOrReplaces:
            return [danger("the Realtime Database and its data are deleted; its id can never be used again")]
        case ("google_firebase_project", .delete):
            return [danger("Firebase cannot be removed from a project once added")]
        case ("google_service_account", _) where removesOrReplaces:
            return [disruption("the services lose their identity (secrets, Redis URL, RTDB) until they are redeployed")]
        default:
            return []
        }
    }
}
