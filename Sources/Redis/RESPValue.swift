import NIOCore

/// A value of the Redis serialization protocol, RESP2 and RESP3
/// (https://redis.io/docs/latest/develop/reference/protocol-spec/). Bulk payloads stay byte buffers: values are
/// binary-safe and a published message is never copied into a String unless someone asks for one.
public enum RESPValue: Sendable, Hashable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    /// `nil` is RESP2's null bulk string.
    case bulkString(ByteBuffer?)
    /// `nil` is RESP2's null array.
    case array([RESPValue]?)
    // RESP3 only.
    case null
    case boolean(Bool)
    case double(Double)
    case bigNumber(String)
    case verbatimString(format: String, text: String)
    case map([(RESPValue, RESPValue)])
    case set([RESPValue])
    /// Out-of-band data: pub/sub messages and invalidations.
    case push([RESPValue])

    public static func == (lhs: RESPValue, rhs: RESPValue) -> Bool {
        switch (lhs, rhs) {
        case (.simpleString(let a), .simpleString(let b)), (.error(let a), .error(let b)),
            (.bigNumber(let a), .bigNumber(let b)):
            return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.bulkString(let a), .bulkString(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.null, .null): return true
        case (.boolean(let a), .boolean(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b || (a.isNaN && b.isNaN)
        case (.verbatimString(let f, let t), .verbatimString(let g, let u)): return f == g && t == u
        case (.map(let a), .map(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.set(let a), .set(let b)), (.push(let a), .push(let b)): return a == b
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .simpleString(let text), .error(let text), .bigNumber(let text): hasher.combine(text)
        case .integer(let value): hasher.combine(value)
        case .bulkString(let bytes): hasher.combine(bytes)
        case .array(let values): hasher.combine(values)
        case .null: hasher.combine(0)
        case .boolean(let value): hasher.combine(value)
        case .double(let value): hasher.combine(value)
        case .verbatimString(_, let text): hasher.combine(text)
        case .map(let pairs): hasher.combine(pairs.count)
        case .set(let values), .push(let values): hasher.combine(values)
        }
    }

    /// A bulk, simple or verbatim string as text.
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes?): return String(buffer: bytes)
        case .verbatimString(_, let text): return text
        default: return nil
        }
    }

    public var bytes: ByteBuffer? {
        switch self {
        case .bulkString(let bytes): return bytes
        case .simpleString(let text): return ByteBuffer(string: text)
        default: return nil
        }
    }

    public var int: Int64? {
        switch self {
        case .integer(let value): return value
        case .bulkString(let bytes?): return Int64(String(buffer: bytes))
        default: return nil
        }
    }

    /// The elements of an array, set or push.
    public var elements: [RESPValue]? {
        switch self {
        case .array(let values?), .set(let values), .push(let values): return values
        default: return nil
        }
    }

    public var isNull: Bool {
        switch self {
        case .null, .bulkString(nil), .array(nil): return true
        default: return false
        }
    }
}

/// One argument of a command: commands go to Redis as arrays of bulk strings.
public struct RESPArgument: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    let bytes: ByteBuffer

    public init(_ text: String) { bytes = ByteBuffer(string: text) }
    public init(_ buffer: ByteBuffer) { bytes = buffer }
    public init(_ number: Int) { bytes = ByteBuffer(string: String(number)) }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }
}

/// A command as Redis reads it: `*<n>\r\n` then `$<len>\r\n<bytes>\r\n` per argument.
public struct RESPCommand: Sendable {
    public let arguments: [RESPArgument]

    public init(_ arguments: [RESPArgument]) {
        precondition(!arguments.isEmpty, "a command has a name")
        self.arguments = arguments
    }

    public init(_ name: String, _ arguments: RESPArgument...) { self.init([RESPArgument(name)] + arguments) }

    /// The command's name in upper case, for errors and logs (never its arguments: they may be secrets).
    public var name: String { String(buffer: arguments[0].bytes).uppercased() }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("*")
        buffer.writeString(String(arguments.count))
        buffer.writeStaticString("\r\n")
        for argument in arguments {
            buffer.writeStaticString("$")
            buffer.writeString(String(argument.bytes.readableBytes))
            buffer.writeStaticString("\r\n")
            var bytes = argument.bytes
            buffer.writeBuffer(&bytes)
            buffer.writeStaticString("\r\n")
        }
    }
}
