import EngineIO
import NIOCore

/// A broadcast as it travels between instances: which instance sent it, where it goes, and its Engine.IO
/// packets already encoded, so receiving instances hand the same bytes to their sockets without touching JSON.
///
/// Wire format, version 1 (all integers big-endian):
/// `u8 version, u8 flags (1: volatile, 2: has room), str origin, str namespace, [str room], u16 count`, then per
/// packet `u8 kind (0 text, 1 binary), u32 length, bytes`; `str` is `u16 length` + UTF-8.
struct ClusterMessage: Sendable, Equatable {
    var origin: String
    var namespace: String
    var room: String?
    var volatile: Bool
    var packets: [EnginePacket]

    static let version: UInt8 = 1

    struct Malformed: Error {}

    func encoded() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Self.version)
        buffer.writeInteger(UInt8((volatile ? 1 : 0) | (room != nil ? 2 : 0)))
        for text in [origin, namespace] + (room.map { [$0] } ?? []) {
            buffer.writeInteger(UInt16(clamping: text.utf8.count))
            buffer.writeString(text)
        }
        buffer.writeInteger(UInt16(clamping: packets.count))
        for packet in packets {
            switch packet.payload {
            case .binary(let bytes):
                buffer.writeInteger(UInt8(1))
                buffer.writeInteger(UInt32(bytes.count))
                buffer.writeBytes(bytes)
            case .text(let text):
                buffer.writeInteger(UInt8(0))
                buffer.writeInteger(UInt32(text.utf8.count))
                buffer.writeString(text)
            }
        }
        return buffer
    }

    init(origin: String, namespace: String, room: String?, volatile: Bool, packets: [EnginePacket]) {
        self.origin = origin
        self.namespace = namespace
        self.room = room
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
}
