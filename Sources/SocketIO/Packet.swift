import JSON

/// Socket.IO v5 packet types.
public enum SocketPacketType: Int, Sendable, Hashable {
    case connect = 0
    case disconnect = 1
    case event = 2
    case ack = 3
    case connectError = 4
    case binaryEvent = 5
    case binaryAck = 6
}

/// A Socket.IO packet with its binary attachments put back in place of their placeholders.
public struct SocketPacket: Sendable, Hashable {
    public var type: SocketPacketType
    /// The namespace, `/` by default.
    public var namespace: String
    /// The acknowledgement id of an event that wants an answer, or of an ACK.
    public var id: Int?
    public var data: JSONValue?

    public init(_ type: SocketPacketType, namespace: String = "/", id: Int? = nil, data: JSONValue? = nil) {
        self.type = type
        self.namespace = namespace
        self.id = id
        self.data = data
    }

    /// An EVENT (or BINARY_EVENT when an argument holds binary data).
    public static func event(_ name: String, _ arguments: [JSONValue], namespace: String = "/", id: Int? = nil)
        -> SocketPacket
    {
        let data = JSONValue.array([.string(name)] + arguments)
        return SocketPacket(data.containsBinary ? .binaryEvent : .event, namespace: namespace, id: id, data: data)
    }

    /// An ACK (or BINARY_ACK) answering `id`.
    public static func ack(_ id: Int, _ arguments: [JSONValue], namespace: String = "/") -> SocketPacket {
        let data = JSONValue.array(arguments)
        return SocketPacket(data.containsBinary ? .binaryAck : .ack, namespace: namespace, id: id, data: data)
    }

    /// The event name and arguments of an EVENT or BINARY_EVENT.
    public var event: (name: String, arguments: [JSONValue])? {
        guard type == .event || type == .binaryEvent, case .array(let items)? = data, let first = items.first else {
            return nil
        }
        let name: String
        switch first {
        case .string(let text): name = text
        case .number(let number): name = String(Int64(number))
        default: return nil
        }
        return (name, Array(items.dropFirst()))
    }
}

extension JSONValue {
    var containsBinary: Bool {
        switch self {
        case .binary: return true
        case .array(let items): return items.contains { $0.containsBinary }
        case .object(let members): return members.contains { $0.value.containsBinary }
        default: return false
        }
    }
}

/// A packet the server refuses: the connection that sent it is closed.
public struct SocketProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
