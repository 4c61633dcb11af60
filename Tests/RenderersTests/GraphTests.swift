import EnvironmentLoader
import Foundation
import Renderers
import TestSupport
import Testing
import TopologyModel

/// `tfctl graph`: the topology and its Terraform resources as Mermaid and DOT, from the typed model; Graphviz
/// renders the DOT, every edge joins declared nodes, and README shows the prod picture as rendered.
@Suite struct GraphTests {
    static func topology(_ environment: String) throws -> Topology {
        try #require(
            EnvironmentLoader(workingDirectory: Repository.root.path).load(path: "Environments/\(environment).yaml")
                .topology)
    }

    @Test(
        "Graphviz renders every environment's DOT at both levels", Oracle.graphviz.trait,
        arguments: RenderGoldenTests.environments)
    func graphviz(_ environment: String) async throws {
        let directory = try temporaryDirectory("tfctl-graph")
        defer { try? FileManager.default.removeItem(at: directory) }
        for level in TopologyGraph.Level.allCases {
            let dot = DotPrinter.print(TopologyGraph.build(try Self.topology(environment), level: level))
            let source = directory.appendingPathComponent("\(level).dot")
            try Data(dot.utf8).write(to: source)
            let svg = directory.appendingPathComponent("\(level).svg")
            let result = try await Oracle.graphviz.run(["-Tsvg", source.path, "-o", svg.path])
            #expect(result.status == 0 && result.output.isEmpty, "\(environment) \(level): \(result.output)")
            let rendered = try String(contentsOf: svg, encoding: .utf8)
            #expect(rendered.contains("<svg"))
        }
    }

    @Test("every edge joins declared nodes, ids are unique, and the same model draws the same bytes")
    func wellFormed() throws {
        for environment in RenderGoldenTests.environments {
            for level in TopologyGraph.Level.allCases {
                let graph = TopologyGraph.build(try Self.topology(environment), level: level)
                let ids = graph.allNodes.map(\.id)
                #expect(Set(ids).count == ids.count, "\(environment) \(level): duplicate node ids")
                // The printed ids too: no two addresses map to one.
                let printed = MermaidPrinter.print(graph).matches(
                    of: /^\s+([A-Za-z][A-Za-z0-9_]*)[\[\{>]/.anchorsMatchLineEndings()
                )
                .map { String($0.1) }
                #expect(Set(printed).count == printed.count, "\(environment) \(level): ids collide once printed")
                for edge in graph.edges {
                    #expect(ids.contains(edge.from) && ids.contains(edge.to), "\(edge)")
                }
                #expect(
                    MermaidPrinter.print(graph)
                        == MermaidPrinter.print(TopologyGraph.build(try Self.topology(environment), level: level)))
            }
        }
    }

    @Test("the topology shows each region's services and Redis, the relays, the fallback and monitoring")
    func topologyLevel() throws {
        let graph = TopologyGraph.build(try Self.topology("prod"), level: .topology)
        #expect(graph.clusters.map(\.label) == ["us-central1", "europe-west1", "asia-southeast1"])
        let relays = graph.edges.filter { $0.label == "relay" }
        #expect(relays.count == 6 && relays.allSatisfy(\.dashed))
        #expect(graph.edges.contains { $0.from == "lb" && $0.to == "armor" })
        #expect(graph.edges.filter { $0.from == "armor" && $0.label == "serverless NEG" }.count == 3)
        #expect(graph.allNodes.contains { $0.id == "rtdb" && $0.shape == .store })
        #expect(graph.edges.contains { $0.from == "monitoring" && $0.to == "lb" })
    }

    @Test("the resources level is every Terraform resource, with its references as edges")
    func resourcesLevel() throws {
        let topology = try Self.topology("prod")
        let graph = TopologyGraph.build(topology, level: .resources)
        let terraform = TerraformRenderer().render(topology, source: "x").map(\.contents).joined()
        let declared = terraform.matches(of: /resource "([A-Za-z0-9_]+)" "([A-Za-z0-9_]+)"/).map { "\($0.1).\($0.2)" }
        #expect(Set(graph.allNodes.map(\.id)) == Set(declared))
        #expect(
            graph.edges.contains {
                $0.from == "google_cloud_run_v2_service.realtime_us_central1"
                    && $0.to == "google_service_account.runtime"
            })
    }

    @Test("labels are escaped for each format")
    func escaping() {
        var graph = Graph(title: "a \"b\"")
        graph.nodes = [.init("x-1", "say \"hi\" #1 | ok\nnext")]
        #expect(MermaidPrinter.print(graph).contains(#"x_x2d_1["say #quot;hi#quot; #35;1 #124; ok<br>next"]"#))
        #expect(DotPrinter.print(graph).contains(#""x_x2d_1" [label="say \"hi\" #1 | ok\nnext", shape=box];"#))
        #expect(DotPrinter.print(graph).hasPrefix(#"digraph "a \"b\"" {"#))
    }

    @Test("README shows the prod topology as tfctl graph draws it")
    func readme() throws {
        let readme = try String(contentsOf: Repository.url("README.md"), encoding: .utf8)
        let picture = MermaidPrinter.print(TopologyGraph.build(try Self.topology("prod"), level: .topology))
        #expect(readme.contains("```mermaid\n" + picture + "```\n"), "README's Mermaid picture is not the render's")
    }
}
