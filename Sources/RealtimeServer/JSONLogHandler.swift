import Foundation
import JSON
import Logging
import SocketIO
import Synchronization

/// One JSON object per line on standard output, in the shape Cloud Logging reads: `severity`, `message`,
/// `time` (RFC 3339), `logger`, and the metadata as fields.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    /// Held while a line is written (`log(event:)`).
    private static let output = Mutex(())

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(key: String, value: JSONValue)] = [
            ("severity", .string(Self.severity(event.level))),
            ("message", .string("\(event.message)")),
            ("time", .string(Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true)))),
            ("logger", .string(label)),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            fields.append((key, .string("\(value)")))
        }
        let line = JSONValue.object(fields).serialized() + "\n"
        // A log nobody reads any more (its pipe closed) is no reason to stop serving: the line is dropped. One
        // line at a time: a pipe takes a write of more than PIPE_BUF (4 KiB) in pieces, which another thread's
        // line could otherwise come between.
        Self.output.withLock { _ in try? FileHandle.standardOutput.write(contentsOf: Data(line.utf8)) }
    }

    static func severity(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: return "DEBUG"
        case .info: return "INFO"
        case .notice: return "NOTICE"
        case .warning: return "WARNING"
        case .error: return "ERROR"
        case .critical: return "CRITICAL"
        }
    }
}
