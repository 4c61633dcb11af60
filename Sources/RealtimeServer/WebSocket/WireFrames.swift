import EngineIO
import NIOCore

/// WebSocket frames from the server (RFC 6455 §5.2) as the bytes that go on the wire. A server's frames are not
/// masked, so they are the same bytes for every client: a broadcast is framed once, and the one buffer is
/// written to every socket.
struct WireFrames: Sendable {
    /// RFC 6455 §5.2 opcodes the server sends.
    enum Opcode: UInt8 {
        case text = 0x1
        case binary = 0x2
        case close = 0x8
        case pong = 0xA
    }

    private(set) var bytes = ByteBuffer()
    /// How many frames `bytes` holds.
    private(set) var count = 0

    init() {}

    /// One frame per packet: binary messages as binary frames, everything else as text.
    init(_ packets: [EnginePacket]) {
        for packet in packets { append(packet) }
    }

    init(_ packet: EnginePacket) { append(packet) }

    mutating func append(_ packet: EnginePacket) {
        switch packet.payload {
        case .binary(let payload) where packet.type == .message:
            appendHeader(.binary, length: payload.count)
            bytes.writeBytes(payload)
        default:
            let text = EngineCodec.encode(packet)
            appendHeader(.text, length: text.utf8.count)
            bytes.writeString(text)
        }
        count += 1
    }

    /// A close frame with its status code (RFC 6455 §7.4), no reason.
    static func close(_ code: UInt16) -> WireFrames {
        var frames = WireFrames()
        frames.appendHeader(.close, length: 2)
        frames.bytes.writeInteger(code)
        frames.count = 1
        return frames
    }

    /// The answer to a ping: a pong with the ping's payload (at most 125 bytes, as for every control frame).
    static func pong(_ payload: ByteBuffer) -> WireFrames {
        var frames = WireFrames()
        frames.appendHeader(.pong, length: payload.readableBytes)
        frames.bytes.writeImmutableBuffer(payload)
        frames.count = 1
        return frames
    }

    /// FIN set, no extension bits, unmasked; the length in 7 bits, or 16 or 64 after the marker 126 or 127.
    private mutating func appendHeader(_ opcode: Opcode, length: Int) {
        bytes.writeInteger(0x80 | opcode.rawValue)
        switch length {
        case ..<126: bytes.writeInteger(UInt8(length))
        case ...Int(UInt16.max):
            bytes.writeInteger(UInt8(126))
            bytes.writeInteger(UInt16(length))
        default:
            bytes.writeInteger(UInt8(127))
            bytes.writeInteger(UInt64(length))
        }
    }
}
