/// What the topology needs from Google Cloud, whichever way it is deployed. Every renderer reads these, so the
/// Terraform and the scripts enable the same APIs, grant the same roles and create the same secrets.
extension Topology {
    /// Whether any service runs the bundled reference server (built into the topology's Artifact Registry).
    public var usesBundledImage: Bool { services.contains { $0.image == .bundled } }

    /// Short names of the Google APIs the topology uses (`run` for run.googleapis.com), sorted.
    /// Whether anyone may invoke `service` without a Google identity: behind the load balancer, or with public
    /// ingress. Socket.IO clients are browsers, not Google identities; the service relies on its ingress setting,
    /// Cloud Armor and its own token check. Rendered by disabling Cloud Run's invoker IAM check rather than
    /// granting `roles/run.invoker` to `allUsers`: "The recommended way to make a public service is to disable
    /// the Cloud Run Invoker IAM check ... Use this solution when the project is subject to the domain
    /// restricted sharing constraint in an organization policy" (Cloud Run, "Allowing public (unauthenticated)
    /// access"), under which an `allUsers` binding is refused.
    public func isPublic(_ service: RealtimeService) -> Bool { loadBalancer != nil || service.ingress == .all }

    public var requiredAPIs: [String] {
        var apis: Set = ["compute", "iam", "logging", "monitoring", "run", "secretmanager"]
        if memorystore != nil { apis.formUnion(["redis", "servicenetworking"]) }
        if usesBundledImage { apis.formUnion(Self.imageBuildAPIs) }
        // The fallback's clients: custom tokens signed through IAM Credentials, exchanged at the Identity Toolkit
        // with an API key tfctl creates (API Keys).
        if firebaseEnabled {
            apis.formUnion(["apikeys", "firebase", "firebasedatabase", "iamcredentials", "identitytoolkit"])
        }
        return apis.sorted()
    }

    /// What building the bundled image needs: its repository, Cloud Build, the build's account, the staged source.
    public static let imageBuildAPIs = ["artifactregistry", "cloudbuild", "iam", "storage"]

    /// Project roles of the runtime service account: telemetry, and RTDB writes when the fallback is on. Secret
    /// access is granted per secret, not here.
    public var runtimeRoles: [String] { runtimeRoleReasons.map(\.role) }

    /// Each project role of the runtime service account with the feature that needs it; nothing else is granted
    /// (no trace agent: the server sends no traces; the metric writer only for the Prometheus sidecar, as Cloud
    /// Run's own metrics need no role of the service's).
    public var runtimeRoleReasons: [(role: String, reason: String)] {
        var roles = [
            (
                "roles/logging.logWriter",
                "The server's JSON log lines (JSONLogHandler) become structured Cloud Logging entries."
            )
        ]
        if services.contains(where: { metricsExport($0) != nil }) {
            roles.append(
                (
                    "roles/monitoring.metricWriter",
                    "The Prometheus sidecar beside each bundled server writes the server's metrics to Cloud Monitoring."
                ))
        }
        if firebaseEnabled {
            roles.append(
                (
                    "roles/firebasedatabase.admin",
                    "The Firebase fallback writes to the Realtime Database with this account (FIREBASE_DATABASE_URL); "
                        + "IAM has no narrower role for writes, nor one on a single database."
                ))
        }
        return roles.sorted { $0.0 < $1.0 }
    }

    /// Roles the runtime service account holds on itself, with the feature that needs each: with the fallback, the
    /// server signs its clients' Firebase custom tokens as that account through IAM Credentials' signBlob, which
    /// asks for `iam.serviceAccounts.signBlob` on the account (the Token Creator role); granted on the account,
    /// not the project, so it can sign as no other account.
    public var runtimeSelfRoles: [(role: String, reason: String)] {
        guard firebaseEnabled else { return [] }
        return [
            (
                "roles/iam.serviceAccountTokenCreator",
                "The server signs the Firebase fallback's custom tokens as this account (IAM Credentials signBlob)."
            )
        ]
    }

    /// Ids of the Secret Manager secrets the services name in `secrets`, each once, sorted.
    public var userSecretIDs: [String] {
        Set(services.flatMap { $0.secrets.values.map(\.secret) }).sorted()
    }

    /// User secrets some service reads at `latest`: each is pinned to its newest enabled version when tfctl
    /// deploys (Cloud Run reads a secret variable only when an instance starts), sorted by id.
    public var userSecretIDsPinnedAtDeploy: [String] {
        Set(services.flatMap { $0.secrets.values.filter { $0.version == "latest" }.map(\.secret) }).sorted()
    }

    /// Every secret the services read: the user's and, per region, the Redis URL and CA that tfctl fills, and the
    /// relay endpoints document.
    public var allSecretIDs: [String] {
        var ids = Set(userSecretIDs)
        if let redis = memorystore {
            for region in regions {
                ids.insert(names.redisURLSecret(region))
                if redis.transitEncryption { ids.insert(names.redisCASecret(region)) }
            }
        }
        if let relay = relayEndpoints { ids.insert(relay.secretID) }
        if firebaseEnabled { ids.insert(names.fallbackAPIKeySecret) }
        for service in services { if let export = metricsExport(service) { ids.insert(export.secretID) } }
        return ids.sorted()
    }
}
