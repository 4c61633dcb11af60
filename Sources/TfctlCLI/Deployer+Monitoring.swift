import Foundation
import Renderers
import TopologyModel

/// What the monitoring needs to know about the live project before Terraform plans it: whether Cloud Monitoring
/// knows the server's metrics yet (the SLOs are created only then: the API refuses an SLO on a metric it does not
/// know, and the sidecar writes the first series once the services run), and whether the load balancer's
/// certificate serves (the uptime alert is enabled only then, so a first deploy does not page while DNS and the
/// certificate settle). Both default to false in the Terraform; a second `tfctl apply` after the first scrape, or
/// once the certificate is ACTIVE, turns them on, and `plan` says so.
extension Deployer {
    func monitoringVariables() throws -> [String] {
        var variables: [String] = []
        if !ServerSeries.services(topology).isEmpty {
            let known = try serverMetricsKnown()
            log(
                known
                    ? "Cloud Monitoring has the server's metrics: the SLOs and their burn-rate alerts are applied."
                    : "Cloud Monitoring has no server metrics yet: the SLOs wait for the next apply, after the "
                        + "sidecars' first scrape.")
            variables += ["-var", "\(ServerAlerts.metricsExistVariable)=\(known)"]
        }
        if let lb = topology.loadBalancer {
            let name = LoadBalancerNames.certificate(lb.certificateDomains[0], topology.names)
            let described = try runner.capture(
                "gcloud",
                [
                    "compute", "ssl-certificates", "describe", name, "--global", "--format", "value(managed.status)",
                    "--project", topology.project,
                ])
            let active =
                described.status == 0
                && described.output.trimmingCharacters(in: .whitespacesAndNewlines)
                    == "ACTIVE"
            if !active {
                log(
                    "Certificate \(name) is not ACTIVE yet: the uptime alert stays disabled until an apply finds it is."
                )
            }
            variables += ["-var", "\(MonitoringBlocks.edgeServingVariable)=\(active)"]
        }
        return variables
    }

    /// Whether the metric descriptor of the handshake counter exists (Cloud Monitoring's REST API; gcloud has no
    /// command for metric descriptors).
    private func serverMetricsKnown() throws -> Bool {
        try withGoogleHeaders { headers in try descriptorExists(headers: headers) }
    }

    private func descriptorExists(headers: URL) throws -> Bool {
        let type = PrometheusMetricType.counter("realtime_handshakes_total")
            .replacingOccurrences(of: "/", with: "%2F")
        let url = "https://monitoring.googleapis.com/v3/projects/\(topology.project)/metricDescriptors/\(type)"
        // 200: known; 404: not yet. Anything else (no access) is not a reason to stop the apply: not yet.
        let status = try runner.capture(
            "curl",
            [
                "--silent", "--header", "@" + headers.path, "--output", "/dev/null", "--write-out", "%{http_code}",
                url,
            ])
        return status.status == 0 && status.output.trimmingCharacters(in: .whitespacesAndNewlines) == "200"
    }
}
