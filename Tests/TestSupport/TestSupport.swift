import Foundation

/// Paths of the repository the tests run in, found from this file's location (no working-directory guesses).
public enum Repository {
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The workplace's shared tools sit beside the repository: `../shared/tools`.
    public static let sharedTools = root.deletingLastPathComponent().appendingPathComponent("shared/tools")

    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }
}

/// Golden files: compared normally, rewritten when `TFCTL_RECORD_GOLDENS=1` (which `make goldens` sets).
public enum Golden {
    public static var recording: Bool { ProcessInfo.processInfo.environment["TFCTL_RECORD_GOLDENS"] == "1" }

    /// Returns nil when `actual` matches the golden, else a message. While recording, writes the golden and
    /// returns a message anyway, so a recording run can never pass.
    public static func compare(_ actual: String, golden: URL) -> String? {
        if recording {
            try? FileManager.default.createDirectory(
                at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? Data(actual.utf8).write(to: golden)
            return "recorded \(golden.path); run the tests again without TFCTL_RECORD_GOLDENS"
        }
        guard let data = FileManager.default.contents(atPath: golden.path) else {
            return "missing golden \(golden.path); run `make goldens`"
        }
        let expected = String(decoding: data, as: UTF8.self)
        if expected == actual { return nil }
        return "differs from \(golden.lastPathComponent):\n" + firstDifference(expected: expected, actual: actual)
    }

    static func firstDifference(expected: String, actual: String) -> String {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        for index in 0..<max(e.count, a.count) {
            let left = index < e.count ? String(e[index]) : "<end>"
            let right = index < a.count ? String(a[index]) : "<end>"
            if left != right { return "line \(index + 1):\n  expected: \(left)\n  actual:   \(right)" }
        }
        return "(line endings differ)"
    }

    /// Removes golden files under `directory` that the current run did not produce (only while recording).
    public static func prune(_ directory: URL, keeping kept: Set<String>) {
        guard recording, let enumerator = FileManager.default.enumerator(atPath: directory.path) else { return }
        while let relative = enumerator.nextObject() as? String {
            let url = directory.appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                !kept.contains(relative)
            {
                try? FileManager.default.removeItem(at: url)
            }
        }
    }
}

/// An external checker run by the tests: terraform, tfschema-check, gcloud-check.
public struct Oracle: Sendable {
    public let name: String
    public let executable: String

    public static let terraform = Oracle(name: "terraform", executable: "terraform")
    public static let gcloudCheck = Oracle(
        name: "gcloud-check", executable: Repository.sharedTools.appendingPathComponent("gcloud-check").path)
    public static let bash = Oracle(name: "bash", executable: "bash")
    public static let tfschemaCheck = Oracle(
        name: "tfschema-check", executable: Repository.sharedTools.appendingPathComponent("tfschema-check").path)

    public struct Result: Sendable {
        public let status: Int32
        public let output: String
    }

    /// The resolved executable, or nil when it is not installed.
    public var resolved: String? {
        if executable.contains("/") {
            return FileManager.default.isExecutableFile(atPath: executable) ? executable : nil
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Why the oracle cannot run here, or nil when it can. Under CI a missing oracle is a failure, not a skip.
    public var unavailableReason: String? {
        resolved == nil ? "\(name) is not installed (\(executable))" : nil
    }

    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    public func run(_ arguments: [String], in directory: URL? = nil) throws -> Result {
        guard let path = resolved else { throw OracleMissing(name: name) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = directory ?? Repository.root
        var environment = ProcessInfo.processInfo.environment
        environment["TF_CLI_CONFIG_FILE"] = "/dev/null"
        environment["CHECKPOINT_DISABLE"] = "1"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}

public struct OracleMissing: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "\(name) is not installed" }
}

/// A fresh temporary directory, removed by the caller.
public func temporaryDirectory(_ prefix: String = "tfctl-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
