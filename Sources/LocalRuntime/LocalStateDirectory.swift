import Foundation
import JSON

/// `.tfctl/local/<environment>/`: everything a local run keeps (git-ignored). Private to the user (0700): it
/// holds the generated secrets, and the spec and state that carry them to the processes.
public struct LocalStateDirectory: Sendable {
    public let root: URL

    public init(workingDirectory: String, environment: String) {
        root = URL(fileURLWithPath: workingDirectory).appendingPathComponent(".tfctl/local/\(environment)")
    }

    public init(root: URL) { self.root = root }

    public var specFile: URL { root.appendingPathComponent("spec.json") }
    public var stateFile: URL { root.appendingPathComponent("state.json") }
    public var portsFile: URL { root.appendingPathComponent("ports.json") }
    public var supervisorLog: URL { root.appendingPathComponent("logs/supervisor.log") }
    /// Held by the live supervisor for its whole life.
    public var supervisorLock: URL { root.appendingPathComponent("supervisor.lock") }
    /// Held by a tfctl that plans, applies or destroys, so two never do at once.
    public var commandLock: URL { root.appendingPathComponent("command.lock") }
    public var logs: URL { root.appendingPathComponent("logs") }
    public var secrets: URL { root.appendingPathComponent("secrets") }
    public var tls: URL { root.appendingPathComponent("tls") }
    public func redisData(_ region: String) -> URL { root.appendingPathComponent("redis/\(region)") }
    public func log(_ process: LocalProcess) -> URL { logs.appendingPathComponent(process.logName) }

    /// Creates the directory tree, private to the user, with a `.gitignore` that keeps all of it (secrets and
    /// keys among it) out of the user's repository.
    public func create() throws {
        for directory in [root, logs, secrets, tls] {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            chmod(directory.path, 0o700)
        }
        let state = root.deletingLastPathComponent().deletingLastPathComponent()
        let ignore = state.appendingPathComponent(".gitignore")
        if !FileManager.default.fileExists(atPath: ignore.path) {
            try Self.write(
                "# Local runs of tfctl (tfctl up): state, logs, generated secrets. Never committed.\n*\n", to: ignore)
        }
    }

    /// Writes `text` whole or not at all (a temporary file renamed over the old one), readable by the user only.
    public static func write(_ text: String, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        guard
            FileManager.default.createFile(
                atPath: temporary.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: temporary.path]) }
        guard rename(temporary.path, url.path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
    }

    public static func readJSON(_ url: URL) -> JSONValue? {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
        return JSONValue.parse(Substring(text))
    }

    public func readSpec() -> LocalSpec? { Self.readJSON(specFile).flatMap(LocalSpec.init(json:)) }
    public func readState() -> LocalState? { Self.readJSON(stateFile).flatMap(LocalState.init(json:)) }

    /// The ports handed out so far, by process id (and `front-door`): kept across applies, so URLs stay put.
    public func readPorts() -> [String: Int] {
        guard case .object(let members)? = Self.readJSON(portsFile) else { return [:] }
        var ports: [String: Int] = [:]
        for (key, value) in members { if let port = value.numberValue { ports[key] = Int(port) } }
        return ports
    }

    public func writePorts(_ ports: [String: Int]) throws {
        try Self.write(JSONValue.sortedObject(ports.mapValues { .number(Double($0)) }).pretty(), to: portsFile)
    }
}
