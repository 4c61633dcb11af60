/// The Managed Service for Prometheus sidecar beside each bundled server ("the Google-recommended way to get
/// Prometheus-style monitoring for Cloud Run services": Cloud Run, Write Prometheus metrics by using the
/// Prometheus sidecar). A second container of the revision that scrapes the server's metrics listener and writes
/// the series to Cloud Monitoring as `prometheus_target` resources whose `location` is the region and `namespace`
/// the Cloud Run service (the sidecar's `RunMonitoring` defaults).
///
/// - The server serves `/metrics` on its second listener, bound to 127.0.0.1 (`METRICS_PORT`): the sidecar scrapes
///   `0.0.0.0:PORT`, which on Linux reaches the loopback listener of the instance it shares a network with, and
///   nothing outside the instance reaches it.
/// - Its configuration is a `RunMonitoring` document that the sidecar reads from `/etc/rungmp/config.yaml`: a secret
///   per service, mounted there at a pinned version (a new scrape interval is a new revision).
/// - It starts after the server (`depends_on`), and answers its own liveness probe on port 13133, whose handler
///   waits 5 s before it answers (the probe's timeout is longer).
/// - The runtime account writes the metrics: `roles/monitoring.metricWriter`.
/// - "We recommend that Cloud Run services running the sidecar also use the instance-based billing setting ...
///   Some scrape attempts might fail if the CPU allocation is throttled": the bundled services keep CPU allocated
///   (`cpu_always_allocated`, on by default).
public struct ServerMetricsExport: Sendable, Hashable {
    /// The secret holding the service's `RunMonitoring` document.
    public var secretID: String
    /// The server's metrics port the sidecar scrapes.
    public var port: Int
    public var intervalSeconds: Int

    /// The sidecar's image, pinned: the labels it writes (`namespace` for the service) changed between versions.
    public static let image =
        "us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar:1.9.1"
    /// The containers' names; the app's is what `depends_on` names.
    public static let appContainer = "app"
    public static let collectorContainer = "collector"
    public static let volumeName = "prometheus-config"
    public static let mountDirectory = "/etc/rungmp"
    public static let fileName = "config.yaml"
    public static let livenessPort = 13133
    /// The sidecar's own limits, as Google's multi-container sample gives its sidecar (`cpu: 500m` beside the
    /// server's `1000m`): a collector scraping one target needs little. Cloud Run bills an instance for the sum of
    /// its containers' limits, which `plan`'s cost counts.
    public static let cpu = "500m"
    public static let memory = "256Mi"
    public static let livenessPath = "/liveness"
    /// The server's default `METRICS_PORT`.
    public static let defaultPort = 9464
    /// The `RunMonitoring` document's name: the `job` label of the series.
    public static let jobName = "realtime-server"
}

extension Topology {
    /// The sidecar of `service`: a bundled server, with `monitoring.prometheus` on.
    public func metricsExport(_ service: RealtimeService) -> ServerMetricsExport? {
        guard monitoring.prometheus, service.image == .bundled else { return nil }
        let port = service.env["METRICS_PORT"].flatMap { Int($0) } ?? ServerMetricsExport.defaultPort
        return ServerMetricsExport(
            secretID: names.metricsExportSecret(service), port: port,
            intervalSeconds: monitoring.scrapeIntervalSeconds)
    }
}
