import EngineIO
import NIOCore
import SocketIO

/// A broadcast as it travels between instances: which instance sent it, where it goes, and its Engine.IO
/// packets already encoded, so receiving instances hand the same bytes to their sockets without touching JSON.
///
/// Wire format, version 1 (all integers big-endian):
/// `u8 version, u8 flags (1: volatile, 2: has room, 4: has except), str origin, str namespace, [str room],
/// [str except], u16 count`, then per packet `u8 kind (0 text, 1 binary), u32 length, bytes`; `str` is
/// `u16 length` + UTF-8. A message kept for connection state recovery is published as `@<stream id>\n` followed
/// by the envelope: the stream entry's id is its offset.
struct ClusterMessage: Sendable, Equatable {
    var origin: String
    var namespace: String
    var room: String?
    /// The socket that sent it, which does not get it back.
    var except: String?
    var volatile: Bool
    var packets: [EnginePacket]
    /// Where the message sits in its namespace's stream, for recovery; not part of the envelope.
    var offset: StreamOffset?

    static let version: UInt8 = 1

    struct Malformed: Error {}

    /// Throws when a field does not fit its length prefix (a string over 65 535 bytes, more than 65 535 packets,
    /// a packet over 4 GiB): the envelope is refused, never truncated. The edges bound names far below that
    /// (`NameLimits`).
    func encoded() throws(Unencodable) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Self.version)
        buffer.writeInteger(UInt8((volatile ? 1 : 0) | (room != nil ? 2 : 0) | (except != nil ? 4 : 0)))
        for text in [origin, namespace] + (room.map { [$0] } ?? []) + (except.map { [$0] } ?? []) {
            try buffer.writeShortString(text)
        }
        guard let count = UInt16(exactly: packets.count) else { throw Unencodable(field: "packet count") }
        buffer.writeInteger(count)
        for packet in packets {
            switch packet.payload {
            case .binary(let bytes):
                guard let length = UInt32(exactly: bytes.count) else { throw Unencodable(field: "packet") }
                buffer.writeInteger(UInt8(1))
                buffer.writeInteger(length)
                buffer.writeBytes(bytes)
            case .text(let text):
                guard let length = UInt32(exactly: text.utf8.count) else { throw Unencodable(field: "packet") }
                buffer.writeInteger(UInt8(0))
                buffer.writeInteger(length)
                buffer.writeString(text)
            }
        }
        return buffer
    }

    init(
        origin: String, namespace: String, room: String?, except: String? = nil, volatile: Bool,
        packets: [EnginePacket]
    ) {
        self.origin = origin
        self.namespace = namespace
        self.room = room
        self.except = except
        self.volatile = volatile
        self.packets = packets
    }

    init(decoding buffer: ByteBuffer) throws {
        var buffer = buffer
        guard buffer.readInteger(as: UInt8.self) == Self.version, let flags = buffer.readInteger(as: UInt8.self)
        else { throw Malformed() }
        func string() throws -> String {
            guard let length = buffer.readInteger(as: UInt16.self), let text = buffer.readString(length: Int(length))
            else { throw Malformed() }
            return text
        }
        origin = try string()
        namespace = try string()
        room = flags & 2 != 0 ? try string() : nil
        except = flags & 4 != 0 ? try string() : nil
        volatile = flags & 1 != 0
        guard let count = buffer.readInteger(as: UInt16.self) else { throw Malformed() }
        packets = []
        for _ in 0..<count {
            guard let kind = buffer.readInteger(as: UInt8.self), let length = buffer.readInteger(as: UInt32.self),
                buffer.readableBytes >= Int(length)
            else { throw Malformed() }
            switch kind {
            case 0: packets.append(.message(buffer.readString(length: Int(length))!))
            case 1: packets.append(.binary(buffer.readBytes(length: Int(length))!))
            default: throw Malformed()
            }
        }
        guard buffer.readableBytes == 0 else { throw Malformed() }
    }

    /// Whether a reconnecting client gets it again: events without attachments that are not volatile (the
    /// rule of Socket.IO's own recovery).
    var isRecoverable: Bool {
        guard !volatile, packets.count == 1, case .text = packets[0].payload else { return false }
        return true
    }

    /// The packets with the offset as the event's last argument, as Socket.IO's recovery extension sends them.
    func packetsWithOffset() -> [EnginePacket] {
        guard let offset, isRecoverable, case .text(let text) = packets[0].payload,
            let (packet, attachments) = try? SocketCodec.decode(text), attachments == 0,
            packet.type == .event, packet.id == nil, case .array(let arguments)? = packet.data
        else { return packets }
        var marked = packet
        marked.data = .array(arguments + [.string(offset.description)])
        return [.message(SocketCodec.encode(marked).text)]
    }
}

/// A Redis stream entry id, `<milliseconds>-<sequence>`: the offset of a recoverable event.
struct StreamOffset: Sendable, Hashable, Comparable, CustomStringConvertible {
    let milliseconds: UInt64
    let sequence: UInt64

    init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let milliseconds = UInt64(parts[0]), let sequence = UInt64(parts[1]) else {
            return nil
        }
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    var description: String { "\(milliseconds)-\(sequence)" }

    static func < (lhs: StreamOffset, rhs: StreamOffset) -> Bool {
        (lhs.milliseconds, lhs.sequence) < (rhs.milliseconds, rhs.sequence)
    }
}

/// A value that does not fit the length prefix of the cluster's wire formats.
struct Unencodable: Error, CustomStringConvertible {
    let field: String
    var description: String { "\(field) too long for the cluster wire format" }
}

extension ByteBuffer {
    /// `u16 length` + UTF-8; throws for a string over 65 535 bytes instead of writing a wrong length.
    mutating func writeShortString(_ text: String) throws(Unencodable) {
        guard let length = UInt16(exactly: text.utf8.count) else { throw Unencodable(field: "string") }
        writeInteger(length)
        writeString(text)
    }
}
