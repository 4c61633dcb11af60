import JSON
import Shell
import TopologyModel

/// What deploy.sh sets up in Cloud Monitoring and Cloud Logging with gcloud: the email channels, the dashboard, the
/// uptime check and the log-based metric. The alert policies and the SLOs are Terraform's: gcloud has alert
/// policies only in alpha (`gcloud alpha monitoring policies`) and no command for SLOs at all; deploy.sh says so.
struct MonitoringSteps {
    let topology: Topology

    static let dashboardFile = "monitoring/dashboard.json"
    static let logMetricFile = "monitoring/connection-refusals.yaml"

    func statements() -> [Statement] {
        emailChannels() + dashboard() + uptime() + logMetric() + [
            G.log("Alert policies and SLOs: not created by this script (gcloud has no GA command for them); apply"),
            G.log("  the Terraform of this render for them."),
        ]
    }

    /// The files the steps read, beside the script.
    func files(header: String) -> [RenderedFile] {
        [
            RenderedFile(
                path: "gcloud/" + Self.dashboardFile, contents: TopologyDashboard.build(topology).json.pretty()),
            RenderedFile(
                path: "gcloud/" + Self.logMetricFile, contents: logMetricDocument().document(header: [header])),
        ]
    }

    /// One email channel per address, found by its address when it exists.
    private func emailChannels() -> [Statement] {
        let emails = topology.monitoring.emails
        guard !emails.isEmpty else { return [] }
        let existing = G.gcloud(
            "beta", "monitoring", "channels", "list", "--filter",
            .concat(["type=\"email\" AND labels.email_address=\"", .variable("email"), "\""]), "--format", "value(name)"
        )
        let body: [Statement] = [
            G.log(.concat(["Notification channel ", .variable("email")])),
            .if(
                Command.test(.syntax(.isEmpty), .substitution(existing)),
                then: [
                    G.run(
                        "beta", "monitoring", "channels", "create", "--display-name",
                        .concat([.literal("\(topology.name) on-call: "), .variable("email")]), "--type", "email",
                        "--channel-labels", .concat(["email_address=", .variable("email")]))
                ], else: [G.log("  exists, unchanged")]),
        ]
        // A loop over one word is a shellcheck warning (SC2043).
        if emails.count == 1 { return [.assign("email", .literal(emails[0]))] + body }
        return [.for("email", in: emails.map(Word.literal), body)]
    }

    /// The dashboard, found by its display name: created, or replaced by the file's.
    private func dashboard() -> [Statement] {
        let name = TopologyDashboard.build(topology).displayName
        let found = G.gcloud(
            "monitoring", "dashboards", "list", "--filter", .literal("displayName=\"\(name)\""), "--format",
            "value(name)", "--limit", "1")
        let file = Self.dashboardFile
        // Looked up in the test itself, as the channels are: a failing lookup stops nothing under `set -e` and
        // reads as "none", as with `--dry-run` where nothing is asked.
        return [
            G.log("Dashboard \(name)"),
            .if(
                Command.test(.syntax(.isEmpty), .substitution(found)),
                then: [G.run("monitoring", "dashboards", "create", Self.configFlag(file))],
                else: [G.run("monitoring", "dashboards", "update", .substitution(found), Self.configFlag(file))]),
        ]
    }

    /// `/healthz` through the load balancer from the model's checker regions, created once.
    private func uptime() -> [Statement] {
        guard let host = topology.loadBalancer?.domains.first else { return [] }
        let name = topology.names.uptimeCheck
        let found = G.gcloud(
            "monitoring", "uptime", "list-configs", "--filter", .literal("displayName=\"\(name)\""), "--format",
            "value(name)", "--limit", "1")
        return [
            G.log("Uptime check \(name)"),
            .if(
                Command.test(.syntax(.isEmpty), .substitution(found)),
                then: [
                    G.run(
                        "monitoring", "uptime", "create", .literal(name), "--resource-type", "uptime-url",
                        "--resource-labels", .concat(["host=\(host),project_id=", .variable("PROJECT")]),
                        "--protocol", "https", "--port", "443", "--path", "/healthz", "--validate-ssl", "true",
                        "--period", "1", "--timeout", "10",
                        "--regions",
                        .literal(topology.monitoring.uptimeRegions.map(Self.gcloudRegion).joined(separator: ",")),
                        "--matcher-content", "ok", "--matcher-type", "contains-string")
                ], else: [G.log("  exists, unchanged")]),
        ]
    }

    /// `--config-from-file=$HERE/FILE`.
    static func configFlag(_ file: String) -> Word {
        .concat([.literal("--config-from-file="), .variable("HERE"), .literal("/" + file)])
    }

    /// gcloud's spelling of an uptime checker region: `USA_OREGON` is `usa-oregon`.
    static func gcloudRegion(_ region: String) -> String {
        region.lowercased().replacingOccurrences(of: "_", with: "-")
    }

    /// The log-based metric of connection refusals (`MonitoringBlocks.refusalsLogMetric`), from its file.
    private func logMetric() -> [Statement] {
        let name = topology.names.refusalsLogMetric
        let file = Self.logMetricFile
        return [
            G.log("Log-based metric \(name)"),
            .if(
                G.exists(["logging", "metrics", "describe", .literal(name)]),
                then: [G.run("logging", "metrics", "update", .literal(name), Self.configFlag(file))],
                else: [G.run("logging", "metrics", "create", .literal(name), Self.configFlag(file))]),
        ]
    }

    /// The `LogMetric` (Cloud Logging API) `gcloud logging metrics create --config-from-file` reads.
    func logMetricDocument() -> YAMLValue {
        .map(
            ("name", .string(topology.names.refusalsLogMetric)),
            ("description", .string("Socket.IO connections the server refused, by reason (its audit lines).")),
            ("filter", .string(RefusalsLogMetric.filter(topology))),
            ("labelExtractors", .map(("reason", .string("EXTRACT(jsonPayload.reason)")))),
            (
                "metricDescriptor",
                .map(
                    ("metricKind", .string("DELTA")), ("valueType", .string("INT64")),
                    (
                        "labels",
                        .sequence([
                            .map(
                                ("key", .string("reason")), ("valueType", .string("STRING")),
                                ("description", .string(RefusalsLogMetric.labelDescription)))
                        ])
                    ))
            )
        )
    }
}

/// The log-based metric of connection refusals, shared by the Terraform and deploy.sh.
enum RefusalsLogMetric {
    static let labelDescription = "Why the server refused the Socket.IO connection."

    static func filter(_ topology: Topology) -> String {
        "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=~\"^(\(TopologyDashboard.runServices(topology)))$\" "
            + "AND jsonPayload.event=\"connection_audit\" AND jsonPayload.outcome=\"refused\""
    }
}
