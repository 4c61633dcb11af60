import EngineIO
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import RealtimeServer

/// The frames the server writes, read back by SwiftNIO's own WebSocket frame decoder.
@Suite struct WireFramesTests {
    private func decode(_ frames: WireFrames) throws -> [WebSocketFrame] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
        try channel.writeInbound(frames.bytes)
        var decoded: [WebSocketFrame] = []
        while let frame = try channel.readInbound(as: WebSocketFrame.self) { decoded.append(frame) }
        _ = try channel.finish()
        return decoded
    }

    @Test("each length encoding, at both ends of its range", arguments: [0, 1, 125, 126, 65_535, 65_536, 300_000])
    func lengths(size: Int) throws {
        let text = String(repeating: "x", count: size)
        let frames = WireFrames(EnginePacket(.message, .text(text)))
        let decoded = try decode(frames)
        #expect(decoded.count == 1 && frames.count == 1)
        let frame = try #require(decoded.first)
        #expect(frame.fin && frame.opcode == .text && frame.maskKey == nil)
        #expect(!frame.rsv1 && !frame.rsv2 && !frame.rsv3)
        #expect(String(buffer: frame.data) == "4" + text)
        // The shortest encoding: 2, 4 or 10 header bytes.
        let header = size + 1 < 126 ? 2 : size + 1 <= 65_535 ? 4 : 10
        #expect(frames.bytes.readableBytes == header + size + 1)
    }

    @Test("several packets: one frame each, binary messages as binary frames, in order")
    func packets() throws {
        let frames = WireFrames([
            EnginePacket(.message, .text("héllo")), EnginePacket(.message, .binary([0, 1, 255])), EnginePacket(.ping),
        ])
        let decoded = try decode(frames)
        #expect(frames.count == 3)
        #expect(decoded.map(\.opcode) == [.text, .binary, .text])
        #expect(String(buffer: decoded[0].data) == "4héllo")
        #expect(Array(decoded[1].data.readableBytesView) == [0, 1, 255])
        #expect(String(buffer: decoded[2].data) == "2")
    }

    @Test("close carries its status code; pong its ping's payload")
    func controlFrames() throws {
        let close = try #require(try decode(.close(1009)).first)
        #expect(close.opcode == .connectionClose)
        var payload = close.data
        #expect(payload.readInteger(as: UInt16.self) == 1009 && payload.readableBytes == 0)
        let pong = try #require(try decode(.pong(ByteBuffer(string: "are you there"))).first)
        #expect(pong.opcode == .pong && String(buffer: pong.data) == "are you there")
    }
}
