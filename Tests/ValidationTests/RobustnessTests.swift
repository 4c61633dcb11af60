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

    /// What every diagnostic must be, whatever the input: a rule the catalog explains, a message, and a
    /// position inside the file it names (line 1 to one past the last line, column 1 or more).
    func expectWellFormed(_ diagnostics: [Diagnostic], in text: String, _ what: String) {
        let lineCount = text.split(separator: "\n", omittingEmptySubsequences: false).count
        for diagnostic in diagnostics {
            #expect(RuleCatalog.rule(diagnostic.rule.rawValue) != nil, "\(what): unknown rule \(diagnostic.rule)")
            #expect(!diagnostic.message.isEmpty, "\(what): \(diagnostic.rule) has no message")
            guard let location = diagnostic.location else { continue }
            #expect(location.file == "env.yaml", "\(what): \(diagnostic.rule) points at \(location.file)")
            #expect((1...lineCount + 1).contains(location.line), "\(what): \(diagnostic.rule) at \(location)")
            #expect(location.column >= 1, "\(what): \(diagnostic.rule) at \(location)")
        }
    }

    @Test("deleting any one line gives well-formed diagnostics, and errors exactly where the topology is broken")
    func lineDeletions() {
        let lines = Self.base.split(separator: "\n", omittingEmptySubsequences: false)
        var reported = 0
        for index in lines.indices {
            var mutated = lines
            mutated.remove(at: index)
            let text = mutated.joined(separator: "\n")
            let diagnostics = check(text)
            expectWellFormed(diagnostics, in: text, "without line \(index + 1)")
            if diagnostics.hasErrors { reported += 1 }
            // A deleted required key is named: the project, the name, the regions, the services.
            let line = lines[index].trimmingCharacters(in: .whitespaces)
            for key in ["project:", "name:", "regions:", "services:"] where line.hasPrefix(key) {
                #expect(diagnostics.hasErrors, "deleting `\(line)` must be an error")
            }
        }
        #expect(reported > 0, "no deletion was reported: the check sees nothing")
    }

    @Test("every prefix of the file gives well-formed diagnostics; an empty or bare file says what is missing")
    func truncations() {
        let characters = Array(Self.base)
        for end in stride(from: 0, to: characters.count, by: 7) {
            let text = String(characters[..<end])
            expectWellFormed(check(text), in: text, "first \(end) characters")
        }
        let empty = check("")
        #expect(empty.map(\.rule.rawValue) == ["TFC0002"] && empty[0].message == "the environment file is empty")
        let nameOnly = check("name: rt\n")
        for key in ["project", "regions", "services"] {
            #expect(nameOnly.contains { $0.message.contains(key) }, "\(key): \(nameOnly.map(\.message))")
        }
    }

    @Test(
        "extreme numbers are reported by the rule that owns them, on the line that holds them, not overflowed",
        arguments: [
            ("services: { realtime: { max_instances: 9223372036854775807, concurrency: 1000 } }", "TFC0314"),
            ("services: { realtime: { max_instances: -9223372036854775808 } }", "TFC0303"),
            ("services: { realtime: { timeout: 9223372036854775807h } }", "TFC0007"),
            ("services: { realtime: { memory: 9223372036854775807Gi } }", "TFC0007"),
            ("services: { realtime: { cpu: 9223372036854775807m } }", "TFC0304"),
            (
                "capacity: { peak_connections: 9223372036854775807, peak_messages_per_second: 1, headroom: 1e308 }",
                "TFC0803"
            ),
            ("network: { subnet_prefix: 9223372036854775807 }", "TFC0203"),
            ("network: { psa_prefix: -9223372036854775808 }", "TFC0203"),
            ("monitoring: { alerts: { instance_utilization: .nan } }", "TFC0002"),
            ("load_balancer: { log_sample_rate: -.inf }", "TFC0002"),
            ("services: { realtime: { probes: { startup: { period_seconds: 9223372036854775807 } } } }", "TFC0311"),
        ])
    func extremes(_ overlay: String, _ rule: String) {
        let diagnostics = check(Self.base, overlay: overlay)
        // Line 1 of the overlay file is its `extends`, so the value sits on line 2.
        #expect(
            diagnostics.contains { $0.rule.rawValue == rule && $0.location?.line == 2 },
            "\(overlay): \(diagnostics.map { "\($0.rule)@\($0.location.map(\.description) ?? "-")" })")
        #expect(!diagnostics.contains { $0.rule.rawValue == "TFC0008" }, "\(overlay) did not reach validation")
    }
}
