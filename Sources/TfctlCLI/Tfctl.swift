import ArgumentParser
import EnvironmentLoader
import Foundation
import RenderPipeline

/// `tfctl`: validate and render a real-time topology for Google Cloud.
public struct Tfctl: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tfctl",
        abstract: "Validate, render, plan and apply WebSocket / Socket.IO topologies on Google Cloud.",
        discussion: """
            Environments are YAML files under Environments/ (see README.md). Exit codes: 0 ok, 1 error, \
            2 changes present (render --check, plan --detailed-exitcode).
            """,
        subcommands: commands,
        defaultSubcommand: Render.self
    )

    public init() {}

    #if canImport(LocalRuntime)
        static let commands: [ParsableCommand.Type] = [
            Validate.self, Render.self, PlanCommand.self, Apply.self, Destroy.self, Up.self, Status.self,
            LoadTestCommand.self, GraphCommand.self, Explain.self, LocalSupervisorCommand.self,
        ]
    #else
        static let commands: [ParsableCommand.Type] = [
            Validate.self, Render.self, PlanCommand.self, Apply.self, Destroy.self, GraphCommand.self, Explain.self,
        ]
    #endif
}

/// Options every command that reads an environment shares.
struct EnvironmentOptions: ParsableArguments {
    @Option(name: .long, help: "Environment name (Environments/<name>.yaml) or path to a YAML file.")
    var env: String = "prod"

    @Option(
        name: .long, help: "Diagnostics format: text, json, or github (workflow commands that annotate a pull request)."
    )
    var format: OutputFormat = .text

    @Flag(name: .long, help: "Treat warnings as errors.")
    var strict = false

    @Option(name: .long, help: "Run as if tfctl was started in this directory (like terraform -chdir).")
    var chdir: String?

    /// The directory relative paths (`--env`, `--out`, `Environments/`) are resolved against.
    var workingDirectory: String {
        let current = FileManager.default.currentDirectoryPath
        guard let chdir else { return current }
        return chdir.hasPrefix("/") ? chdir : (current as NSString).appendingPathComponent(chdir)
    }

    func pipeline() -> Pipeline {
        Pipeline(environment: env, loader: EnvironmentLoader(workingDirectory: workingDirectory))
    }

    /// `path` resolved against the working directory.
    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (workingDirectory as NSString).appendingPathComponent(path)
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
    /// GitHub Actions workflow commands: annotations on the pull request's lines (`WorkflowCommands`).
    case github
    /// `plan` as a pull-request comment (`PlanReport.markdown`); diagnostics as with `text`.
    case markdown
}
