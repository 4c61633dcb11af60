import ArgumentParser
import Diagnostics
import EnvironmentLoader
import Foundation
import RenderPipeline
import Renderers
import TopologyModel

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain a rule (why it exists, how to fix it) or an alert (what it means, what to check first).")

    @Argument(help: "A rule id such as TFC0302, or an alert name such as redis_disconnected.")
    var rule: String?

    @Flag(name: .long, help: "List every rule and every alert.")
    var list = false

    @Flag(name: .long, help: "With --list, print the rule table of README.md.")
    var markdown = false

    @Option(
        name: .long,
        help: "For an alert: the environment whose thresholds its text quotes (default: tfctl's defaults).")
    var env: String?

    @Option(name: .long, help: "Run as if tfctl was started in this directory (like terraform -chdir).")
    var chdir: String?

    func run() throws {
        if markdown {
            print("| rule | family | severity | title |\n|---|---|---|---|")
            for rule in RuleCatalog.all {
                print("| \(rule.id) | \(rule.family) | \(rule.severity.rawValue) | \(rule.title) |")
            }
            return
        }
        if list || rule == nil {
            for rule in RuleCatalog.all { print("\(rule.id)  \(rule.family.padding(13))  \(rule.title)") }
            let topology = Self.defaultTopology
            for kind in AlertKind.allCases.sorted() {
                print("\(kind.rawValue.padding(28))  alert        \(AlertCatalog.title(kind, topology))")
            }
            return
        }
        let name = rule ?? ""
        if let kind = AlertKind(rawValue: name) {
            let topology = try topology()
            print(
                "\(kind.rawValue): \(AlertCatalog.title(kind, topology)) (alert, "
                    + "\(topology.monitoring.severity(kind).rawValue.lowercased()))\n")
            print(AlertCatalog.documentation(kind, topology))
            return
        }
        guard let found = RuleCatalog.rule(name) else {
            let names = RuleCatalog.all.map(\.id.rawValue) + AlertKind.allCases.map(\.rawValue)
            let suggestion = nearestMatch(to: name, in: names)
            throw ValidationError(
                "unknown rule or alert '\(name)'" + (suggestion.map { "; did you mean \($0)?" } ?? ""))
        }
        print("\(found.id): \(found.title) (\(found.family), \(found.severity.rawValue))\n")
        print(found.explanation)
        if let source = found.source { print("\nSource: \(source)") }
    }

    /// The environment's topology, or one with tfctl's default thresholds.
    private func topology() throws -> Topology {
        guard let env else { return Self.defaultTopology }
        var options = try EnvironmentOptions.parse(["--env", env] + (chdir.map { ["--chdir", $0] } ?? []))
        options.format = .text
        let pipeline = options.pipeline()
        guard let topology = pipeline.topology else {
            pipeline.report(format: .text)
            throw ExitCode(1)
        }
        return topology
    }

    private static let defaultTopology = Topology(
        project: "PROJECT", name: "TOPOLOGY", regions: [], services: [], memorystore: nil)
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
