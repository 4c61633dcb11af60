/// Why a Redis operation failed. A struct around a private enum, so cases can be added without breaking callers.
public struct RedisError: Error, CustomStringConvertible, Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        /// Redis answered with an error reply (`-ERR ...`, `-WRONGPASS ...`).
        case server(String)
        case notConnected
        case connectionClosed
        case connectionFailed(String)
        case timeout(String)
        case tooManyPending(Int)
        case protocolViolation(String)
    }

    let kind: Kind

    init(_ kind: Kind) { self.kind = kind }

    public static let notConnected = RedisError(.notConnected)
    public static let connectionClosed = RedisError(.connectionClosed)

    /// A reply of a shape the command does not produce.
    public static func unexpectedReply(to command: String) -> RedisError {
        RedisError(.protocolViolation("unexpected reply to \(command)"))
    }

    /// The error reply's text when Redis refused the command.
    public var serverMessage: String? {
        if case .server(let message) = kind { return message }
        return nil
    }

    public var isTimeout: Bool {
        if case .timeout = kind { return true }
        return false
    }

    public var description: String {
        switch kind {
        case .server(let message): "Redis error: \(message)"
        case .notConnected: "not connected to Redis"
        case .connectionClosed: "the Redis connection closed"
        case .connectionFailed(let reason): "cannot connect to Redis: \(reason)"
        case .timeout(let command): "Redis did not answer \(command) in time"
        case .tooManyPending(let limit): "more than \(limit) Redis commands waiting for replies"
        case .protocolViolation(let reason): "Redis sent something that is not RESP: \(reason)"
        }
    }
}
