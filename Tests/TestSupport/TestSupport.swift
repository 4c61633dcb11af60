import Foundation
import Testing

/// Paths of the repository the tests run in, found from this file's location (no working-directory guesses).
public enum Repository {
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

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

/// The external tools the tests check against: `terraform fmt`, and the project's two optional oracles,
/// `tfschema-check` (Terraform against the google/google-beta provider schemas) and `gcloud-check` (gcloud's own
/// argument parser and shellcheck on the rendered scripts and Knative YAML); also `bash` and `redis-server`.
///
/// A test that needs a missing tool is skipped, and says so, unless `TFCTL_REQUIRE_ORACLES=1` is set: then it
/// runs and fails. The project's CI script sets it; a contributor's machine or CI (where `CI=true` is common)
/// need not, so the suite passes there with the checks it can run. The two oracles are looked up on `PATH`, then
/// in `TFCTL_ORACLES_DIR`, then in a `shared/tools` folder beside the repository's folder (README: "Oracles").
public struct Oracle: Sendable {
    public let name: String
    public let executable: String

    public static let terraform = Oracle(name: "terraform", executable: "terraform")
    public static let bash = Oracle(name: "bash", executable: "bash")
    public static let redisServer = Oracle(name: "redis-server", executable: "redis-server")
    /// `haproxy -c`: the local front door's configuration as haproxy itself reads it (Debian puts it in /usr/sbin).
    public static let haproxy = Oracle(name: "haproxy", executable: "haproxy")
    public static let gcloudCheck = Oracle(name: "gcloud-check", executable: "gcloud-check")
    public static let tfschemaCheck = Oracle(name: "tfschema-check", executable: "tfschema-check")
    /// Graphviz's `dot`: `tfctl graph --format dot` as Graphviz reads it.
    public static let graphviz = Oracle(name: "graphviz (dot)", executable: "dot")

    /// Whether a missing tool fails the tests that need it (`TFCTL_REQUIRE_ORACLES=1`), instead of skipping them.
    public static var required: Bool { ProcessInfo.processInfo.environment["TFCTL_REQUIRE_ORACLES"] == "1" }

    /// Folders searched after `PATH`: `TFCTL_ORACLES_DIR`, then `shared/tools` beside the repository's folder.
    static var oracleDirectories: [String] {
        var directories: [String] = []
        if let configured = ProcessInfo.processInfo.environment["TFCTL_ORACLES_DIR"], !configured.isEmpty {
            directories.append(configured)
        }
        directories.append(Repository.root.deletingLastPathComponent().appendingPathComponent("shared/tools").path)
        return directories
    }

    public struct Result: Sendable {
        public let status: Int32
        public let output: String
    }

    /// The resolved executable, or nil when it is not installed.
    public var resolved: String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for directory in path + Self.oracleDirectories + ["/usr/sbin"] {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Whether the tests that need this tool run here: it is installed, or it is required (and they fail).
    public var runsHere: Bool { Self.required || resolved != nil }

    /// The condition trait of a test or suite that needs this tool: skipped, with the reason printed in the
    /// test run, when the tool is missing and not required.
    public var trait: ConditionTrait {
        .enabled(
            if: runsHere,
            Comment(
                rawValue:
                    "SKIPPED: \(name) is not installed; set TFCTL_REQUIRE_ORACLES=1 to make a missing tool a failure"))
    }

    /// Runs the tool and waits for it on a Dispatch thread, not on one of the few threads Swift's concurrency
    /// pool has (two on a two-core machine): the oracles take tens of seconds, and a test that blocked a pool
    /// thread that long would stall every other test's awaits (a Redis helper's 30 s readiness wait among them).
    public func run(_ arguments: [String], in directory: URL? = nil) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Swift.Result { try self.runBlocking(arguments, in: directory) })
            }
        }
    }

    private func runBlocking(_ arguments: [String], in directory: URL?) throws -> Result {
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
    public var description: String {
        "\(name) is not installed, and TFCTL_REQUIRE_ORACLES=1 requires it (README: \"Oracles\")"
    }
}

/// A fresh temporary directory, removed by the caller.
public func temporaryDirectory(_ prefix: String = "tfctl-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
