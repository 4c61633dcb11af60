import HCL
import TopologyModel

/// The VPC, a subnet per region, and private service access for Memorystore.
enum NetworkBlocks {
    static let vpc = "vpc"

    static func blocks(_ context: TerraformContext) -> [Block] {
        var blocks = [
            TF.resource("google_compute_network", vpc) {
                Attribute("name", .string(context.names.network))
                Attribute("auto_create_subnetworks", false)
                Attribute("routing_mode", "GLOBAL")
                TF.dependsOn([context.api("compute")])
            },
            // Nothing in the topology takes connections from inside the VPC (Cloud Run's egress and Memorystore's
            // answers are replies, which firewalls let through): say so explicitly, logged, above the implied rules
            // rather than relying on them.
            TF.resource("google_compute_firewall", "deny_all_ingress") {
                Attribute("name", .string(context.names.denyIngressFirewall))
                Attribute("network", TF.ref("google_compute_network", vpc, "id"))
                Attribute("direction", "INGRESS")
                Attribute("priority", .int(NetworkFacts.denyIngressPriority))
                Attribute("source_ranges", TF.strings(["0.0.0.0/0"]))
                Block("deny") { Attribute("protocol", "all") }
                Block("log_config") { Attribute("metadata", "INCLUDE_ALL_METADATA") }
            },
        ]
        let sampling = context.topology.network.flowLogSampling
        for (region, range) in context.subnets {
            guard let range else { continue }
            blocks.append(
                TF.resource("google_compute_subnetwork", TF.label(region)) {
                    Attribute("name", .string(context.names.subnet(region)))
                    Attribute("region", .string(region))
                    Attribute("network", TF.ref("google_compute_network", vpc, "id"))
                    Attribute("ip_cidr_range", .string(range.description))
                    Attribute("private_ip_google_access", true)
                    if sampling > 0 {
                        Block("log_config") {
                            Attribute("aggregation_interval", "INTERVAL_5_SEC")
                            Attribute("flow_sampling", .double(sampling))
                            Attribute("metadata", "INCLUDE_ALL_METADATA")
                        }
                    }
                })
        }
        guard context.topology.memorystore != nil, let psa = context.topology.network.serviceAccessRangeResolved
        else { return blocks }
        let address = psa.description.split(separator: "/")[0]
        blocks.append(
            TF.resource("google_compute_global_address", "private_service_access") {
                Attribute("name", .string(context.names.serviceAccessRange))
                Attribute("purpose", "VPC_PEERING")
                Attribute("address_type", "INTERNAL")
                Attribute("address", .string(String(address)))
                Attribute("prefix_length", .int(psa.prefix))
                Attribute("network", TF.ref("google_compute_network", vpc, "id"))
            })
        blocks.append(
            TF.resource("google_service_networking_connection", "private_service_access") {
                Attribute("network", TF.ref("google_compute_network", vpc, "id"))
                Attribute("service", "servicenetworking.googleapis.com")
                Attribute(
                    "reserved_peering_ranges",
                    .list([TF.ref("google_compute_global_address", "private_service_access", "name")]))
                // Deleting the connection fails while the producer's side (Memorystore) still holds it, even
                // moments after the instance is gone, and `terraform destroy` stops there for good
                // (terraform-provider-google #19908): abandon it. The peering it made stays, and a network with a
                // peering cannot be deleted: `tfctl destroy --delete-data` removes the peering from the network's
                // side before it destroys the VPC (provider 6.x has no `REMOVE_PEERING` policy).
                Attribute("deletion_policy", "ABANDON")
                TF.dependsOn([context.api("servicenetworking")])
            })
        return blocks
    }

    static func subnetID(_ region: String) -> Expression {
        TF.ref("google_compute_subnetwork", TF.label(region), "id")
    }
}

/// One Memorystore for Redis instance per region, reached over private service access, with its AUTH string
/// and server CA kept in Secret Manager for the services.
enum MemorystoreBlocks {
    static func instance(_ region: String) -> String { TF.label("redis", region) }

    static func blocks(_ context: TerraformContext) -> [Block] {
        guard let redis = context.topology.memorystore else { return [] }
        var blocks: [Block] = []
        for region in context.regions {
            let label = instance(region)
            blocks.append(
                TF.resource("google_redis_instance", label) {
                    Attribute("name", .string(context.names.redisInstance(region)))
                    Attribute("region", .string(region))
                    Attribute("tier", .string(redis.tier == .standardHA ? "STANDARD_HA" : "BASIC"))
                    Attribute("memory_size_gb", .int(redis.memoryGB))
                    Attribute("redis_version", .string(redisVersion(redis.version)))
                    Attribute("authorized_network", TF.ref("google_compute_network", NetworkBlocks.vpc, "id"))
                    Attribute("connect_mode", "PRIVATE_SERVICE_ACCESS")
                    Attribute(
                        "reserved_ip_range", TF.ref("google_compute_global_address", "private_service_access", "name"))
                    Attribute("auth_enabled", .bool(redis.auth))
                    Attribute("transit_encryption_mode", redis.transitEncryption ? "SERVER_AUTHENTICATION" : "DISABLED")
                    if redis.readReplicas > 0 {
                        Attribute("replica_count", .int(redis.readReplicas))
                        Attribute("read_replicas_mode", "READ_REPLICAS_ENABLED")
                        // "Required when enabling read replicas on an existing instance" (the provider's docs);
                        // `auto` picks a free range and is not a diff once one is assigned.
                        Attribute("secondary_ip_range", "auto")
                    }
                    Attribute("display_name", .string("\(context.topology.name) pub/sub adapter (\(region))"))
                    Block("maintenance_policy") {
                        Block("weekly_maintenance_window") {
                            Attribute("day", .string(redis.maintenance.day.rawValue.uppercased()))
                            Block("start_time") {
                                Attribute("hours", .int(redis.maintenance.hour))
                                Attribute("minutes", 0)
                                Attribute("seconds", 0)
                                Attribute("nanos", 0)
                            }
                        }
                    }
                    TF.dependsOn([
                        TF.address("google_service_networking_connection", "private_service_access"),
                        context.api("redis"),
                    ])
                })
            blocks += secretWithValue(
                label: TF.label("redis_url", region), id: context.names.redisURLSecret(region),
                value: redisURL(label, redis), context: context)
            if redis.transitEncryption {
                // Every CA, not the first: during a rotation an instance has several server CAs, and a client
                // that trusts only one of them fails when the certificate changes (Memorystore, in-transit
                // encryption: "Certificate authority rotation").
                blocks += secretWithValue(
                    label: TF.label("redis_ca", region), id: context.names.redisCASecret(region),
                    value: serverCAs(label), context: context)
            }
        }
        if let relay = context.topology.relayEndpoints {
            // Abandoned, not disabled, when replaced: Terraform destroys the old version first and creates the new
            // one only once what it reads exists, which for a region added is a new Memorystore instance, minutes
            // later. Disabled, the old version would be `latest` all that time ("an alias to the most recently
            // created SecretVersion", Secret Manager), and every read of the file would fail; abandoned, it stays
            // enabled and readable until the new version is `latest`. Old versions stay enabled (a few cents a
            // month each); `gcloud secrets versions disable` or a destroy-ttl prunes them.
            blocks += secretWithValue(
                label: relayLabel, id: relay.secretID, value: relayDocument(redis, context), context: context,
                deletionPolicy: "ABANDON")
        }
        return blocks
    }

    /// Every server CA of an instance, one PEM after another.
    static func serverCAs(_ instance: String) -> Expression {
        let certs = Expression.reference(
            Traversal(
                root: "google_redis_instance",
                steps: [.attribute(instance), .attribute("server_ca_certs"), .splat, .attribute("cert")]))
        return .call("join", [.string("\n"), certs])
    }

    /// The label of the relay endpoints secret, its version and its access binding.
    static let relayLabel = "relay_endpoints"

    /// `jsonencode({format = ..., regions = {"<region>" = {ca = ..., url = ...}}})`: the `RelayEndpointsDocument`
    /// of every region's instance. A region added or removed replaces this secret version, and nothing that runs:
    /// the services mount the secret at `latest` and reference only the secret.
    static func relayDocument(_ redis: Memorystore, _ context: TerraformContext) -> Expression {
        let regions = context.regions.sorted().map { region in
            let label = instance(region)
            var endpoint: [ObjectItem] = []
            if redis.transitEncryption { endpoint.append(ObjectItem(RelayEndpointsDocument.caKey, serverCAs(label))) }
            endpoint.append(ObjectItem(RelayEndpointsDocument.urlKey, redisURL(label, redis)))
            return ObjectItem(region, .object(endpoint))
        }
        return .call(
            "jsonencode",
            [
                .object([
                    ObjectItem(RelayEndpointsDocument.formatKey, .string(RelayEndpointsDocument.format)),
                    ObjectItem(RelayEndpointsDocument.regionsKey, .object(regions)),
                ])
            ])
    }

    /// A secret whose value Terraform knows (Memorystore outputs), readable by the runtime service account.
    static func secretWithValue(
        label: String, id: String, value: Expression, context: TerraformContext, deletionPolicy: String = "DISABLE"
    ) -> [Block] {
        [
            Security.secret(label: label, id: id, context: context),
            TF.resource("google_secret_manager_secret_version", label) {
                Attribute("secret", TF.ref("google_secret_manager_secret", label, "id"))
                Attribute("secret_data", value)
                // A new value replaces the version, and revisions pin versions by number (`CloudRun.pinnedVersion`):
                // the old one is disabled rather than destroyed ("changing secret_data ... deletes the existing
                // version and creates a new one, which may cause potential outages": the provider's docs), so it can
                // be enabled again to roll back. Not create_before_destroy: Terraform would force that onto the
                // Memorystore instance the value comes from ("Forced Create Before Destroy"), whose replacement would
                // then be created first under the name the old one holds, and fail. The cost is a short window in
                // which instances of the running revision that start cannot read the disabled version; its value
                // (the old endpoint, AUTH string or CA) is the one being replaced anyway.
                Attribute("deletion_policy", .string(deletionPolicy))
            },
            IAM.secretAccessor(label: label),
        ]
    }

    /// `rediss://:AUTH@host:port` (`redis://` without TLS, no credentials without AUTH).
    static func redisURL(_ instance: String, _ redis: Memorystore) -> Expression {
        var parts: [TemplatePart] = [.literal(redis.transitEncryption ? "rediss://" : "redis://")]
        if redis.auth {
            parts += [
                .literal(":"), .interpolation(TF.ref("google_redis_instance", instance, "auth_string")), .literal("@"),
            ]
        }
        parts += [
            .interpolation(TF.ref("google_redis_instance", instance, "host")), .literal(":"),
            .interpolation(TF.ref("google_redis_instance", instance, "port")),
        ]
        return .template(parts)
    }

    static func redisVersion(_ version: RedisVersion) -> String {
        "REDIS_" + String(version.rawValue.map { $0 == "." ? "_" : $0 }).uppercased()
    }
}
