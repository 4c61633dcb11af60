import HCL
import TopologyModel

/// The Firebase Realtime Database fallback (google-beta only).
enum Firebase {
    static let database = "fallback"

    static func blocks(_ context: TerraformContext) -> [Block] {
        guard let firebase = context.topology.firebase, firebase.enabled else { return [] }
        return [
            TF.resource("google_firebase_project", "default") {
                Attribute("provider", .ref("google-beta"))
                Attribute("project", TF.variable("project_id"))
                TF.dependsOn([context.api("firebase")])
            },
            TF.resource("google_firebase_database_instance", database) {
                Attribute("provider", .ref("google-beta"))
                Attribute("project", TF.ref("google_firebase_project", "default", "project"))
                Attribute("region", .string(firebase.location))
                Attribute("instance_id", .string(context.names.firebaseDatabase))
                Attribute("type", "USER_DATABASE")
                Attribute("desired_state", "ACTIVE")
                TF.dependsOn([context.api("firebasedatabase")])
            },
        ]
    }
}

/// What operators need after apply: where to point DNS, where each region's service and Redis live.
enum Outputs {
    static func blocks(_ context: TerraformContext) -> [Block] {
        var blocks: [Block] = []
        if context.topology.loadBalancer != nil {
            blocks.append(
                Block("output", "load_balancer_ip") {
                    Attribute("description", "Point the certificate's domains (A records) at this address.")
                    Attribute("value", TF.ref("google_compute_global_address", "load_balancer", "address"))
                })
        }
        for service in context.services {
            blocks.append(
                Block("output", TF.label(service.name, "urls")) {
                    Attribute("description", .string("Cloud Run URL of '\(service.name)' by region."))
                    Attribute(
                        "value",
                        .object(
                            context.regions.map { region in
                                ObjectItem(
                                    region,
                                    TF.ref("google_cloud_run_v2_service", CloudRun.label(service, region), "uri"))
                            }))
                })
        }
        if context.topology.memorystore != nil {
            blocks.append(
                Block("output", "redis_hosts") {
                    Attribute("description", "Memorystore host by region.")
                    Attribute(
                        "value",
                        .object(
                            context.regions.map { region in
                                ObjectItem(
                                    region, TF.ref("google_redis_instance", MemorystoreBlocks.instance(region), "host"))
                            }))
                })
        }
        if context.topology.firebaseEnabled {
            blocks.append(
                Block("output", "firebase_database_url") {
                    Attribute("description", "URL of the Realtime Database fallback.")
                    Attribute("value", TF.ref("google_firebase_database_instance", Firebase.database, "database_url"))
                })
        }
        return blocks
    }
}
