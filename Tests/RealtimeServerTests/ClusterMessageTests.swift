import EngineIO
import NIOCore
import Testing

@testable import RealtimeServer

@Suite struct ClusterMessageTests {
    @Test("a broadcast survives the trip between instances byte for byte")
    func roundTrip() throws {
        let messages = [
            ClusterMessage(
                origin: "instance-a", namespace: "/tenders", room: "tender:42 ✓", volatile: false,
                packets: [.message(#"451-["bid",{"_placeholder":true,"num":0}]"#), .binary([0, 1, 2, 255])]),
            ClusterMessage(
                origin: "b", namespace: "/system", room: nil, volatile: true, packets: [.message("2[\"alert\"]")]),
        ]
        for message in messages {
            #expect(try ClusterMessage(decoding: message.encoded()) == message)
        }
    }

    @Test("truncated, padded or unknown messages are refused")
    func malformed() {
        let encoded = ClusterMessage(
            origin: "a", namespace: "/", room: "r", volatile: false, packets: [.message("2[\"e\"]")]
        ).encoded()
        var padded = encoded
        padded.writeInteger(UInt8(0))
        var otherVersion = encoded
        otherVersion.setInteger(UInt8(9), at: otherVersion.readerIndex)
        let broken = (0..<encoded.readableBytes).map { encoded.getSlice(at: 0, length: $0)! } + [padded, otherVersion]
        for buffer in broken {
            #expect(throws: ClusterMessage.Malformed.self) { try ClusterMessage(decoding: buffer) }
        }
    }
}
