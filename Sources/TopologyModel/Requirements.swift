/// What the topology needs from Google Cloud, whichever way it is deployed. Every renderer reads these, so the
/// Terraform and the scripts enable the same APIs, grant the same roles and create the same secrets.
extension Topology {
    /// Whether any service runs the bundled reference server (built into the topology's Artifact Registry).
    public var usesBundledImage: Bool { services.contains { $0.image == .bundled } }

    /// Short names of the Google APIs the topology uses (`run` for run.googleapis.com), sorted.
    public var requiredAPIs: [String] {
        var apis = ["compute", "iam", "monitoring", "run", "secretmanager"]
        if memorystore != nil { apis += ["redis", "servicenetworking"] }
        if usesBundledImage { apis += ["artifactregistry", "cloudbuild"] }
        if firebaseEnabled { apis += ["firebase", "firebasedatabase"] }
        return apis.sorted()
    }

    /// Project roles of the runtime service account: telemetry, and RTDB writes when the fallback is on. Secret
    /// access is granted per secret, not here.
    public var runtimeRoles: [String] {
        var roles = ["roles/cloudtrace.agent", "roles/logging.logWriter", "roles/monitoring.metricWriter"]
        if firebaseEnabled { roles.append("roles/firebasedatabase.admin") }
        return roles.sorted()
    }

    /// Ids of the Secret Manager secrets the services name in `secrets`, each once, sorted.
    public var userSecretIDs: [String] {
        Set(services.flatMap { $0.secrets.values.map(\.secret) }).sorted()
    }

    /// Every secret the services read: the user's and, per region, the Redis URL and CA that tfctl fills.
    public var allSecretIDs: [String] {
        var ids = Set(userSecretIDs)
        if let redis = memorystore {
            for region in regions {
                ids.insert(names.redisURLSecret(region))
                if redis.transitEncryption { ids.insert(names.redisCASecret(region)) }
            }
        }
        return ids.sorted()
    }
}
