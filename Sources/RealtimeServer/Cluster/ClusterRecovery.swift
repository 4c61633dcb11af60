import NIOCore
import Redis
import SocketIO

/// Connection state recovery through Redis, so it survives the instance: every recoverable broadcast is
/// appended to its namespace's stream (bounded in length, expiring after the window) and published in the same
/// script, so the stream's order is the order every instance delivers in. Every socket's session (id, user,
/// rooms) is kept in Redis under its private id while it is connected, refreshed every heartbeat, and for the
/// window after it drops, even when its instance dies with it; when the client comes back (to
/// any instance) with that id and the offset of the last event it got, the missed events of its rooms are
/// replayed in order, or, when the session or the offset is gone, nothing is, and the client learns it was not
/// recovered. Never a partial replay.
struct ClusterRecovery: Sendable {
    let client: RedisClient
    let prefix: String
    let window: Duration
    /// Stream entries kept per namespace.
    let maxEvents: Int

    /// What a socket that dropped leaves behind.
    struct Session: Sendable, Equatable {
        var socketID: String
        var namespace: String
        var user: String
        var rooms: [String]
    }

    func streamKey(_ namespace: String) -> String { "\(prefix):stream:{\(namespace)}" }

    private func sessionKey(_ pid: String) -> String { "\(prefix):session:{\(pid)}" }

    /// XADD and PUBLISH in one step: no other publish can come between, on any instance.
    private static let publishScript = """
        local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        redis.call('PUBLISH', ARGV[4], '@' .. id .. '\\n' .. ARGV[3])
        return id
        """

    /// `envelope`: the message, encoded (`ClusterMessage.encoded()`).
    func publishCommand(envelope: ByteBuffer, namespace: String, channel: String) -> RESPCommand {
        RESPCommand(
            "EVAL", RESPArgument(Self.publishScript), 1, RESPArgument(streamKey(namespace)), RESPArgument(maxEvents),
            RESPArgument(Int(window / .milliseconds(1))), RESPArgument(envelope), RESPArgument(channel))
    }

    /// `@<id>\n<envelope>` → the message with its offset; nil for a plain envelope.
    static func recoverable(_ payload: ByteBuffer) throws -> ClusterMessage? {
        guard payload.getInteger(at: payload.readerIndex, as: UInt8.self) == UInt8(ascii: "@") else { return nil }
        let view = payload.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")),
            let offset = StreamOffset(String(decoding: view[(view.startIndex + 1)..<newline], as: UTF8.self))
        else { throw ClusterMessage.Malformed() }
        var message = try ClusterMessage(
            decoding: payload.getSlice(at: newline + 1, length: view.endIndex - newline - 1)!)
        message.offset = offset
        return message
    }

    // MARK: Sessions

    /// Writes a socket's session, to live `window` plus `margin` (the time until its next refresh): a socket
    /// whose instance dies is recoverable for at least the window after that.
    func saveCommand(_ session: Session, pid: String, margin: Duration) -> RESPCommand {
        let value = JSONValue.object([
            ("sid", .string(session.socketID)), ("namespace", .string(session.namespace)),
            ("user", .string(session.user)), ("rooms", .array(session.rooms.map(JSONValue.string))),
        ])
        let lifetime = Int((window + margin) / .milliseconds(1))
        return RESPCommand(
            "SET", RESPArgument(sessionKey(pid)), RESPArgument(value.serialized()), "PX", RESPArgument(lifetime))
    }

    func deleteCommand(pid: String) -> RESPCommand { RESPCommand("DEL", RESPArgument(sessionKey(pid))) }

    /// The session left under `pid`, removed so that it is recovered once.
    func take(pid: String) async throws -> Session? {
        let reply = try await client.send(RESPCommand("GETDEL", RESPArgument(sessionKey(pid))))
        guard let text = reply.string, let value = JSONValue.parse(Substring(text)),
            let socketID = value["sid"]?.stringValue, let namespace = value["namespace"]?.stringValue,
            let user = value["user"]?.stringValue, let rooms = value["rooms"]?.arrayValue
        else { return nil }
        return Session(socketID: socketID, namespace: namespace, user: user, rooms: rooms.compactMap(\.stringValue))
    }

    // MARK: Replay

    /// Whether the stream still holds the event at `offset` (else what came after it may be trimmed away).
    func holds(_ offset: StreamOffset, namespace: String) async throws -> Bool {
        let reply = try await client.send(
            RESPCommand(
                "XRANGE", RESPArgument(streamKey(namespace)), RESPArgument(offset.description),
                RESPArgument(offset.description)))
        return reply.elements?.isEmpty == false
    }

    /// The events after `offset`, in order; nil when there are more than the stream keeps (then the replay
    /// would be partial).
    func events(after offset: StreamOffset, namespace: String) async throws -> [ClusterMessage]? {
        var messages: [ClusterMessage] = []
        var start = "(" + offset.description
        while true {
            let reply = try await client.send(
                RESPCommand("XRANGE", RESPArgument(streamKey(namespace)), RESPArgument(start), "+", "COUNT", 512))
            let entries = reply.elements ?? []
            for entry in entries {
                guard let fields = entry.elements, fields.count == 2,
                    let id = fields[0].string.flatMap(StreamOffset.init),
                    let pairs = fields[1].elements ?? fields[1].mapPairs, pairs.count >= 2,
                    let payload = pairs[1].bytes,
                    var message = try? ClusterMessage(decoding: payload)
                else { continue }
                message.offset = id
                messages.append(message)
                start = "(\(id)"
            }
            if entries.count < 512 { return messages }
            if messages.count > maxEvents { return nil }
        }
    }
}

extension RESPValue {
    /// A RESP3 map as the flat list RESP2 would give.
    fileprivate var mapPairs: [RESPValue]? {
        guard case .map(let pairs) = self else { return nil }
        return pairs.flatMap { [$0.0, $0.1] }
    }
}
