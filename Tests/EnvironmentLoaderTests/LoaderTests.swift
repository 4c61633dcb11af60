import Diagnostics
import Foundation
import Testing
import TopologyModel

@testable import EnvironmentLoader

/// An in-memory file system, so loader tests name their files and see exact locations.
func loader(_ files: [String: String]) -> EnvironmentLoader {
    EnvironmentLoader(workingDirectory: "/work") { path in
        let relative = path.hasPrefix("/work/") ? String(path.dropFirst("/work/".count)) : path
        guard let text = files[relative] else { throw CocoaStyleError.notFound }
        return text
    }
}

enum CocoaStyleError: Error { case notFound }

let minimal = """
    project: tenderflow-dev
    name: realtime
    regions: [us-central1]
    services:
      realtime: {}

    """

@Suite struct LoaderTests {
    @Test("decodes the documented defaults from a minimal file")
    func defaults() throws {
        let loaded = loader(["env.yaml": minimal]).load(path: "env.yaml")
        #expect(loaded.diagnostics.isEmpty)
        let topology = try #require(loaded.topology)
        let service = try #require(topology.services.first)
        #expect(service == RealtimeService(name: "realtime"))
        #expect(topology.memorystore == nil)
        #expect(topology.loadBalancer == nil)
        #expect(loaded.name == "env")
    }

    @Test("overlays merge mappings deeply, replace scalars and lists, and null removes a key")
    func overlay() throws {
        let base =
            minimal + """
                labels: { team: platform, app: tenderflow }
                memorystore: { tier: standard_ha, memory_gb: 1 }
                load_balancer: { domains: [a.example.com, b.example.com] }
                """
        let top = """
            extends: base.yaml
            regions: [europe-west1, us-central1]
            labels: { app: null, env: prod }
            services: { realtime: { max_instances: 50 } }
            memorystore: { memory_gb: 5 }
            load_balancer: { domains: [c.example.com] }
            firebase: null
            """
        let loaded = loader(["envs/base.yaml": base, "envs/prod.yaml": top]).load(path: "envs/prod.yaml")
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        let topology = try #require(loaded.topology)
        #expect(topology.regions == ["europe-west1", "us-central1"])
        #expect(topology.labels == ["team": "platform", "env": "prod"])
        #expect(topology.services.first?.maxInstances == 50)
        #expect(topology.services.first?.concurrency == 1000)
        #expect(topology.memorystore == Memorystore(tier: .standardHA, memoryGB: 5))
        #expect(topology.loadBalancer?.domains == ["c.example.com"])
        // Values keep the location of the file that set them.
        #expect(loaded.sourceMap.location(of: "memorystore.memory_gb")?.description == "envs/prod.yaml:5:27")
        #expect(loaded.sourceMap.location(of: "memorystore.tier")?.description == "envs/base.yaml:7:22")
        #expect(loaded.sourceMap.location(of: "services.realtime.timeout")?.file == "envs/prod.yaml")
    }

    @Test("reports unknown keys with the nearest valid key, at the key")
    func unknownKey() {
        let loaded = loader(["e.yaml": minimal + "memorystore: { memroy_gb: 2 }\n"]).load(path: "e.yaml")
        #expect(loaded.topology == nil)
        #expect(loaded.diagnostics.count == 1)
        let diagnostic = loaded.diagnostics[0]
        #expect(diagnostic.rule.rawValue == "TFC0003")
        #expect(diagnostic.location?.description == "e.yaml:6:16")
        #expect(diagnostic.help == "did you mean 'memory_gb'?")
    }

    @Test("extends cycles and missing files are errors at the extends value")
    func extendsProblems() {
        let cycle = loader(["a.yaml": "extends: b.yaml\n", "b.yaml": "extends: a.yaml\n"]).load(path: "a.yaml")
        #expect(cycle.diagnostics.map(\.rule.rawValue) == ["TFC0005"])
        #expect(cycle.diagnostics.first?.message == "'a.yaml' extends itself: a.yaml -> b.yaml -> a.yaml")
        #expect(cycle.diagnostics.first?.location?.description == "b.yaml:1:10")
        let missing = loader(["a.yaml": "extends: ../nope.yaml\n"]).load(path: "a.yaml")
        #expect(missing.diagnostics.map(\.rule.rawValue) == ["TFC0006"])
        let absent = loader([:]).load(path: "Environments/none.yaml")
        #expect(absent.diagnostics.map(\.rule.rawValue) == ["TFC0009"])
        #expect(absent.diagnostics.first?.location == nil)
    }

    @Test("YAML syntax errors and duplicate keys carry a location")
    func syntax() {
        let broken = loader(["e.yaml": "project: [unclosed\nname: x\n"]).load(path: "e.yaml")
        #expect(broken.diagnostics.map(\.rule.rawValue) == ["TFC0001"])
        #expect(broken.diagnostics.first?.location?.file == "e.yaml")
        let duplicate = loader(["e.yaml": minimal + "project: again\n"]).load(path: "e.yaml")
        #expect(duplicate.diagnostics.map(\.rule.rawValue) == ["TFC0008"])
    }

    @Test("wrong types say what was expected and what was found")
    func types() {
        let loaded = loader([
            "e.yaml": minimal.replacingFirst("realtime: {}", with: "realtime: { concurrency: many, env: [A] }")
        ])
        .load(path: "e.yaml")
        let messages = loaded.diagnostics.map(\.message)
        #expect(
            messages == [
                "`services.realtime.concurrency` expects an integer, found 'many'",
                "`services.realtime.env` expects a mapping, found a list",
            ])
    }

    @Test("--env takes a name or a path")
    func environmentPath() {
        #expect(EnvironmentLoader.environmentPath(for: "prod") == "Environments/prod.yaml")
        #expect(EnvironmentLoader.environmentPath(for: "x/prod.yaml") == "x/prod.yaml")
        #expect(EnvironmentLoader.environmentPath(for: "local.yml") == "local.yml")
    }
}

@Suite struct UnitsTests {
    @Test("durations", arguments: [("3600s", 3600), ("60m", 3600), ("1h", 3600), ("90", 90), ("0s", 0)])
    func durations(text: String, seconds: Int) { #expect(Units.seconds(text) == seconds) }

    @Test("invalid durations", arguments: ["", "1.5h", "-3s", "10d", "s", "h1"])
    func invalidDurations(text: String) { #expect(Units.seconds(text) == nil) }

    @Test("memory sizes")
    func memory() {
        #expect(Units.memory("512Mi") == MemorySize(mebibytes: 512))
        #expect(Units.memory("2Gi") == MemorySize(mebibytes: 2048))
        for bad in ["512", "2G", "0Gi", "-1Mi", "Gi", "1.5Gi"] { #expect(Units.memory(bad) == nil, "\(bad)") }
    }

    @Test("CPU values")
    func cpu() {
        #expect(Units.cpu("1") == CPU(millicores: 1000))
        #expect(Units.cpu("0.5") == CPU(millicores: 500))
        #expect(Units.cpu("500m") == CPU(millicores: 500))
        #expect(Units.cpu("2") == CPU(vcpus: 2))
        for bad in ["", "0", "-1", "1.0005", "abc", "m"] { #expect(Units.cpu(bad) == nil, "\(bad)") }
    }

    @Test("CIDR parsing rejects host bits and malformed blocks")
    func cidr() {
        #expect(IPv4Network(parsing: "10.20.0.0/16")?.description == "10.20.0.0/16")
        for bad in ["10.20.0.1/16", "10.20.0.0", "10.20.0.0/33", "256.0.0.0/8", "10.0.0/8", "a.b.c.d/8", "10.0.0.0/-1"]
        {
            #expect(IPv4Network(parsing: bad) == nil, "\(bad)")
        }
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
