import Diagnostics
import EnvironmentLoader
import Foundation
import RenderPipeline
import TestSupport
import Testing
import TopologyModel
import Validation

/// Every invalid fixture with its exact expected diagnostics (`<fixture>.err`, written by `make goldens`).
@Suite struct FixtureTests {
    static let directory = Repository.url("Tests/ValidationTests")
    static let fixtures: [String] = {
        let invalid = directory.appendingPathComponent("Fixtures/invalid")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: invalid.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") && !$0.hasPrefix("_") }.sorted()
    }()

    static func diagnose(_ fixture: String) -> (Pipeline, String) {
        let loader = EnvironmentLoader(workingDirectory: directory.path)
        let pipeline = Pipeline(environment: "Fixtures/invalid/\(fixture)", loader: loader)
        let text = DiagnosticFormatter(sources: pipeline.loaded.sources).text(pipeline.diagnostics)
        return (pipeline, text)
    }

    @Test("fixtures are present")
    func present() { #expect(Self.fixtures.count >= 25) }

    @Test("fixture produces exactly its expected diagnostics", arguments: fixtures)
    func fixture(_ name: String) {
        let (pipeline, text) = Self.diagnose(name)
        #expect(!pipeline.diagnostics.isEmpty, "\(name) is supposed to be invalid")
        let golden = Self.directory.appendingPathComponent("Fixtures/invalid/\(name.dropLast(5)).err")
        if let problem = Golden.compare(text, golden: golden) { Issue.record("\(name): \(problem)") }
    }

    @Test("every rule has a fixture that triggers it")
    func coverage() {
        var seen: Set<String> = []
        for fixture in Self.fixtures { seen.formUnion(Self.diagnose(fixture).0.diagnostics.map(\.rule.rawValue)) }
        // TFC0009 is about the file named by --env, which a fixture cannot be: LoaderTests covers it.
        let missing = RuleCatalog.all.map(\.id.rawValue).filter { !seen.contains($0) && $0 != "TFC0009" }
        #expect(missing.isEmpty, "rules without a fixture: \(missing)")
    }

    @Test("every diagnostic of a loaded file has a location and a rule the catalog explains")
    func wellFormed() {
        for fixture in Self.fixtures {
            for diagnostic in Self.diagnose(fixture).0.diagnostics {
                #expect(diagnostic.location != nil, "\(fixture): \(diagnostic.message) has no location")
                let rule = RuleCatalog.rule(diagnostic.rule.rawValue)
                #expect(rule != nil, "\(diagnostic.rule) is not in the catalog")
                #expect(rule?.severity == diagnostic.severity, "\(diagnostic.rule) reported as \(diagnostic.severity)")
            }
        }
    }

    @Test("README lists every rule with its severity and title")
    func readme() throws {
        let readme = try String(contentsOf: Repository.url("README.md"), encoding: .utf8)
        for rule in RuleCatalog.all {
            let row = "| \(rule.id) | \(rule.family) | \(rule.severity.rawValue) | \(rule.title) |"
            #expect(readme.contains(row), "README.md lacks the row: \(row)")
        }
    }

    @Test("JSON diagnostics carry the same facts, under a versioned schema")
    func json() throws {
        let (pipeline, _) = Self.diagnose("cloudrun-limits.yaml")
        let text = DiagnosticFormatter(sources: pipeline.loaded.sources).json(pipeline.diagnostics)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(document["schema"] as? String == "tfctl.diagnostics/v1")
        let diagnostics = try #require(document["diagnostics"] as? [[String: Any]])
        #expect(diagnostics.count == pipeline.diagnostics.count)
        #expect(diagnostics.first?["rule"] as? String == pipeline.diagnostics.first?.rule.rawValue)
        #expect(diagnostics.first?["line"] as? Int == pipeline.diagnostics.first?.location?.line)
        #expect(document["errors"] as? Int == pipeline.diagnostics.errorCount)
    }
}

/// Rules run on topologies built in code too: no file, so diagnostics name the model path.
@Suite struct ModelValidationTests {
    func topology(_ change: (inout Topology) -> Void = { _ in }) -> Topology {
        var topology = Topology(
            project: "tenderflow-test", name: "realtime", regions: ["us-central1"],
            services: [RealtimeService(name: "realtime")],
            loadBalancer: LoadBalancer(domains: ["realtime.example.com"]),
            monitoring: Monitoring(emails: ["oncall@example.com"]))
        change(&topology)
        return topology
    }

    @Test("a sound topology built in code has no diagnostics")
    func sound() { #expect(Validator().validate(topology()).isEmpty) }

    @Test("diagnostics without a source map point at the model path")
    func unlocated() {
        let diagnostics = Validator().validate(topology { $0.services[0].concurrency = 1200 })
        #expect(diagnostics.map(\.rule.rawValue) == ["TFC0302"])
        #expect(diagnostics.first?.location == nil)
        #expect(diagnostics.first?.path == "services.realtime.concurrency")
        let text = DiagnosticFormatter(sources: [:]).text(diagnostics)
        #expect(
            text.hasPrefix(
                "<topology>: error[TFC0302]: concurrency 1200 exceeds Cloud Run's maximum of 1000\n  at: services.realtime.concurrency\n"
            ))
    }

    @Test(
        "Cloud Run CPU and memory pairs",
        arguments: [
            (1000, 512, true), (1000, 4096, true), (1000, 4097, false), (2000, 8192, true), (2000, 8193, false),
            (4000, 2048, true), (4000, 1024, false), (6000, 4096, true), (8000, 32768, true), (8000, 32769, false),
            (3000, 1024, false),
        ])
    func resources(millicores: Int, mebibytes: Int, valid: Bool) {
        let diagnostics = Validator().validate(
            topology {
                $0.services[0].cpu = CPU(millicores: millicores)
                $0.services[0].memory = MemorySize(mebibytes: mebibytes)
            })
        #expect(diagnostics.isEmpty == valid, "\(millicores)m / \(mebibytes)Mi: \(diagnostics.map(\.message))")
    }

    @Test("capacity is the sum over services times regions")
    func capacity() {
        let ok = topology {
            $0.services = [RealtimeService(name: "a", maxInstances: 5), RealtimeService(name: "b", maxInstances: 5)]
            $0.regions = ["us-central1", "europe-west1"]
            $0.capacity = Capacity(peakConnections: 16000, peakMessagesPerSecond: 1, headroom: 0.25)
        }
        #expect(
            Validator().validate(ok).filter { $0.rule.rawValue.hasPrefix("TFC08") }.map(\.rule.rawValue) == ["TFC0802"])
        var tight = ok
        tight.capacity = Capacity(peakConnections: 16001, peakMessagesPerSecond: 1, headroom: 0.25)
        #expect(Validator().validate(tight).contains { $0.rule.rawValue == "TFC0801" })
    }
}
