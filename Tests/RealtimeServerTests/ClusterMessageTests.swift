import EngineIO
import JSON
import NIOCore
import SocketIO
import Testing

@testable import RealtimeServer

@Suite struct ClusterMessageTests {
    @Test("a broadcast survives the trip between instances byte for byte")
    func roundTrip() throws {
        let messages = [
            ClusterMessage(
                origin: "instance-a", namespace: "/tenders", room: "tender:42 ✓", except: "socket-1", volatile: false,
                packets: [.message(#"451-["bid",{"_placeholder":true,"num":0}]"#), .binary([0, 1, 2, 255])]),
            ClusterMessage(
                origin: "b", namespace: "/system", room: nil, volatile: true, packets: [.message("2[\"alert\"]")]),
        ]
        for message in messages {
            #expect(try ClusterMessage(decoding: message.encoded()) == message)
        }
    }

    @Test("truncated, padded or unknown messages are refused")
    func malformed() throws {
        let encoded = try ClusterMessage(
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

    @Test("a name longer than its 16-bit length prefix is refused, never truncated")
    func oversizedNames() throws {
        let long = String(repeating: "r", count: Int(UInt16.max) + 1)
        let fits = String(repeating: "r", count: Int(UInt16.max))
        let room = ClusterMessage(origin: "a", namespace: "/", room: long, volatile: false, packets: [])
        #expect(throws: Unencodable.self) { try room.encoded() }
        let namespace = ClusterMessage(origin: "a", namespace: long, room: nil, volatile: false, packets: [])
        #expect(throws: Unencodable.self) { try namespace.encoded() }
        let largest = ClusterMessage(origin: "a", namespace: "/", room: fits, volatile: false, packets: [])
        #expect(try ClusterMessage(decoding: largest.encoded()) == largest)
        let poll = ForwardedPolling.request(id: 1, replyTo: "b", method: .get, sid: long, body: ByteBuffer())
        #expect(throws: Unencodable.self) { try poll.encoded() }
        let answer = ForwardedPolling.answer(
            id: 1, reply: PollingReply(status: 200, contentType: long, body: ByteBuffer()))
        #expect(throws: Unencodable.self) { try answer.encoded() }
    }

    @Test("offsets are Redis stream ids, ordered by time then sequence")
    func offsets() throws {
        let early = try #require(StreamOffset("1700000000000-9"))
        let late = try #require(StreamOffset("1700000000001-0"))
        #expect(early < late && early.description == "1700000000000-9")
        for text in ["", "1", "1-", "-1", "a-1", "1-2-3", "1.5-0"] { #expect(StreamOffset(text) == nil) }
    }

    @Test("a recoverable event gets its offset as the last argument; others are left as they are")
    func offsetArgument() throws {
        var message = ClusterMessage(
            origin: "a", namespace: "/tenders", room: "tender:1", volatile: false,
            packets: [.message(#"2/tenders,["tender:update",{"sequence":1}]"#)])
        #expect(message.packetsWithOffset() == message.packets)  // no offset yet
        message.offset = StreamOffset("5-1")
        #expect(message.packetsWithOffset() == [.message(#"2/tenders,["tender:update",{"sequence":1},"5-1"]"#)])
        var typing = message
        typing.volatile = true
        #expect(!typing.isRecoverable && typing.packetsWithOffset() == typing.packets)
        var binary = message
        binary.packets = [.message(#"51-/tenders,["file",{"_placeholder":true,"num":0}]"#), .binary([1])]
        #expect(!binary.isRecoverable)
    }

    @Test("what the publish script sends: the stream id, a newline, the envelope")
    func recoverablePayload() throws {
        let message = ClusterMessage(
            origin: "a", namespace: "/tenders", room: nil, volatile: false, packets: [.message("2[\"x\"]")])
        var payload = ByteBuffer(string: "@1700000000000-3\n")
        payload.writeImmutableBuffer(try message.encoded())
        let decoded = try #require(try ClusterRecovery.recoverable(payload))
        #expect(decoded.offset == StreamOffset("1700000000000-3"))
        #expect(decoded.packets == message.packets)
        #expect(try ClusterRecovery.recoverable(message.encoded()) == nil)
        #expect(throws: ClusterMessage.Malformed.self) {
            try ClusterRecovery.recoverable(ByteBuffer(string: "@nonsense\n"))
        }
    }

    @Test("forwarded polling requests and answers survive the trip; anything else is refused")
    func forwardedPolling() throws {
        let messages: [ForwardedPolling] = [
            .request(
                id: 7, replyTo: "instance-b", method: .post, sid: "instance-a.xyz", body: ByteBuffer(string: "40")),
            .request(id: 8, replyTo: "b", method: .get, sid: "a.1", body: ByteBuffer()),
            .request(id: 0, replyTo: "b", method: .release, sid: "a.1", body: ByteBuffer()),
            .answer(
                id: 7, reply: PollingReply(status: 400, contentType: "application/json", body: ByteBuffer(string: "{}"))
            ),
        ]
        for message in messages {
            #expect(ForwardedPolling.isForwarded(try message.encoded()))
            #expect(try ForwardedPolling(decoding: message.encoded()) == message)
        }
        let encoded = try messages[0].encoded()
        for length in 0..<encoded.readableBytes {
            #expect(throws: ClusterMessage.Malformed.self) {
                try ForwardedPolling(decoding: encoded.getSlice(at: 0, length: length)!)
            }
        }
        #expect(
            !ForwardedPolling.isForwarded(
                try ClusterMessage(origin: "a", namespace: "/", room: nil, volatile: false, packets: []).encoded()))
    }

    @Test("cluster questions and answers survive the trip; malformed ones are dropped")
    func queries() throws {
        let query = JSONValue.object([("op", "room-count"), ("namespace", "/tenders"), ("room", "tender:1")])
        let question = ClusterQueryMessage.question(id: 42, from: "instance-a", query: query)
        #expect(ClusterQueryMessage.isQuery(question))
        guard case .question(let id, let from, let decoded)? = ClusterQueryMessage.decode(question) else {
            Issue.record("not a question")
            return
        }
        #expect(id == 42 && from == "instance-a" && decoded == query)
        guard
            case .answer(let answerID, let answer)? = ClusterQueryMessage.decode(
                ClusterQueryMessage.answer(id: 42, answer: .number(3)))
        else {
            Issue.record("not an answer")
            return
        }
        #expect(answerID == 42 && answer == .number(3))
        for broken in ["C{}", "C{\"id\":-1,\"from\":\"a\",\"query\":{}}", "A{\"id\":1}", "Cnot json", "X{\"id\":1}"] {
            #expect(ClusterQueryMessage.decode(ByteBuffer(string: broken)) == nil)
        }
    }
}
