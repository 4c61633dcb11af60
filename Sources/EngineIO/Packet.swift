/// Engine.IO v4 packet types (the first character of every packet on the wire).
public enum EnginePacketType: UInt8, Sendable, Hashable, CaseIterable {
    case open = 0
    case close = 1
    /// Sent by the server in v4 every `pingInterval`; `2probe` from the client during an upgrade.
    case ping = 2
    case pong = 3
    case message = 4
    case upgrade = 5
    /// Flushes a pending polling request during an upgrade.
    case noop = 6
}

/// One Engine.IO packet. Only `message` packets carry binary data.
public struct EnginePacket: Sendable, Hashable {
    public enum Payload: Sendable, Hashable {
        case text(String)
        case binary([UInt8])
    }

    public var type: EnginePacketType
    public var payload: Payload

    public init(_ type: EnginePacketType, _ payload: Payload = .text("")) {
        self.type = type
        self.payload = payload
    }

    public static func message(_ text: String) -> EnginePacket { EnginePacket(.message, .text(text)) }
    public static func binary(_ bytes: [UInt8]) -> EnginePacket { EnginePacket(.message, .binary(bytes)) }

    /// The text of a text payload ("" for binary).
    public var text: String {
        if case .text(let text) = payload { return text }
        return ""
    }
}

/// Why a request or packet was refused, with the code and message the reference server sends
/// (`{"code":1,"message":"Session ID unknown"}` with HTTP 400).
public struct EngineError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Int, Sendable, Hashable {
        case transportUnknown = 0
        case sessionIDUnknown = 1
        case badHandshakeMethod = 2
        case badRequest = 3
        case forbidden = 4
        case unsupportedProtocolVersion = 5
    }

    public var code: Code

    public init(_ code: Code) { self.code = code }

    public var message: String {
        switch code {
        case .transportUnknown: return "Transport unknown"
        case .sessionIDUnknown: return "Session ID unknown"
        case .badHandshakeMethod: return "Bad handshake method"
        case .badRequest: return "Bad request"
        case .forbidden: return "Forbidden"
        case .unsupportedProtocolVersion: return "Unsupported protocol version"
        }
    }

    /// The JSON body of the HTTP 400 answer.
    public var json: String { "{\"code\":\(code.rawValue),\"message\":\"\(message)\"}" }

    public var description: String { "\(code.rawValue) \(message)" }
}
