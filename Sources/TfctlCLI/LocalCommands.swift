#if canImport(LocalRuntime)
    import ArgumentParser
    import Foundation
    import LoadTest
    import LocalRuntime
    import RenderPipeline
    import TopologyModel

    /// The local target: the environment's topology on this machine (README, "Local runtime").
    enum LocalTarget {
        /// `.tfctl/local/<env>/` under the working directory.
        static func directory(_ pipeline: Pipeline, _ options: EnvironmentOptions) -> LocalStateDirectory {
            LocalStateDirectory(workingDirectory: options.workingDirectory, environment: pipeline.loaded.name)
        }

        static func controller(_ directory: LocalStateDirectory) -> LocalController {
            LocalController(
                directory: directory, supervisorCommand: [executable],
                log: { FileHandle.standardError.write(Data("tfctl: \($0)\n".utf8)) })
        }

        /// This tfctl, which also runs the supervisor.
        static var executable: String {
            Bundle.main.executablePath ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        }

        /// The programs a local run needs, or what to install.
        static func tools() throws -> LocalPlanner.Tools {
            let environment = ProcessInfo.processInfo.environment
            let beside = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent(
                "realtime-server"
            ).path
            let server =
                environment["TFCTL_REALTIME_SERVER"]
                ?? (FileManager.default.isExecutableFile(atPath: beside) ? beside : nil)
            var missing: [String] = []
            let redis = Tool.find("redis-server")
            let haproxy = Tool.find("haproxy")
            if redis == nil { missing.append("redis-server") }
            if haproxy == nil { missing.append("haproxy") }
            if !missing.isEmpty {
                throw CommandFailure(
                    "the local target needs \(missing.joined(separator: " and ")): "
                        + "sudo apt-get install \(missing.joined(separator: " "))")
            }
            guard let server, FileManager.default.isExecutableFile(atPath: server) else {
                throw CommandFailure(
                    "the local target runs the bundled server, which is not built beside tfctl: "
                        + "swift build --product realtime-server (or set TFCTL_REALTIME_SERVER to its path)")
            }
            // The fallback's database stand-in runs on python3; without it the fallback is left out of the run.
            var standIn: LocalPlanner.DatabaseStandIn?
            if let python = Tool.find("python3"),
                let script = LocalPlanner.DatabaseStandIn.script(beside: URL(fileURLWithPath: executable))
            {
                standIn = LocalPlanner.DatabaseStandIn(python: python, script: script)
            }
            // Firebase's own emulators when the Firebase CLI is installed with the Java they run on (11 or later):
            // the real protocol, rules and Auth. Without Java the CLI would fail to start them: the stand-in instead.
            let java =
                Tool.find("java") != nil
                || environment["JAVA_HOME"].map {
                    FileManager.default.isExecutableFile(atPath: $0 + "/bin/java")
                } == true
            let emulator = (java ? Tool.find("firebase") : nil).map { firebase in
                LocalPlanner.FirebaseEmulator(
                    firebase: firebase,
                    environment: environment.filter { LocalPlanner.FirebaseEmulator.inherited.contains($0.key) })
            }
            return LocalPlanner.Tools(
                realtimeServer: server, redisServer: redis!, haproxy: haproxy!, databaseStandIn: standIn,
                firebaseEmulator: emulator)
        }

        /// The spec of the environment's local run.
        /// `dryRun`: for a plan, which writes nothing.
        static func spec(_ pipeline: Pipeline, _ options: EnvironmentOptions, port: Int?, dryRun: Bool = false) throws
            -> LocalSpec
        {
            guard let topology = pipeline.topology else { throw ExitCode(1) }
            let directory = directory(pipeline, options)
            let planner = LocalPlanner(
                topology: topology, environment: pipeline.loaded.name, directory: directory, tools: try tools(),
                dryRun: dryRun)
            do {
                return try planner.plan(frontPort: port, held: controller(directory).heldPorts())
            } catch let refusal as LocalPlanner.Refused {
                throw CommandFailure(refusal.description)
            }
        }

        static func apply(
            _ pipeline: Pipeline, _ options: EnvironmentOptions, port: Int?, follow: Bool, noColor: Bool = false
        ) throws {
            let directory = directory(pipeline, options)
            let controller = controller(directory)
            let (spec, state, changes): (LocalSpec, LocalState, LocalChanges)
            do {
                (spec, state, changes) = try controller.exclusively {
                    // What a dead supervisor left goes first, so the plan finds its ports free.
                    controller.stopStaleRun()
                    let spec = try Self.spec(pipeline, options, port: port)
                    let (state, changes) = try controller.apply(spec)
                    return (spec, state, changes)
                }
            } catch let failure as LocalController.Failed {
                throw CommandFailure(failure.description)
            }
            if changes.isEmpty {
                print("No changes: the local run of \(spec.environment) is up to date.")
            } else {
                print(LocalReport.changes(changes), terminator: "")
            }
            guard state.phase == .ready else {
                throw CommandFailure(
                    "the local run did not come up: \(state.error ?? "unknown"); tfctl status --env \(spec.environment) "
                        + "shows what runs, tfctl destroy --env \(spec.environment) --target local stops it")
            }
            print(LocalReport.ready(spec, directory: directory), terminator: "")
            for line in demoLinks(spec, directory: directory) { print(line) }
            fflush(nil)  // before the follower's own writes, which are not buffered
            if follow {
                LogFollower(directory: directory, spec: spec, noColor: noColor).follow {
                    print("Stopping the local run of \(spec.environment)...")
                    _ = try? controller.destroy()
                }
            }
        }
    }

    extension LocalTarget {
        /// Links to the live-tender demo the servers serve, for two users of one tender, with tokens signed by the
        /// run's key (in the fragment: a browser does not send it to the server). None without an RS256 key.
        static func demoLinks(_ spec: LocalSpec, directory: LocalStateDirectory) -> [String] {
            guard let server = spec.processes.first(where: { $0.kind == .realtime }),
                let issuer = server.environment["JWT_ISSUER"], let audience = server.environment["JWT_AUDIENCE"],
                let pem = LocalSecrets(directory: directory).connectionTokenKey(),
                let minter = try? TokenMinter(privateKeyPEM: pem, issuer: issuer, audience: audience)
            else { return [] }
            let links = ["alice", "bob"].compactMap { user in
                (try? minter.token(user: user, tenders: ["demo"], seconds: 12 * 3600)).map {
                    "  \(user): \(spec.url)/fallback/v1/demo.html#tender=demo&token=\($0)"
                }
            }
            return ["  Demo (a live tender in two windows, tokens valid 12 h):"] + links + [""]
        }

        /// `destroy --target local`.
        static func destroy(_ pipeline: Pipeline, _ options: EnvironmentOptions) throws {
            let controller = controller(directory(pipeline, options))
            if try controller.exclusively({ try controller.destroy() }) {
                print("The local run of \(pipeline.loaded.name) is stopped.")
            } else {
                print("Nothing runs locally for \(pipeline.loaded.name).")
            }
        }

        /// `plan --target local`: what an apply would start, restart and stop; writes nothing. True when it changes
        /// something.
        static func plan(_ pipeline: Pipeline, _ options: EnvironmentOptions, port: Int?) throws -> Bool {
            let spec = try spec(pipeline, options, port: port, dryRun: true)
            let changes = controller(directory(pipeline, options)).changes(to: spec)
            print(
                changes.isEmpty ? "No changes: the local run is up to date.\n" : LocalReport.changes(changes),
                terminator: "")
            return !changes.isEmpty
        }
    }

    /// `tfctl up`: `apply --target local`.
    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring the environment's topology up on this machine (apply --target local).")

        @OptionGroup var options: EnvironmentOptions
        @OptionGroup var local: LocalOptions

        func run() throws {
            let pipeline = options.pipeline()
            pipeline.report(format: .text)
            if pipeline.failed(strict: options.strict) { throw ExitCode(1) }
            try LocalTarget.apply(pipeline, options, port: local.port, follow: local.follow, noColor: local.noColor)
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Show the local run: every process with its health, port, uptime, restarts, connections and rooms.")

        @OptionGroup var options: EnvironmentOptions

        @Flag(
            name: .long,
            help: "Print every server instance's metrics instead, each sample labelled with its instance.")
        var metrics = false

        func run() throws {
            let pipeline = options.pipeline()
            if pipeline.failed(strict: options.strict) {
                pipeline.report(format: options.format)
                throw ExitCode(1)
            }
            let directory = LocalTarget.directory(pipeline, options)
            if metrics {
                print(LocalReport.metrics(directory: directory), terminator: "")
                return
            }
            let report = LocalReport.status(
                directory: directory, supervision: LocalTarget.controller(directory).supervision())
            print(options.format == .json ? report.json.pretty() : report.text, terminator: "")
        }
    }

    /// Runs a local run's processes; started detached by `apply --target local`, not by hand.
    struct LocalSupervisorCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: LocalController.subcommand,
            abstract: "Supervise a local run (started by apply --target local).",
            shouldDisplay: false)

        @Option(name: .long, help: "The run's state directory.")
        var state: String

        func run() throws {
            let supervisor = try Supervisor(directory: LocalStateDirectory(root: URL(fileURLWithPath: state)))
            throw ExitCode(supervisor.run())
        }
    }
#endif
