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
        ] + webAPIKey(context)
    }

    static let apiKeyLabel = "fallback_web"
    static let apiKeySecretLabel = "firebase_api_key"

    /// The browser key fallback clients sign in with (`accounts:signInWithCustomToken` wants one of the project's
    /// API keys), allowed nothing but the Identity Toolkit API, and the secret the services read it from. Not a
    /// secret to the browser ("API keys for Firebase services ... are not secret", Firebase, "Learn about using
    /// and managing API keys"): the server hands it out with the fallback token, so the key is kept out of every
    /// rendered file and reaches the services as the Redis endpoints do. No referrer restriction: a page whose
    /// policy sends no `Referer` would be refused, and the key opens only a sign-in that needs a custom token
    /// only the runtime account signs.
    static func webAPIKey(_ context: TerraformContext) -> [Block] {
        [
            TF.resource("google_apikeys_key", apiKeyLabel) {
                // google-beta, whose user_project_override bills the call to the project: the API Keys API refuses
                // a person's credentials without a quota project, which they do not have.
                Attribute("provider", .ref("google-beta"))
                Attribute("project", TF.variable("project_id"))
                Attribute("name", .string(context.names.fallbackAPIKey))
                Attribute("display_name", .string("\(context.topology.name) fallback clients (Firebase Auth)"))
                Block("restrictions") {
                    Block("api_targets") {
                        Attribute("service", .string(FirebaseAPIKeySteps.identityToolkit))
                    }
                }
                TF.dependsOn([context.api("apikeys"), context.api("identitytoolkit")])
            }
        ]
            + MemorystoreBlocks.secretWithValue(
                label: apiKeySecretLabel, id: context.names.fallbackAPIKeySecret,
                value: TF.ref("google_apikeys_key", apiKeyLabel, "key_string"), context: context)
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
