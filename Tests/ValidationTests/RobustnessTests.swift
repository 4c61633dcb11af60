import Diagnostics
import EnvironmentLoader
import Foundation
import TestSupport
import Testing
import Validation

/// Bad input gets diagnostics, never a crash: every line deleted, every prefix, and extreme numbers.
@Suite struct RobustnessTests {
    static let base = (try? String(contentsOf: Repository.url("Environments/base.yaml"), encoding: .utf8)) ?? ""

    /// Loads and validates `text` as a single in-memory file; returns the diagnostics.
    /// With `overlay`, `text` is the base that an `env.yaml` holding the overlay extends.
    func check(_ text: String, overlay: String? = nil) -> [Diagnostic] {
        let files =
            overlay.map { ["/mem/base.yaml": text, "/mem/env.yaml": "extends: base.yaml\n\($0)\n"] }
            ?? ["/mem/env.yaml": text]
        let loader = EnvironmentLoader(workingDirectory: "/mem") { path in
            guard let file = files[path] else { throw CocoaError(.fileNoSuchFile) }
            return file
        }
        let loaded = loader.load(path: "env.yaml")
        guard let topology = loaded.topology else { return loaded.diagnostics }
        return loaded.diagnostics + Validator().validate(topology, sourceMap: loaded.sourceMap)
    }

    @Test("the base environment is valid on its own")
    func baseIsValid() {
        #expect(!Self.base.isEmpty)
        #expect(!check(Self.base).hasErrors)
    }

    @Test("deleting any one line gives diagnostics or a valid topology, never a crash")
    func lineDeletions() {
        let lines = Self.base.split(separator: "\n", omittingEmptySubsequences: false)
        for index in lines.indices {
            var mutated = lines
            mutated.remove(at: index)
            _ = check(mutated.joined(separator: "\n"))
        }
    }

    @Test("every prefix of the file is handled")
    func truncations() {
        let characters = Array(Self.base)
        for end in stride(from: 0, to: characters.count, by: 7) { _ = check(String(characters[..<end])) }
    }

    @Test(
        "extreme numbers are reported (as errors, or as the quota warning), not overflowed",
        arguments: [
            "services: { realtime: { max_instances: 9223372036854775807, concurrency: 1000 } }",
            "services: { realtime: { max_instances: -9223372036854775808 } }",
            "services: { realtime: { timeout: 9223372036854775807h } }",
            "services: { realtime: { memory: 9223372036854775807Gi } }",
            "services: { realtime: { cpu: 9223372036854775807m } }",
            "capacity: { peak_connections: 9223372036854775807, peak_messages_per_second: 1, headroom: 1e308 }",
            "network: { subnet_prefix: 9223372036854775807 }",
            "network: { psa_prefix: -9223372036854775808 }",
            "monitoring: { alerts: { instance_utilization: .nan } }",
            "load_balancer: { log_sample_rate: -.inf }",
            "services: { realtime: { probes: { startup: { period_seconds: 9223372036854775807 } } } }",
        ])
    func extremes(_ overlay: String) {
        let diagnostics = check(Self.base, overlay: overlay)
        #expect(!diagnostics.isEmpty, "\(overlay) should be reported")
        #expect(!diagnostics.contains { $0.rule.rawValue == "TFC0008" }, "\(overlay) did not reach validation")
    }
}
