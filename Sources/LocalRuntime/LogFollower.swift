import Foundation

#if canImport(Glibc)
    import Glibc
#endif

nonisolated(unsafe) private var followInterrupted: sig_atomic_t = 0

/// `--follow`: every process's new log lines as they come, each prefixed with its process (`redis/us-central1 |`),
/// coloured as `TerminalStyle` allows. Ctrl-C ends it and calls `onInterrupt` (which stops the run).
public struct LogFollower {
    let directory: LocalStateDirectory
    let spec: LocalSpec
    let coloured: Bool

    public init(directory: LocalStateDirectory, spec: LocalSpec, noColor: Bool = false) {
        self.directory = directory
        self.spec = spec
        coloured = TerminalStyle.colour(
            isTerminal: isatty(STDOUT_FILENO) != 0, noColorFlag: noColor,
            environment: ProcessInfo.processInfo.environment)
    }

    static let colours = ["36", "32", "33", "35", "34", "91", "92", "93", "94", "95", "96"]

    public func follow(onInterrupt: () -> Void) {
        _ = followInterrupted  // initialised here, not first in a signal handler
        signal(SIGINT) { _ in followInterrupted = 1 }
        signal(SIGTERM) { _ in followInterrupted = 1 }
        let sources = [("tfctl", directory.supervisorLog)] + spec.processes.map { ($0.id, directory.log($0)) }
        let width = sources.map(\.0.count).max() ?? 0
        // From the end of what is there now: the lines of the start were shown by the apply's report.
        var offsets = sources.map {
            (try? FileManager.default.attributesOfItem(atPath: $0.1.path)[.size] as? UInt64) ?? 0
        }
        var partial = sources.map { _ in "" }
        while followInterrupted == 0 {
            for (index, (name, url)) in sources.enumerated() {
                guard let handle = try? FileHandle(forReadingFrom: url) else { continue }
                defer { try? handle.close() }
                try? handle.seek(toOffset: offsets[index])
                guard let data = try? handle.readToEnd(), !data.isEmpty else { continue }
                offsets[index] += UInt64(data.count)
                let text = partial[index] + String(decoding: data, as: UTF8.self)
                var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                partial[index] = lines.removeLast()
                let label = name.padding(toLength: width, withPad: " ", startingAt: 0)
                let prefix =
                    coloured ? "\u{1B}[\(Self.colours[index % Self.colours.count])m\(label) |\u{1B}[0m " : "\(label) | "
                let output = lines.map { prefix + $0 + "\n" }.joined()
                FileHandle.standardOutput.write(Data(output.utf8))
            }
            usleep(200_000)
        }
        onInterrupt()
    }
}

/// When tfctl colours its output: only on a terminal, never with `--no-color`, with `NO_COLOR` set to anything
/// but the empty string (no-color.org), or on a terminal that says it cannot (`TERM=dumb`). A CI log is not a
/// terminal, so it gets plain text.
public enum TerminalStyle {
    public static func colour(isTerminal: Bool, noColorFlag: Bool, environment: [String: String]) -> Bool {
        guard isTerminal, !noColorFlag else { return false }
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return false }
        return environment["TERM"] != "dumb"
    }
}
