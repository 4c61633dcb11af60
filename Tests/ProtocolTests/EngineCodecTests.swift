import Foundation
import Testing

@testable import EngineIO

@Suite struct EngineCodecTests {
    @Test("decodes every packet type from its digit")
    func packetTypes() throws {
        #expect(try EngineCodec.decode("4hello") == .message("hello"))
        #expect(try EngineCodec.decode("2probe") == EnginePacket(.ping, .text("probe")))
        #expect(try EngineCodec.decode("3") == EnginePacket(.pong))
        #expect(try EngineCodec.decode("5") == EnginePacket(.upgrade))
        #expect(try EngineCodec.decode("6") == EnginePacket(.noop))
        for bad in ["", "7", "x", "9abc", "bno base64!"] {
            #expect(throws: EngineError.self, "\(bad)") { try EngineCodec.decode(bad) }
        }
    }

    @Test("a polling payload is packets joined by the record separator, binary as b + base64")
    func payloads() throws {
        let packets: [EnginePacket] = [.message("hello"), .binary([1, 2, 3, 4]), EnginePacket(.ping)]
        let body = EngineCodec.encodePayload(packets)
        #expect(body == "4hello\u{1e}bAQIDBA==\u{1e}2")
        #expect(try EngineCodec.decodePayload(body) == packets)
        #expect(throws: EngineError.self) { try EngineCodec.decodePayload("") }
        #expect(throws: EngineError.self) { try EngineCodec.decodePayload("4a\u{1e}\u{1e}4b") }
    }

    @Test("base64 and base64url as RFC 4648 spells them, as Foundation writes them")
    func base64AgainstFoundation() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(($0 * 37 + 11) % 256) }
            let standard = Data(bytes).base64EncodedString()
            #expect(Base64.encode(bytes) == standard)
            let url = standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(Base64.encodeURL(bytes) == url)
        }
    }

    @Test("base64 round-trips every length and rejects malformed input", arguments: 0..<9)
    func base64(length: Int) {
        let bytes = (0..<length).map { UInt8(($0 * 73 + 11) % 256) }
        let text = Base64.encode(bytes)
        #expect(Base64.decode(Substring(text)) == bytes)
        #expect(Base64.decode("AQI") == nil)
        #expect(Base64.decode("A=QI") == nil)
        #expect(Base64.decode("AQ*=") == nil)
    }

    @Test("the open packet announces the session and its timing")
    func openPacket() {
        let configuration = EngineConfiguration(pingInterval: 300, pingTimeout: 200, maxPayload: 1_000_000)
        #expect(
            EngineCodec.encode(configuration.openPacket(sid: "abc", upgrades: ["websocket"]))
                == #"0{"sid":"abc","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
        )
    }

    @Test("queries: protocol version and transport are checked in the reference server's order")
    func queries() throws {
        #expect(try EngineQuery(["EIO": "4", "transport": "polling"]).transport == .polling)
        #expect(try EngineQuery(["EIO": "4", "transport": "websocket", "sid": "x"]).sid == "x")
        #expect(throws: EngineError(.unsupportedProtocolVersion)) {
            try EngineQuery(["EIO": "3", "transport": "polling"])
        }
        #expect(throws: EngineError(.unsupportedProtocolVersion)) { try EngineQuery(["transport": "polling"]) }
        #expect(throws: EngineError(.transportUnknown)) { try EngineQuery(["EIO": "4", "transport": "udp"]) }
        #expect(EngineError(.sessionIDUnknown).json == #"{"code":1,"message":"Session ID unknown"}"#)
    }
}
