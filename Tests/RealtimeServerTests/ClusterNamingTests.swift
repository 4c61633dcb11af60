import NIOCore
import SocketIO
import Testing

@testable import RealtimeServer

/// The cluster's decisions that used to be made on strings: which wire format a payload is, how presence modes
/// combine, and the Redis names that must share a hash slot.
@Suite struct ClusterNamingTests {
    @Test("each cluster wire format is told apart by its tag byte; anything else is no kind")
    func payloadKinds() throws {
        let message = ClusterMessage(origin: "a", namespace: "/", room: nil, volatile: false, packets: [])
        #expect(ClusterPayloadKind(try message.encoded()) == .broadcast)
        var recoverable = ByteBuffer(string: "@1-0\n")
        recoverable.writeImmutableBuffer(try message.encoded())
        #expect(ClusterPayloadKind(recoverable) == .recoverableBroadcast)
        let poll = ForwardedPolling.request(id: 1, replyTo: "b", method: .get, sid: "a.1", body: ByteBuffer())
        #expect(ClusterPayloadKind(try poll.encoded()) == .forwardedPolling)
        let question = ClusterQueryMessage.question(id: 1, from: "a", query: .object([]))
        #expect(ClusterPayloadKind(question) == .query)
        #expect(ClusterPayloadKind(ByteBuffer(string: "x")) == nil)
        #expect(ClusterPayloadKind(ByteBuffer()) == nil)
    }

    @Test("editing outranks viewing, whichever comes first; a join asks for viewing unless it says editing")
    func presenceModes() {
        #expect(PresenceMode.viewing.combined(with: .editing) == .editing)
        #expect(PresenceMode.editing.combined(with: .viewing) == .editing)
        #expect(PresenceMode.viewing.combined(with: nil) == .viewing)
        #expect(PresenceMode(requested: "editing") == .editing)
        for other in [nil, "EDITING", "viewing", "admin"] { #expect(PresenceMode(requested: other) == .viewing) }
    }

    @Test("a recovery session and its lease share a hash tag; names carry the prefix")
    func keys() {
        let keys = RedisKeys(prefix: "p")
        func tag(_ key: String) -> Substring? {
            guard let open = key.firstIndex(of: "{"), let close = key[open...].firstIndex(of: "}") else { return nil }
            return key[key.index(after: open)..<close]
        }
        #expect(tag(keys.recoverySession(pid: "x")) == "x" && tag(keys.recoveryLease(pid: "x")) == "x")
        #expect(keys.recoverySession(pid: "x") != keys.recoveryLease(pid: "x"))
        #expect(keys.broadcastChannel(namespace: "/t", room: "r") == "p:{/t|r}")
        #expect(keys.broadcastChannel(namespace: "/t", room: nil) == "p:{/t}")
        #expect(keys.instanceChannel("i") == "p:instance:{i}" && keys.queryChannel == "p:cluster")
    }

    @Test("a recovery session reads back what it wrote; anything else is no session")
    func sessionJSON() {
        let session = ClusterRecovery.Session(socketID: "s", namespace: "/tenders", user: "ann", rooms: ["a", "b"])
        #expect(ClusterRecovery.Session(json: session.json) == session)
        for text in ["", "[]", #"{"sid":"s"}"#] { #expect(ClusterRecovery.Session(json: text) == nil) }
    }
}
