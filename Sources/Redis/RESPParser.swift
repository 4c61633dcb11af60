import NIOCore

/// Reads RESP2 and RESP3 values from a byte stream. A value is consumed only once it is complete, so the parser
/// can be handed a buffer that holds part of one (what arrives from the socket); limits on length and nesting
/// keep a broken or hostile peer from making it allocate without bound.
public struct RESPParser: Sendable {
    public struct Limits: Sendable {
        /// Longest bulk string accepted (Redis's own `proto-max-bulk-len` defaults to 512 MiB).
        public var maxBulkLength: Int = 64 << 20
        /// Most elements in one array, map, set or push.
        public var maxElements: Int = 1 << 20
        public var maxDepth: Int = 32

        public init() {}
    }

    public struct ProtocolError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public var limits: Limits

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// The next value, or nil when `buffer` does not hold a whole one yet (nothing is consumed then).
    /// A partial value is parsed again from its start when more bytes come; replies here are small.
    public func parse(_ buffer: inout ByteBuffer) throws -> RESPValue? {
        var cursor = buffer
        guard let value = try parseValue(&cursor, depth: 0) else { return nil }
        buffer.moveReaderIndex(to: cursor.readerIndex)
        return value
    }

    private func parseValue(_ buffer: inout ByteBuffer, depth: Int) throws -> RESPValue? {
        guard depth <= limits.maxDepth else { throw ProtocolError(description: "values nested too deep") }
        guard let marker = buffer.readInteger(as: UInt8.self) else { return nil }
        switch marker {
        case UInt8(ascii: "+"): return try line(&buffer).map { .simpleString($0) }
        case UInt8(ascii: "-"): return try line(&buffer).map { .error($0) }
        case UInt8(ascii: ":"):
            guard let text = try line(&buffer) else { return nil }
            guard let value = Int64(text) else { throw ProtocolError(description: "bad integer \(text)") }
            return .integer(value)
        case UInt8(ascii: "$"):
            guard let length = try length(&buffer) else { return nil }
            guard length >= 0 else { return .bulkString(nil) }
            return try blob(&buffer, length).map { .bulkString($0) }
        case UInt8(ascii: "*"):
            guard let count = try count(&buffer) else { return nil }
            guard count >= 0 else { return .array(nil) }
            return try elements(&buffer, count, depth).map { .array($0) }
        case UInt8(ascii: "_"):
            return try line(&buffer).map { _ in .null }
        case UInt8(ascii: "#"):
            guard let text = try line(&buffer) else { return nil }
            guard text == "t" || text == "f" else { throw ProtocolError(description: "bad boolean \(text)") }
            return .boolean(text == "t")
        case UInt8(ascii: ","):
            guard let text = try line(&buffer) else { return nil }
            let value: Double? =
                switch text {
                case "inf": .infinity
                case "-inf": -.infinity
                case "nan": .nan
                default: Double(text)
                }
            guard let value else { throw ProtocolError(description: "bad double \(text)") }
            return .double(value)
        case UInt8(ascii: "("): return try line(&buffer).map { .bigNumber($0) }
        case UInt8(ascii: "!"):
            guard let length = try length(&buffer) else { return nil }
            return try blob(&buffer, max(length, 0)).map { .error(String(buffer: $0)) }
        case UInt8(ascii: "="):
            guard let length = try length(&buffer) else { return nil }
            guard let bytes = try blob(&buffer, max(length, 0)) else { return nil }
            let text = String(buffer: bytes)
            guard text.utf8.count >= 4, text.utf8.dropFirst(3).first == UInt8(ascii: ":") else {
                throw ProtocolError(description: "bad verbatim string")
            }
            return .verbatimString(format: String(text.prefix(3)), text: String(text.dropFirst(4)))
        case UInt8(ascii: "%"):
            guard let count = try count(&buffer) else { return nil }
            guard let flat = try elements(&buffer, max(count, 0) * 2, depth) else { return nil }
            return .map(stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) })
        case UInt8(ascii: "~"):
            guard let count = try count(&buffer) else { return nil }
            return try elements(&buffer, max(count, 0), depth).map { .set($0) }
        case UInt8(ascii: ">"):
            guard let count = try count(&buffer) else { return nil }
            return try elements(&buffer, max(count, 0), depth).map { .push($0) }
        case UInt8(ascii: "|"):
            // Attributes describe the reply that follows; nothing here uses them, so they are skipped.
            guard let count = try count(&buffer) else { return nil }
            guard try elements(&buffer, max(count, 0) * 2, depth) != nil else { return nil }
            return try parseValue(&buffer, depth: depth)
        default:
            throw ProtocolError(description: "unknown type marker \(marker)")
        }
    }

    /// A CRLF-terminated line, without the CRLF.
    private func line(_ buffer: inout ByteBuffer) throws -> String? {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count > 64 << 10 { throw ProtocolError(description: "line longer than 64 KiB") }
            return nil
        }
        let length = newline - view.startIndex
        guard length >= 1, view[newline - 1] == UInt8(ascii: "\r") else {
            throw ProtocolError(description: "line not terminated by CRLF")
        }
        let text = buffer.readString(length: length - 1)
        buffer.moveReaderIndex(forwardBy: 2)
        return text
    }

    private func length(_ buffer: inout ByteBuffer) throws -> Int? {
        guard let text = try line(&buffer) else { return nil }
        guard let value = Int(text), value >= -1 else { throw ProtocolError(description: "bad length \(text)") }
        guard value <= limits.maxBulkLength else {
            throw ProtocolError(description: "bulk string of \(value) bytes exceeds the \(limits.maxBulkLength) limit")
        }
        return value
    }

    private func count(_ buffer: inout ByteBuffer) throws -> Int? {
        guard let text = try line(&buffer) else { return nil }
        guard let value = Int(text), value >= -1 else { throw ProtocolError(description: "bad count \(text)") }
        guard value <= limits.maxElements else {
            throw ProtocolError(description: "\(value) elements exceed the \(limits.maxElements) limit")
        }
        return value
    }

    private func blob(_ buffer: inout ByteBuffer, _ length: Int) throws -> ByteBuffer? {
        guard buffer.readableBytes >= length + 2 else { return nil }
        let bytes = buffer.readSlice(length: length)!
        guard buffer.readBytes(length: 2) == [UInt8(ascii: "\r"), UInt8(ascii: "\n")] else {
            throw ProtocolError(description: "bulk string not terminated by CRLF")
        }
        return bytes
    }

    private func elements(_ buffer: inout ByteBuffer, _ count: Int, _ depth: Int) throws -> [RESPValue]? {
        var values: [RESPValue] = []
        values.reserveCapacity(min(count, 1024))
        for _ in 0..<count {
            guard let value = try parseValue(&buffer, depth: depth + 1) else { return nil }
            values.append(value)
        }
        return values
    }
}
