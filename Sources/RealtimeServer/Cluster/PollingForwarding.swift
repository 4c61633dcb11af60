import NIOCore
import Redis
import Synchronization

/// A long-polling request for a session another instance owns, and its answer, as they travel through that
/// instance's Redis channel. Cloud Run's session affinity is best effort: without this, a poll that lands on
/// the wrong instance gets "Session ID unknown" and the client starts over.
///
/// Wire format (integers big-endian; `str` is `u16 length` + UTF-8, `bytes` is `u32 length` + bytes):
/// request `"Q", u64 id, str reply-to instance, u8 method (0 GET, 1 POST, 2 release), str sid, bytes body`;
/// answer `"R", u64 id, u16 status, str content type, bytes body`.
enum ForwardedPolling: Sendable, Equatable {
    case request(id: UInt64, replyTo: String, method: Method, sid: String, body: ByteBuffer)
    case answer(id: UInt64, reply: PollingReply)

    enum Method: UInt8, Sendable {
        case get = 0
        case post = 1
        /// Not a client's request: the instance that forwarded a GET for `sid` gives it up (it is draining), so
        /// the owner answers its held GET with a noop now, and what comes next waits for the client's next GET
        /// instead of going to an instance that is gone. Nobody waits for an answer.
        case release = 2
    }

    static func isForwarded(_ payload: ByteBuffer) -> Bool { ClusterPayloadKind(payload) == .forwardedPolling }

    /// Throws when a field does not fit its length prefix (a session id over 65 535 bytes, say): refused, never
    /// truncated.
    func encoded() throws(Unencodable) -> ByteBuffer {
        var buffer = ByteBuffer()
        func string(_ text: String) throws(Unencodable) { try buffer.writeShortString(text) }
        func bytes(_ bytes: ByteBuffer) throws(Unencodable) {
            guard let length = UInt32(exactly: bytes.readableBytes) else { throw Unencodable(field: "body") }
            buffer.writeInteger(length)
            buffer.writeImmutableBuffer(bytes)
        }
        switch self {
        case .request(let id, let replyTo, let method, let sid, let body):
            buffer.writeInteger(UInt8(ascii: "Q"))
            buffer.writeInteger(id)
            try string(replyTo)
            buffer.writeInteger(method.rawValue)
            try string(sid)
            try bytes(body)
        case .answer(let id, let reply):
            buffer.writeInteger(UInt8(ascii: "R"))
            buffer.writeInteger(id)
            buffer.writeInteger(UInt16(reply.status))
            try string(reply.contentType)
            try bytes(reply.body)
        }
        return buffer
    }

    init(decoding payload: ByteBuffer) throws {
        var buffer = payload
        func string() throws -> String {
            guard let length = buffer.readInteger(as: UInt16.self), let text = buffer.readString(length: Int(length))
            else { throw ClusterMessage.Malformed() }
            return text
        }
        func bytes() throws -> ByteBuffer {
            guard let length = buffer.readInteger(as: UInt32.self), let slice = buffer.readSlice(length: Int(length))
            else { throw ClusterMessage.Malformed() }
            return slice
        }
        guard let kind = buffer.readInteger(as: UInt8.self), let id = buffer.readInteger(as: UInt64.self) else {
            throw ClusterMessage.Malformed()
        }
        switch kind {
        case UInt8(ascii: "Q"):
            let replyTo = try string()
            guard let method = buffer.readInteger(as: UInt8.self).flatMap(Method.init) else {
                throw ClusterMessage.Malformed()
            }
            self = .request(id: id, replyTo: replyTo, method: method, sid: try string(), body: try bytes())
        case UInt8(ascii: "R"):
            guard let status = buffer.readInteger(as: UInt16.self) else { throw ClusterMessage.Malformed() }
            self = .answer(
                id: id, reply: PollingReply(status: Int(status), contentType: try string(), body: try bytes()))
        default:
            throw ClusterMessage.Malformed()
        }
        guard buffer.readableBytes == 0 else { throw ClusterMessage.Malformed() }
    }
}

/// What a polling request gets back, whichever instance answered it.
struct PollingReply: Sendable, Equatable {
    var status: Int
    var contentType: String
    var body: ByteBuffer
}

/// The requests this instance forwarded and is waiting on, each with the task that gives up on it.
final class PendingForwards: Sendable {
    private struct Waiting {
        let method: ForwardedPolling.Method
        let sid: String
        /// The Redis channel of the instance the request went to.
        let owner: String
        let continuation: CheckedContinuation<PollingReply?, Never>
        var timer: Task<Void, Never>?
    }

    private let state = Mutex<(next: UInt64, waiting: [UInt64: Waiting])>((0, [:]))

    func register(
        _ method: ForwardedPolling.Method, sid: String, owner: String,
        _ continuation: CheckedContinuation<PollingReply?, Never>
    ) -> UInt64 {
        state.withLock { state in
            state.next += 1
            state.waiting[state.next] = Waiting(method: method, sid: sid, owner: owner, continuation: continuation)
            return state.next
        }
    }

    /// The task that publishes the request and gives up at its timeout: cancelled as soon as the answer comes.
    func attach(_ timer: Task<Void, Never>, to id: UInt64) {
        let attached = state.withLock { state in
            guard state.waiting[id] != nil else { return false }
            state.waiting[id]!.timer = timer
            return true
        }
        if !attached { timer.cancel() }
    }

    /// Resumes the request `id` with `reply` (nil: give up); false when it was no longer waiting.
    @discardableResult
    func resolve(_ id: UInt64, with reply: PollingReply?) -> Bool {
        guard let waiting = state.withLock({ $0.waiting.removeValue(forKey: id) }) else { return false }
        Self.resume([waiting], with: reply)
        return true
    }

    /// The GETs still waiting: their sessions and owners' channels.
    var waitingGets: [(sid: String, owner: String)] {
        state.withLock { state in state.waiting.values.filter { $0.method == .get }.map { ($0.sid, $0.owner) } }
    }

    /// Answers every waiting GET with `reply` at once (a POST is answered by its owner without waiting).
    func answerGets(with reply: PollingReply) {
        let gets = state.withLock { state in
            let gets = state.waiting.filter { $0.value.method == .get }
            for id in gets.keys { state.waiting.removeValue(forKey: id) }
            return Array(gets.values)
        }
        Self.resume(gets, with: reply)
    }

    func cancelAll() {
        let waiting = state.withLock { state in
            defer { state.waiting.removeAll() }
            return Array(state.waiting.values)
        }
        Self.resume(waiting, with: nil)
    }

    /// Resumes requests already taken out of `waiting`, and stops their timers.
    private static func resume(_ entries: [Waiting], with reply: PollingReply?) {
        for entry in entries {
            entry.timer?.cancel()
            entry.continuation.resume(returning: reply)
        }
    }
}
