import JSON

/// Encodes Socket.IO v5 packets: `<type>[<#attachments>-][<nsp>,][<ackId>][JSON]`, with binary values replaced
/// by `{"_placeholder":true,"num":N}` and sent as separate Engine.IO binary messages.
public enum SocketCodec {
    /// Event names the protocol reserves: a client may not send them.
    public static let reservedEvents: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]

    /// The text packet and the attachments that follow it, in order.
    public static func encode(_ packet: SocketPacket) -> (text: String, attachments: [[UInt8]]) {
        var attachments: [[UInt8]] = []
        let data = packet.data.map { extract(from: $0, into: &attachments) }
        var text = String(packet.type.rawValue)
        if packet.type == .binaryEvent || packet.type == .binaryAck { text += "\(attachments.count)-" }
        if packet.namespace != "/" { text += packet.namespace + "," }
        if let id = packet.id { text += String(id) }
        if let data { text += data.serialized() }
        return (text, attachments)
    }

    private static func extract(from value: JSONValue, into attachments: inout [[UInt8]]) -> JSONValue {
        switch value {
        case .binary(let bytes):
            attachments.append(bytes)
            return .object([("_placeholder", .bool(true)), ("num", .number(Double(attachments.count - 1)))])
        case .array(let items):
            return .array(items.map { extract(from: $0, into: &attachments) })
        case .object(let members):
            return .object(members.map { ($0.key, extract(from: $0.value, into: &attachments)) })
        default:
            return value
        }
    }

    /// The header and data of a text packet; `attachments` binary messages must follow for binary types.
    public static func decode(_ text: String) throws -> (packet: SocketPacket, attachments: Int) {
        var rest = Substring(text)
        guard let typeCharacter = rest.first, let digit = typeCharacter.wholeNumberValue,
            let type = SocketPacketType(rawValue: digit), typeCharacter.isASCII
        else { throw SocketProtocolError("unknown packet type") }
        rest = rest.dropFirst()
        var attachments = 0
        if type == .binaryEvent || type == .binaryAck {
            guard let dash = rest.firstIndex(of: "-"), let count = Int(rest[..<dash]), count >= 0 else {
                throw SocketProtocolError("illegal attachments")
            }
            attachments = count
            rest = rest[rest.index(after: dash)...]
        }
        var namespace = "/"
        if rest.first == "/" {
            let end = rest.firstIndex(of: ",") ?? rest.endIndex
            namespace = String(rest[..<end])
            rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
        }
        var id: Int?
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        if !digits.isEmpty {
            guard let value = Int(digits) else { throw SocketProtocolError("invalid ack id") }
            id = value
            rest = rest.dropFirst(digits.count)
        }
        var data: JSONValue?
        if !rest.isEmpty {
            guard let parsed = JSONValue.parse(rest) else { throw SocketProtocolError("invalid payload") }
            data = parsed
        }
        let packet = SocketPacket(type, namespace: namespace, id: id, data: data)
        guard isValid(packet) else { throw SocketProtocolError("invalid payload") }
        return (packet, attachments)
    }

    /// The socket.io-parser rules for what each packet type may carry.
    static func isValid(_ packet: SocketPacket) -> Bool {
        switch packet.type {
        case .connect:
            return packet.data == nil || packet.data!.isObject
        case .disconnect:
            return packet.data == nil
        case .connectError:
            if case .string? = packet.data { return true }
            return packet.data?.isObject == true
        case .event, .binaryEvent:
            guard case .array(let items)? = packet.data, let first = items.first else { return false }
            switch first {
            case .number: return true
            case .string(let name): return !reservedEvents.contains(name)
            default: return false
            }
        case .ack, .binaryAck:
            if case .array? = packet.data { return packet.id != nil }
            return false
        }
    }

    /// Puts attachments back where their placeholders are.
    static func reconstruct(_ value: JSONValue, _ attachments: [[UInt8]]) throws -> JSONValue {
        switch value {
        case .object(let members):
            if let placeholder = members.first(where: { $0.key == "_placeholder" }), placeholder.value == .bool(true) {
                guard case .number(let number)? = value["num"], number >= 0, Int(number) < attachments.count else {
                    throw SocketProtocolError("illegal attachments")
                }
                return .binary(attachments[Int(number)])
            }
            return .object(try members.map { ($0.key, try reconstruct($0.value, attachments)) })
        case .array(let items):
            return .array(try items.map { try reconstruct($0, attachments) })
        default:
            return value
        }
    }
}

/// Reads Socket.IO packets from a connection's Engine.IO messages: text packets, and for binary types the
/// binary messages that follow them.
public struct SocketDecoder: Sendable {
    private var pending: (packet: SocketPacket, expected: Int, attachments: [[UInt8]])?

    public init() {}

    /// A complete packet, or nil while attachments are still expected.
    public mutating func receive(text: String) throws -> SocketPacket? {
        guard pending == nil else { throw SocketProtocolError("got plaintext data when reconstructing a packet") }
        let (packet, attachments) = try SocketCodec.decode(text)
        if attachments == 0 { return try finish(packet, []) }
        pending = (packet, attachments, [])
        return nil
    }

    public mutating func receive(binary bytes: [UInt8]) throws -> SocketPacket? {
        guard var current = pending else {
            throw SocketProtocolError("got binary data when not reconstructing a packet")
        }
        current.attachments.append(bytes)
        guard current.attachments.count == current.expected else {
            pending = current
            return nil
        }
        pending = nil
        return try finish(current.packet, current.attachments)
    }

    private func finish(_ packet: SocketPacket, _ attachments: [[UInt8]]) throws -> SocketPacket {
        guard !attachments.isEmpty, let data = packet.data else { return packet }
        var result = packet
        result.data = try SocketCodec.reconstruct(data, attachments)
        return result
    }
}
