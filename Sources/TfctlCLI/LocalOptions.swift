import ArgumentParser
import RenderPipeline

/// Options of the local target's apply (`apply --target local`, `tfctl up`) and plan.
struct LocalOptions: ParsableArguments {
    @Option(name: .long, help: "The local front door's port (default: the one used before, else 8080).")
    var port: Int?

    @Flag(name: .long, help: "After starting, show every process's log lines; Ctrl-C stops the local run.")
    var follow = false

    @Flag(name: .long, help: "No colour in --follow's output (also: NO_COLOR set, or not a terminal).")
    var noColor = false
}

#if !canImport(LocalRuntime)
    /// The local target drives processes through Linux's `/proc` and `posix_spawn`; elsewhere it says so.
    enum LocalTarget {
        static let unavailable = CommandFailure("the local target (--target local, tfctl up) runs on Linux only")

        static func apply(
            _ pipeline: Pipeline, _ options: EnvironmentOptions, port: Int?, follow: Bool, noColor: Bool = false
        ) throws {
            throw unavailable
        }

        static func destroy(_ pipeline: Pipeline, _ options: EnvironmentOptions) throws { throw unavailable }

        static func plan(_ pipeline: Pipeline, _ options: EnvironmentOptions, port: Int?) throws -> Bool {
            throw unavailable
        }
    }
#endif
