import JSON
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
///
/// A session is recovered once, by one connection: while its socket is connected, a lease key names the Redis
/// channel of the instance that holds it, and the claim (one script, so atomic across instances) refuses a
/// session whose lease names an instance still subscribed to its channel. An instance killed without a word
/// is subscribed to nothing, so its sockets' sessions stay claimable.
struct ClusterRecovery: Sendable {
    let client: RedisClient
    let keys: RedisKeys
    let window: Duration
    /// Stream entries kept per namespace.
    let maxEvents: Int

    /// What a socket that dropped leaves behind.
    struct Session: Sendable, Equatable {
        var socketID: String
        var namespace: String
        var user: String
        var rooms: [String]

        init(socketID: String, namespace: String, user: String, rooms: [String]) {
            self.socketID = socketID
            self.namespace = namespace
            self.user = user
            self.rooms = rooms
        }

        /// A session as `json` wrote it; nil for anything else.
        init?(json: String) {
            guard let value = JSONValue.parse(Substring(json)), let socketID = value["sid"]?.stringValue,
                let namespace = value["namespace"]?.stringValue, let user = value["user"]?.stringValue,
                let rooms = value["rooms"]?.arrayValue
            else { return nil }
            self.init(socketID: socketID, namespace: namespace, user: user, rooms: rooms.compactMap(\.stringValue))
        }

        /// As kept in Redis (the claim script reads `user` and `namespace`).
        var json: String {
            JSONValue.object([
                ("sid", .string(socketID)), ("namespace", .string(namespace)), ("user", .string(user)),
                ("rooms", .array(rooms.map(JSONValue.string))),
            ]).serialized()
        }
    }

    func streamKey(_ namespace: String) -> String { keys.recoveryStream(namespace: namespace) }

    private func sessionKey(_ pid: String) -> String { keys.recoverySession(pid: pid) }

    /// Present while the socket is connected; its value is the holding instance's channel. Same hash slot as the
    /// session key, so the claim script may touch both on a Redis Cluster too.
    func leaseKey(_ pid: String) -> String { keys.recoveryLease(pid: pid) }

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
    //
    // Every write of a session goes through a script that checks the lease first: an instance writes only a
    // session it holds (or that nobody holds), so one that lost a socket's lease (its subscriber was away while
    // another instance claimed the socket) cannot take the session back, and its later release deletes nothing
    // of the new holder's. Scripts on one connection run in the order they were sent.

    /// Writes a connected socket's session, to live `window` plus `margin` (the time until its next refresh), and
    /// its lease, to live `leaseLifetime`: a socket whose instance dies is recoverable for at least the window,
    /// and a lease nobody refreshes (a release that never reached Redis) is gone within seconds.
    private static let holdScript = """
        local holder = redis.call('GET', KEYS[2])
        if holder and holder ~= ARGV[3] then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
        return 1
        """

    /// The socket dropped: its session stays for the window, free to claim.
    private static let releaseScript = """
        local holder = redis.call('GET', KEYS[2])
        if holder and holder ~= ARGV[3] then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        redis.call('DEL', KEYS[2])
        return 1
        """

    /// The socket left for good: nothing to recover.
    private static let deleteScript = """
        local holder = redis.call('GET', KEYS[2])
        if holder and holder ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1], KEYS[2])
        return 1
        """

    /// How long a lease lives without a refresh: three heartbeats.
    static func leaseLifetime(heartbeat: Duration) -> Duration { heartbeat * 3 }

    /// Writes the session of a socket connected here (`holder`: this instance's channel).
    func holdCommand(_ session: Session, pid: String, holder: String, heartbeat: Duration) -> RESPCommand {
        script(
            Self.holdScript, pid: pid, session.json, milliseconds(window + heartbeat), holder,
            milliseconds(Self.leaseLifetime(heartbeat: heartbeat)))
    }

    func releaseCommand(_ session: Session, pid: String, holder: String) -> RESPCommand {
        script(Self.releaseScript, pid: pid, session.json, milliseconds(window), holder)
    }

    func deleteCommand(pid: String, holder: String) -> RESPCommand { script(Self.deleteScript, pid: pid, holder) }

    private func script(_ source: String, pid: String, _ arguments: String...) -> RESPCommand {
        RESPCommand(
            ["EVAL", RESPArgument(source), 2, RESPArgument(sessionKey(pid)), RESPArgument(leaseKey(pid))]
                + arguments.map { RESPArgument($0) })
    }

    private func milliseconds(_ duration: Duration) -> String { String(Int(duration / .milliseconds(1))) }

    /// Takes the session when it belongs to `user` and `namespace` and its lease names no live instance (the
    /// socket is connected nowhere), and leases it to the claimer in the same step: a second claim that comes
    /// before the claimer has the socket back is refused too. A claim by another user, or for another
    /// namespace, leaves the session to its owner. One script: no other claim comes between. ("Live" is what
    /// Redis sees: an instance subscribed to its channel. On a Redis Cluster `PUBSUB NUMSUB` counts one node's
    /// subscribers only, so this needs a single-node or primary/replica Redis, as Memorystore's tiers are.)
    private static let claimScript = """
        local holder = redis.call('GET', KEYS[2])
        if holder and redis.call('PUBSUB', 'NUMSUB', holder)[2] > 0 then return false end
        local session = redis.call('GET', KEYS[1])
        if not session then return false end
        local decoded = cjson.decode(session)
        if decoded.user ~= ARGV[3] or decoded.namespace ~= ARGV[4] then return false end
        redis.call('DEL', KEYS[1])
        redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
        return session
        """

    /// The session `user` left under `pid` in `namespace`, taken (and leased to `holder`, the claiming instance's
    /// channel) so that it is recovered once; nil when there is none, it is another user's or namespace's, or
    /// its socket is still connected.
    func take(pid: String, user: String, namespace: String, holder: String, heartbeat: Duration) async throws
        -> Session?
    {
        let reply = try await client.send(
            script(
                Self.claimScript, pid: pid, holder, milliseconds(Self.leaseLifetime(heartbeat: heartbeat)), user,
                namespace))
        return reply.string.flatMap(Session.init(json:))
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
