import JSON
import Testing

@testable import SocketIO

/// The examples of the socket.io-protocol README, both ways.
@Suite struct SocketCodecTests {
    static let examples: [(String, SocketPacket)] = [
        ("0", SocketPacket(.connect)),
        (#"0/admin,{"token":"123"}"#, SocketPacket(.connect, namespace: "/admin", data: .object([("token", "123")]))),
        (#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#, SocketPacket(.connect, data: .object([("sid", "wZX3oN0bSVIhsaknAAAI")]))),
        (
            #"4{"message":"Not authorized"}"#,
            SocketPacket(.connectError, data: .object([("message", "Not authorized")]))
        ),
        (#"2["foo"]"#, SocketPacket(.event, data: ["foo"])),
        (#"2/admin,["bar"]"#, SocketPacket(.event, namespace: "/admin", data: ["bar"])),
        (#"212["foo"]"#, SocketPacket(.event, id: 12, data: ["foo"])),
        (#"3/admin,13["bar"]"#, SocketPacket(.ack, namespace: "/admin", id: 13, data: ["bar"])),
        ("1/admin,", SocketPacket(.disconnect, namespace: "/admin")),
    ]

    @Test("README examples decode and encode", arguments: examples.indices)
    func readmeExample(_ index: Int) throws {
        let (text, packet) = Self.examples[index]
        #expect(try SocketCodec.decode(text).packet == packet)
        #expect(SocketCodec.encode(packet).text == text)
    }

    @Test("binary values travel as placeholders plus attachments, and come back in place")
    func binary() throws {
        let packet = SocketPacket.event(
            "baz", [.binary([1, 2]), .object([("nested", .binary([3]))])], namespace: "/admin", id: 7)
        let (text, attachments) = SocketCodec.encode(packet)
        #expect(text == #"52-/admin,7["baz",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]"#)
        #expect(attachments == [[1, 2], [3]])
        var decoder = SocketDecoder()
        #expect(try decoder.receive(text: text) == nil)
        #expect(try decoder.receive(binary: attachments[0]) == nil)
        #expect(try decoder.receive(binary: attachments[1]) == packet)
    }

    @Test(
        "invalid packets are refused",
        arguments: [
            "", "9", "abc", "2", "2{}", "2abc", #"2["connect"]"#, "2[]", #"2[{}]"#, "3[]", #"0["a"]"#, #"1{"a":1}"#,
            "4[1]", "5-[]", #"5x-["a"]"#, #"2["a"#,
        ])
    func invalid(_ text: String) {
        #expect(throws: SocketProtocolError.self) { try SocketCodec.decode(text) }
    }

    @Test("a binary message without a pending packet, or text while one is pending, is refused")
    func decoderOrder() throws {
        var decoder = SocketDecoder()
        #expect(throws: SocketProtocolError.self) { try decoder.receive(binary: [1]) }
        _ = try decoder.receive(text: #"51-["a",{"_placeholder":true,"num":0}]"#)
        #expect(throws: SocketProtocolError.self) { try decoder.receive(text: #"2["b"]"#) }
    }

    @Test("a placeholder pointing past the attachments is refused")
    func placeholderOutOfRange() throws {
        var decoder = SocketDecoder()
        _ = try decoder.receive(text: #"51-["a",{"_placeholder":true,"num":3}]"#)
        #expect(throws: SocketProtocolError.self) { try decoder.receive(binary: [1]) }
    }

    @Test("JSON round-trips strings with escapes, numbers, nesting")
    func json() throws {
        let value: JSONValue = .array([
            "quote\" back\\ nl\n tab\t \u{01} ünï", .number(1.5), .number(-3), .number(1e21), true, .null,
            .object([("a", [1, 2]), ("b", .object([]))]),
        ])
        let text = value.serialized()
        #expect(JSONValue.parse(Substring(text)) == value)
        #expect(JSONValue.parse("{not json") == nil)
    }

    @Test("event names may be numbers")
    func numericEventName() throws {
        let packet = try SocketCodec.decode("2[42,\"x\"]").packet
        #expect(packet.event?.name == "42")
        #expect(packet.event?.arguments == ["x"])
    }
}

@Suite struct JSONParserTests {
    @Test(
        "strict JSON: these are refused",
        arguments: [
            "", " ", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "+1", "1e", "tru", "nul", "\"abc", "\"\\x\"",
            "\"\\ud800\"", "[1 2]", "{\"a\" 1}", "{1:2}", "\"tab\there\"", "NaN", "[1]x",
        ])
    func refused(_ text: String) {
        #expect(JSONValue.parse(Substring(text)) == nil, "\(text)")
    }

    @Test("strict JSON: these are accepted")
    func accepted() {
        #expect(
            JSONValue.parse(" [ 1 , -0.5e-3 , \"\\u00e9\\ud83d\\ude00\\/\" ] ") == .array([1, .number(-0.0005), "é😀/"]))
        #expect(JSONValue.parse("{\"b\":1,\"a\":2}")?.serialized() == "{\"b\":1,\"a\":2}")
    }

    @Test("nesting deeper than the limit is refused instead of exhausting the stack")
    func depth() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(JSONValue.parse(Substring(deep)) == nil)
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(JSONValue.parse(Substring(fine)) != nil)
    }
}
