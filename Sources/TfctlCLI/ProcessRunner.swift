import Foundation

/// Runs the external tools tfctl drives (terraform, gcloud, bash), found on `PATH` of the given environment,
/// with their output streamed to ours.
struct ProcessRunner {
    var environment: [String: String] = ProcessInfo.processInfo.environment
    /// Where the tools' output goes (tests silence it).
    var output: FileHandle = .standardOutput
    var errors: FileHandle = .standardError

    struct ToolMissing: Error, CustomStringConvertible {
        let tool: String
        var description: String { "\(tool) was not found on PATH" }
    }

    struct Failure: Error, CustomStringConvertible {
        let step: String
        let status: Int32
        var description: String { "\(step) failed (exit status \(status))" }
    }

    func resolve(_ tool: String) -> String? {
        if tool.contains("/") { return FileManager.default.isExecutableFile(atPath: tool) ? tool : nil }
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs a tool to completion, streaming its output; returns its exit status.
    func run(
        _ tool: String, _ arguments: [String], in directory: String? = nil, extraEnvironment: [String: String] = [:]
    ) throws -> Int32 {
        let process = try makeProcess(tool, arguments, in: directory, extraEnvironment: extraEnvironment)
        // What tfctl printed so far comes before the tool's own output.
        fflush(nil)
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Runs a tool and returns its exit status and standard output (standard error is streamed).
    func capture(
        _ tool: String, _ arguments: [String], in directory: String? = nil, extraEnvironment: [String: String] = [:]
    ) throws -> (status: Int32, output: String) {
        let process = try makeProcess(tool, arguments, in: directory, extraEnvironment: extraEnvironment)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Throws `Failure` unless `status` is 0.
    func require(_ status: Int32, _ step: String) throws {
        guard status == 0 else { throw Failure(step: step, status: status) }
    }

    private func makeProcess(
        _ tool: String, _ arguments: [String], in directory: String?, extraEnvironment: [String: String]
    ) throws -> Process {
        guard let executable = resolve(tool) else { throw ToolMissing(tool: tool) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.environment = environment.merging(extraEnvironment) { _, new in new }
        return process
    }
}
