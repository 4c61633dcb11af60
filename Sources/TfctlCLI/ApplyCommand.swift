import ArgumentParser
import Foundation
import Planning
import RenderPipeline

/// Where `apply` and `destroy` send the topology.
enum Target: String, ExpressibleByArgument, CaseIterable {
    case terraform
    case gcloud
    case local
}

/// Options `apply` and `destroy` share.
struct DeploymentOptions: ParsableArguments {
    @Option(name: .long, help: "terraform (default), gcloud, or local.")
    var target: Target = .terraform

    @Flag(name: .long, help: "Do not ask for confirmation (required when not running at a terminal).")
    var autoApprove = false

    /// Asks at a terminal; refuses without one unless --auto-approve.
    var approval: Approval {
        if autoApprove { return .autoApproved }
        guard isatty(STDIN_FILENO) != 0 else { return .refused }
        return .interactive { question in
            FileHandle.standardError.write(Data("\(question) Only 'yes' is accepted: ".utf8))
            return readLine()?.trimmingCharacters(in: .whitespaces) == "yes"
        }
    }

    func deployer(_ pipeline: Pipeline, _ options: EnvironmentOptions) -> Deployer {
        let display = "out/\(pipeline.loaded.name)"
        return Deployer(
            pipeline: pipeline, runner: ProcessRunner(), directory: options.resolve(display), displayDirectory: display,
            sourceDirectory: options.workingDirectory,
            log: { FileHandle.standardError.write(Data("tfctl: \($0)\n".utf8)) })
    }
}

/// A failure to report as `Error: message` with exit status 1 (usage errors keep ArgumentParser's 64).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension DeploymentOptions {
    /// Loads and validates the environment, then runs `body` with a deployer; refusals and failed steps become
    /// exit status 1 with their reason, and the rendered files stay for inspection.
    func perform(_ options: EnvironmentOptions, _ body: (Deployer, Pipeline) throws -> Void) throws {
        let pipeline = options.pipeline()
        pipeline.report(format: .text)
        if pipeline.failed(strict: options.strict) { throw ExitCode(1) }
        do {
            try body(deployer(pipeline, options), pipeline)
        } catch let error as Deployer.Refused {
            fflush(nil)
            throw CommandFailure(error.reason)
        } catch let error as ProcessRunner.Failure {
            FileHandle.standardError.write(
                Data("tfctl: \(error); the rendered files are in out/\(pipeline.loaded.name)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render, show the plan, confirm, then apply with Terraform or the gcloud script.")

    @OptionGroup var options: EnvironmentOptions
    @OptionGroup var deployment: DeploymentOptions
    @OptionGroup(title: "Local target") var local: LocalOptions

    func run() throws {
        if deployment.target == .local {
            // Nothing leaves the machine: no confirmation, as `docker compose up` asks none.
            let pipeline = options.pipeline()
            pipeline.report(format: .text)
            if pipeline.failed(strict: options.strict) { throw ExitCode(1) }
            try LocalTarget.apply(pipeline, options, port: local.port, follow: local.follow, noColor: local.noColor)
            return
        }
        try deployment.perform(options) { deployer, pipeline in
            if deployment.target == .gcloud {
                try deployer.applyGcloud(deployment.approval)
                return
            }
            let report = try PlanCommand.planReport(pipeline, options, against: nil)
            print(report.text(), terminator: "")
            try deployer.applyTerraform(deployment.approval, report: report)
        }
    }
}

struct Destroy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Destroy the topology with Terraform or the gcloud script, with the same protections as apply.")

    @OptionGroup var options: EnvironmentOptions
    @OptionGroup var deployment: DeploymentOptions

    @Flag(
        name: .long,
        help:
            "Also delete Memorystore, secrets, the VPC, the service account and the image repository (never the RTDB).")
    var deleteData = false

    func run() throws {
        if deployment.target == .local {
            let pipeline = options.pipeline()
            guard pipeline.topology != nil else {
                pipeline.report(format: .text)
                throw ExitCode(1)
            }
            try LocalTarget.destroy(pipeline, options)
            return
        }
        try deployment.perform(options) { deployer, _ in
            if deployment.target == .gcloud {
                try deployer.destroyGcloud(deployment.approval, deleteData: deleteData)
            } else {
                try deployer.destroyTerraform(deployment.approval, deleteData: deleteData)
            }
        }
    }
}
