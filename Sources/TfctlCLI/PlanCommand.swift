import ArgumentParser
import Diagnostics
import Foundation
import Planning
import RenderPipeline

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what changes between the previous render and the model, with hazards, capacity and cost.",
        discussion: """
            Compares with out/<env>/manifest.json (written by `render`) or --against DIR. Exit codes: 0 success \
            (with --detailed-exitcode: no changes), 1 error, 2 changes present (with --detailed-exitcode).
            """)

    @OptionGroup var options: EnvironmentOptions

    @Option(name: .long, help: "Directory of the previous render (default: out/<env name>).")
    var against: String?

    @Flag(name: .long, help: "Exit 2 when there are changes, 0 when there are none (like terraform plan).")
    var detailedExitcode = false

    @Flag(name: .long, help: "Also write the render and run `terraform init` and `terraform plan` in it.")
    var terraform = false

    @Option(name: .long, help: "local: what apply --target local would start, restart and stop.")
    var target: Target?

    @OptionGroup(title: "Local target") var local: LocalOptions

    func run() throws {
        let pipeline = options.pipeline()
        if options.format != .json || pipeline.failed(strict: options.strict) {
            pipeline.report(format: options.format)
        }
        if pipeline.failed(strict: options.strict) { throw ExitCode(1) }
        if target == .local {
            let changed = try LocalTarget.plan(pipeline, options, port: local.port)
            if detailedExitcode, changed { throw ExitCode(2) }
            return
        }
        let report = try Self.planReport(pipeline, options, against: against)
        if options.format == .github {
            print(Self.hazardCommands(report, file: pipeline.loaded.displayPath), terminator: "")
        }
        switch options.format {
        case .json: print(report.json(), terminator: "")
        case .markdown: print(report.markdown(), terminator: "")
        case .text, .github: print(report.text(), terminator: "")
        }
        if terraform {
            let directory = options.resolve("out/\(pipeline.loaded.name)")
            try OutputDirectory(path: directory, displayPath: "out/\(pipeline.loaded.name)").replace(
                with: pipeline.render())
            let runner = ProcessRunner()
            let terraformDirectory = directory + "/terraform"
            try runner.require(
                runner.run("terraform", ["init", "-input=false"], in: terraformDirectory), "terraform init")
            try runner.require(
                runner.run("terraform", ["plan", "-input=false"], in: terraformDirectory), "terraform plan")
        }
        if detailedExitcode, report.plan.hasChanges { throw ExitCode(2) }
    }

    /// The plan of the model against the manifest in `against` (default `out/<env>`).
    static func planReport(_ pipeline: Pipeline, _ options: EnvironmentOptions, against: String?) throws -> PlanReport {
        guard let after = pipeline.manifest() else { throw ExitCode(1) }
        let display = (against ?? "out/\(pipeline.loaded.name)") + "/manifest.json"
        let path = options.resolve(display)
        var before: Manifest?
        if let data = FileManager.default.contents(atPath: path) {
            do {
                before = try Manifest.decode(data)
            } catch {
                throw CommandFailure("\(display) is not a tfctl manifest (\(error)); render again or pass --against")
            }
        }
        return PlanReport(
            plan: Plan(before: before, after: after), against: before == nil ? nil : display,
            prices: Result { try PriceSheet.bundled(override: PriceSheet.override, executable: PriceSheet.executable) })
    }
}

extension PriceSheet {
    /// `$TFCTL_PRICES`: another price sheet, for a negotiated discount or a test.
    static var override: URL? { ProcessInfo.processInfo.environment["TFCTL_PRICES"].map(URL.init(fileURLWithPath:)) }

    /// This executable, beside which SwiftPM puts the sheet's resource bundle.
    static var executable: URL { URL(fileURLWithPath: CommandLine.arguments.first ?? "") }
}

extension PlanCommand {
    /// Each hazard of the plan as a workflow command on the environment file: a danger (data lost, nothing to undo)
    /// as an error, a disruption (connections dropped) as a warning, titled by the resource.
    static func hazardCommands(_ report: PlanReport, file: String) -> String {
        // GitHub shows at most 10 error and 10 warning annotations of a step: the first ten of each (in address
        // order), then a notice saying how many more the plan has.
        let all = report.plan.changes.flatMap { change in change.hazards.map { (change, $0) } }
        var out = ""
        for severity in [Hazard.Severity.danger, .disruption] {
            let of = all.filter { $0.1.severity == severity }
            for (change, hazard) in of.prefix(annotationsPerStep) {
                out +=
                    WorkflowCommands.command(
                        severity == .danger ? .error : .warning,
                        [("file", file), ("title", "\(severity.rawValue): \(change.address)")], hazard.message) + "\n"
            }
            if of.count > annotationsPerStep {
                out +=
                    WorkflowCommands.command(
                        .notice, [("file", file), ("title", "\(severity.rawValue): more")],
                        "\(of.count - annotationsPerStep) more \(severity.rawValue) hazard(s); the plan lists them all")
                    + "\n"
            }
        }
        return out
    }

    /// GitHub's limit on a step's annotations of one level.
    static let annotationsPerStep = 10
}
