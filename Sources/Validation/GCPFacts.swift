/// Google Cloud limits and lists the rules check against, each with where it is documented.
enum GCPFacts {
    /// Regions that offer Cloud Run (https://cloud.google.com/run/docs/locations).
    static let cloudRunRegions = [
        "africa-south1", "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
        "asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2", "australia-southeast1",
        "australia-southeast2", "europe-central2", "europe-north1", "europe-north2", "europe-southwest1",
        "europe-west1", "europe-west10", "europe-west12", "europe-west2", "europe-west3", "europe-west4",
        "europe-west6", "europe-west8", "europe-west9", "me-central1", "me-central2", "me-west1",
        "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1", "southamerica-east1",
        "southamerica-west1", "us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1",
        "us-west2", "us-west3", "us-west4",
    ]

    /// Firebase Realtime Database locations (https://firebase.google.com/docs/database/locations).
    static let rtdbLocations = ["asia-southeast1", "europe-west1", "us-central1"]

    /// Cloud Armor rate-limit intervals (https://cloud.google.com/armor/docs/rate-limiting-overview).
    static let armorIntervals = [10, 30, 60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700, 3600]

    /// Cloud Run request timeout ceiling in seconds (https://cloud.google.com/run/docs/configuring/request-timeout).
    static let maxTimeoutSeconds = 3600
    /// Cloud Run concurrency ceiling (https://cloud.google.com/run/docs/about-concurrency).
    static let maxConcurrency = 1000
    /// Whole vCPU values Cloud Run offers above 1.
    static let wholeCPUs = [1, 2, 4, 6, 8]
    /// Smallest fractional CPU Cloud Run offers, in millicores.
    static let minMillicores = 80
    /// Memorystore for Redis capacity bounds in GB (https://cloud.google.com/memorystore/docs/redis/redis-tiers).
    static let redisMemoryGB = 1...300
    static let readReplicaMinimumGB = 5
    static let readReplicaCount = 1...5
    /// Baseline regional Cloud Run quota (https://cloud.google.com/run/docs/configuring/max-instances-limits).
    static let defaultRegionalVCPUQuota = 1000
    static let defaultRegionalMemoryQuotaGiB = 2000
    /// Environment variables Cloud Run sets itself.
    static let reservedEnv = ["K_CONFIGURATION", "K_REVISION", "K_SERVICE", "PORT"]

    /// Uptime checker regions (`UptimeCheckRegion`, https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.uptimeCheckConfigs):
    /// a check runs from at least three. The API also has `USA` (all three US locations), which
    /// `gcloud monitoring uptime create --regions` does not take, so deploy.sh could not create the same check.
    static let uptimeRegions: Set<String> = [
        "EUROPE", "SOUTH_AMERICA", "ASIA_PACIFIC", "USA_OREGON", "USA_IOWA", "USA_VIRGINIA",
    ]
    /// An alert policy's `alertStrategy.autoClose` (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies):
    /// at least 30 minutes, at most 7 days.
    static let autoCloseSeconds = 1800...604_800
}
