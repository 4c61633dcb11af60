import EnvironmentLoader
import Foundation
import JSON
import RenderPipeline
import Renderers
import TestSupport
import Testing
import TopologyModel

/// Observability as rendered: the dashboard holds to the documented `Dashboard` structure, every query is well
/// formed and reads only catalogued Google metrics, every alert tfctl knows is rendered with its documentation,
/// severity and channels from the model, and the SLOs read the series the sidecar writes. (The server's metric
/// names themselves are compared with a scrape of the running server in `test_monitoring.py`.)
@Suite struct MonitoringTests {
    static func topology(_ environment: String) throws -> Topology {
        try #require(
            EnvironmentLoader(workingDirectory: Repository.root.path).load(path: "Environments/\(environment).yaml")
                .topology)
    }

    static func file(_ environment: String, _ path: String) throws -> String {
        try #require(try RenderGoldenTests.render(environment).first { $0.path == path }).contents
    }

    @Test(
        "the dashboard is a 48-column mosaic whose tiles lie inside the grid without overlapping",
        arguments: RenderGoldenTests.environments)
    func dashboardLayout(_ environment: String) throws {
        let text = try Self.file(environment, "gcloud/monitoring/dashboard.json")
        let dashboard = try #require(JSONValue.parse(Substring(text)))
        #expect(dashboard["displayName"]?.stringValue?.isEmpty == false)
        let layout = try #require(dashboard["mosaicLayout"])
        #expect(layout["columns"]?.numberValue == 48)
        guard case .array(let tiles)? = layout["tiles"] else { Issue.record("no tiles"); return }
        #expect(tiles.count >= 10)
        var taken: Set<[Int]> = []
        for tile in tiles {
            let x = Int(tile["xPos"]?.numberValue ?? -1), y = Int(tile["yPos"]?.numberValue ?? -1)
            let width = Int(tile["width"]?.numberValue ?? 0), height = Int(tile["height"]?.numberValue ?? 0)
            #expect(x >= 0 && y >= 0 && width >= 1 && height >= 1 && x + width <= 48, "\(tile)")
            for column in x..<(x + max(width, 0)) {
                for row in y..<(y + max(height, 0)) {
                    #expect(taken.insert([column, row]).inserted, "tiles overlap at \(column),\(row)")
                }
            }
            let widget = try #require(tile["widget"])
            #expect(widget["title"]?.stringValue?.isEmpty == false)
            // Exactly one kind of widget.
            let kinds = ["xyChart", "sectionHeader"].filter { widget[$0] != nil }
            #expect(kinds.count == 1, "\(widget)")
            guard case .array(let dataSets)? = widget["xyChart"]?["dataSets"] else { continue }
            #expect(!dataSets.isEmpty)
            for dataSet in dataSets {
                let query = try #require(dataSet["timeSeriesQuery"])
                let forms = ["prometheusQuery", "timeSeriesFilter", "timeSeriesQueryLanguage"].filter {
                    query[$0] != nil
                }
                #expect(forms.count == 1, "\(query)")
                if let promql = query["prometheusQuery"]?.stringValue { Self.wellFormed(promql) }
                if let filter = query["timeSeriesFilter"]?["filter"]?.stringValue {
                    let type = try #require(filter.firstMatch(of: /metric\.type = "([^"]+)"/)?.1)
                    #expect(GoogleMetric(rawValue: String(type)) != nil, "\(type) is not in GoogleMetric")
                    #expect(query["timeSeriesFilter"]?["aggregation"]?["perSeriesAligner"] != nil)
                }
            }
        }
    }

    /// Balanced brackets and quotes, no empty selector.
    static func wellFormed(_ query: String, sourceLocation: SourceLocation = #_sourceLocation) {
        var depth: [Character] = []
        var quoted = false
        var previous: Character = " "
        for character in query {
            if quoted {
                if character == "\"" && previous != "\\" { quoted = false }
            } else if character == "\"" {
                quoted = true
            } else if "([{".contains(character) {
                depth.append(character)
            } else if let open = ([")": "(", "]": "[", "}": "{"] as [Character: Character])[character] {
                let last = depth.popLast()
                #expect(last == open, "unbalanced \(query)", sourceLocation: sourceLocation)
            }
            previous = character
        }
        #expect(depth.isEmpty && !quoted, "unbalanced \(query)", sourceLocation: sourceLocation)
        #expect(!query.contains("{}"), "\(query)", sourceLocation: sourceLocation)
    }

    @Test("the Terraform dashboard is the same tree as deploy.sh's file")
    func dashboardOneTree() throws {
        let topology = try Self.topology("prod")
        let json = TopologyDashboard.build(topology).json
        let file = try Self.file("prod", "gcloud/monitoring/dashboard.json")
        #expect(JSONValue.parse(Substring(file)) == json)
        let terraform = try Self.file("prod", "terraform/monitoring.tf")
        #expect(terraform.contains("dashboard_json = jsonencode({"))
        #expect(terraform.contains("columns = 48"))
    }

    @Test("prod renders every alert tfctl knows, each with documentation, severity, auto-close and its channels")
    func everyAlert() throws {
        let terraform = try Self.file("prod", "terraform/monitoring.tf")
        let topology = try Self.topology("prod")
        for kind in AlertKind.allCases {
            #expect(terraform.contains("alert    = \"\(kind.rawValue)\""), "\(kind) is not rendered")
            #expect(!AlertCatalog.documentation(kind, topology).isEmpty)
        }
        let policies = terraform.components(separatedBy: "resource \"google_monitoring_alert_policy\"").dropFirst()
        #expect(policies.count >= AlertKind.allCases.count)
        for policy in policies {
            #expect(policy.contains("severity"), "\(policy.prefix(120))")
            #expect(policy.contains("auto_close = \"1800s\""))
            #expect(policy.contains("google_monitoring_notification_channel.email_0.id"))
            #expect(policy.contains("mime_type = \"text/markdown\""))
        }
    }

    @Test("severity, auto-close, channels and thresholds come from the model")
    func fromTheModel() throws {
        var topology = try Self.topology("prod")
        topology.monitoring.severities[.connectRefusals] = .critical
        topology.monitoring.autoCloseSeconds = 7200
        topology.monitoring.channels = ["projects/tenderflow-prod/notificationChannels/42"]
        topology.monitoring.alerts.refusalsPerMinute = 250
        let terraform = try #require(
            TerraformRenderer().render(topology, source: "x").first { $0.path == "terraform/monitoring.tf" }
        ).contents
        let refusals = try #require(
            terraform.components(separatedBy: "resource \"google_monitoring_alert_policy\" \"connect_refusals\"").last?
                .components(separatedBy: "\nresource ").first)
        #expect(
            refusals.contains("severity              = \"CRITICAL\"") || refusals.contains("severity = \"CRITICAL\"")
                || refusals.contains("\"CRITICAL\""))
        #expect(refusals.contains("auto_close = \"7200s\""))
        #expect(refusals.contains("\"projects/tenderflow-prod/notificationChannels/42\""))
        #expect(refusals.contains("> 250"))
        #expect(AlertCatalog.documentation(.connectRefusals, topology).contains("250"))
    }

    @Test("without the sidecar, no alert or SLO reads the server's metrics, and the dashboard keeps Google's rows")
    func prometheusOff() throws {
        var topology = try Self.topology("prod")
        topology.monitoring.prometheus = false
        let files = TerraformRenderer().render(topology, source: "x")
        let monitoring = try #require(files.first { $0.path == "terraform/monitoring.tf" }).contents
        let cloudRun = try #require(files.first { $0.path == "terraform/cloud_run.tf" }).contents
        for kind in AlertKind.allCases where kind.needsServerMetrics {
            #expect(!monitoring.contains("\"\(kind.rawValue)\""), "\(kind)")
        }
        #expect(!monitoring.contains("google_monitoring_slo"))
        #expect(!cloudRun.contains("collector"))
        #expect(!topology.runtimeRoles.contains("roles/monitoring.metricWriter"))
        let dashboard = TopologyDashboard.build(topology)
        #expect(
            dashboard.tiles.allSatisfy { tile in
                guard case .chart(let chart) = tile.widget else { return true }
                return chart.dataSets.allSatisfy { if case .filter = $0.query { true } else { false } }
            })
    }

    @Test("the sidecar scrapes the server's metrics port after it starts, with its configuration pinned")
    func sidecar() throws {
        let cloudRun = try Self.file("prod", "terraform/cloud_run.tf")
        #expect(cloudRun.contains(/name\s+= "collector"/))
        #expect(cloudRun.contains("depends_on = [\"app\"]"))
        #expect(cloudRun.contains("google_secret_manager_secret_version.prometheus_realtime.version"))
        let topology = try Self.topology("prod")
        let export = try #require(topology.metricsExport(topology.services[0]))
        #expect(export.port == ServerMetricsExport.defaultPort)
        #expect(topology.runtimeRoles.contains("roles/monitoring.metricWriter"))
        let monitoring = try Self.file("prod", "terraform/monitoring.tf")
        #expect(monitoring.contains("kind: RunMonitoring"))
        #expect(monitoring.contains("port: '9464'"))
    }

    @Test("the SLOs read the sidecar's series and the latency threshold is one of the histogram's buckets")
    func objectives() throws {
        let monitoring = try Self.file("prod", "terraform/monitoring.tf")
        #expect(monitoring.contains("prometheus.googleapis.com/realtime_handshakes_total/counter"))
        #expect(monitoring.contains("prometheus.googleapis.com/realtime_delivery_latency_seconds/histogram"))
        #expect(
            monitoring.contains(
                "select_slo_burn_rate(\\\"${google_monitoring_slo.handshake_availability[0].name}\\\", \\\"3600s\\\")"))
        let topology = try Self.topology("prod")
        #expect(
            ServiceLevelObjectives.latencyBuckets.contains(topology.monitoring.objectives.deliveryLatencyMilliseconds))
    }

    @Test("PromQL prints its tree, quoting values and naming the metrics it reads")
    func promql() {
        let query = PromQL.binary(
            .sum(by: ["location"], .rate("realtime_connects_total", [.init("reason", "=", "a\"b\\c")], window: 90)),
            ">",
            .number(2.5))
        #expect(query.text == #"(sum by (location) (rate(realtime_connects_total{reason="a\"b\\c"}[90s]))) > 2.5"#)
        #expect(query.metrics == ["realtime_connects_total"])
        #expect(PromQL.quantile(0.99, "h", [], by: []).metrics == ["h_bucket"])
    }

    @Test("README's Operating it section carries every alert's documentation with the default thresholds")
    func readme() throws {
        let readme = try String(contentsOf: Repository.url("README.md"), encoding: .utf8)
        let topology = Topology(project: "PROJECT", name: "TOPOLOGY", regions: [], services: [], memorystore: nil)
        for kind in AlertKind.allCases {
            let row =
                "| `\(kind.rawValue)` | \(kind.defaultSeverity.rawValue.lowercased()) | "
                + AlertCatalog.documentation(kind, topology) + " |"
            #expect(readme.contains(row), "README lacks \(kind.rawValue)'s row")
        }
    }
}
