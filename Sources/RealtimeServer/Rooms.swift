import EngineIO
import JSON
import SocketIO

/// What a broadcast accepted on this instance is shown to besides its room: its packet and room (nil: the
/// whole namespace). Called on the accepting instance only, in broadcast order; it must not wait.
typealias BroadcastJournal = @Sendable (_ packet: SocketPacket, _ room: String?) -> Void

/// Which sockets are in which rooms, and broadcasting to them. A broadcast is encoded once; every member's
/// session gets the same packets (Strings and arrays share their storage).
/// With a cluster adapter, broadcasts also go to the other instances, and what they broadcast is delivered here.
actor Rooms {
    private let metrics: ServerMetrics
    private let cluster: ClusterAdapter?
    /// Stamps mirrored events with their global id and queues them for the fallback database.
    private let fallback: FallbackMirror?
    /// Told of every broadcast accepted here that is not volatile, once, stamped (TenderFlow's activity feed).
    private let journal: BroadcastJournal?

    init(
        metrics: ServerMetrics, cluster: ClusterAdapter? = nil, fallback: FallbackMirror? = nil,
        journal: BroadcastJournal? = nil
    ) {
        self.metrics = metrics
        self.cluster = cluster
        self.fallback = fallback
        self.journal = journal
    }

    /// Forgets an empty room, and stops listening for it on other instances.
    private func dropIfEmpty(_ key: RoomKey) {
        guard rooms[key]?.isEmpty == true else { return }
        rooms[key] = nil
        metrics.namespace(key.namespace)?.rooms.decrement(by: 1.0)
        cluster.map { $0.unsubscribe($0.channel(namespace: key.namespace, room: key.room)) }
    }

    /// A socket in a room: broadcasts go straight to its Engine.IO session.
    struct Member: Sendable {
        let socketID: String
        let session: EngineSession
    }

    /// Members by room key (`namespace` + room name).
    private var rooms: [RoomKey: [String: Member]] = [:]
    /// Rooms by socket id, to leave them all on disconnect.
    private var memberships: [String: Set<RoomKey>] = [:]
    /// Every connected socket by namespace, for namespace-wide broadcasts.
    private var namespaces: [String: [String: Member]] = [:]
    /// The sockets of each user.
    private var users: [String: Set<SocketKey>] = [:]

    struct SocketKey: Hashable, Sendable {
        let namespace: String
        let id: String
    }

    struct RoomKey: Hashable, Sendable {
        let namespace: String
        let room: String
    }

    func connected(_ socket: Socket) {
        namespaces[socket.namespace, default: [:]][socket.id] = Member(
            socketID: socket.id, session: socket.connection.session)
        users[socket.identity.user, default: []].insert(SocketKey(namespace: socket.namespace, id: socket.id))
        sessionChanged(socket)
    }

    /// Forgets a socket everywhere; returns the rooms it was in.
    @discardableResult
    func disconnected(_ socket: Socket) -> [String] {
        namespaces[socket.namespace]?[socket.id] = nil
        users[socket.identity.user]?.remove(SocketKey(namespace: socket.namespace, id: socket.id))
        if users[socket.identity.user]?.isEmpty == true { users[socket.identity.user] = nil }
        let keys = memberships.removeValue(forKey: socket.id) ?? []
        for key in keys {
            rooms[key]?[socket.id] = nil
            dropIfEmpty(key)
        }
        return keys.map(\.room).sorted()
    }

    /// Joins a room; returns false when the socket is already in `limit` rooms. With a cluster, returns once
    /// this instance receives the room's broadcasts from the others.
    func join(_ socket: Socket, _ room: String, limit: Int) async -> Bool {
        let key = RoomKey(namespace: socket.namespace, room: room)
        var joined = memberships[socket.id, default: []]
        if !joined.contains(key) {
            guard joined.count < limit else { return false }
            joined.insert(key)
        }
        memberships[socket.id] = joined
        let created = rooms[key] == nil
        rooms[key, default: [:]][socket.id] = Member(socketID: socket.id, session: socket.connection.session)
        if created {
            metrics.namespace(key.namespace)?.rooms.increment(by: 1.0)
            fallback?.watch(namespace: key.namespace, room: room)
        }
        if let cluster {
            let channel = cluster.channel(namespace: key.namespace, room: room)
            if created { cluster.want(channel) }
            sessionChanged(socket)
            await cluster.waitUntilSubscribed(channel)
        }
        return true
    }

    func leave(_ socket: Socket, _ room: String) {
        let key = RoomKey(namespace: socket.namespace, room: room)
        memberships[socket.id]?.remove(key)
        rooms[key]?[socket.id] = nil
        dropIfEmpty(key)
        sessionChanged(socket)
    }

    /// Keeps the socket's recovery session in step with its rooms.
    private func sessionChanged(_ socket: Socket) {
        guard let cluster, let pid = socket.pid, recovering[socket.id] == nil,
            namespaces[socket.namespace]?[socket.id] != nil
        else { return }
        cluster.track(
            pid: pid,
            ClusterRecovery.Session(
                socketID: socket.id, namespace: socket.namespace, user: socket.identity.user, rooms: rooms(of: socket)))
    }

    func isMember(_ socket: Socket, of room: String) -> Bool {
        memberships[socket.id]?.contains(RoomKey(namespace: socket.namespace, room: room)) ?? false
    }

    func memberCount(namespace: String, room: String) -> Int {
        rooms[RoomKey(namespace: namespace, room: room)]?.count ?? 0
    }

    /// Sends `packet` to every socket of a room (or of the namespace when `room` is nil), except `exceptSocketID`,
    /// on this instance and, with a cluster, on every other. Volatile packets are dropped for clients that are
    /// behind instead of queued. Returns the recipients on this instance.
    @discardableResult
    func broadcast(_ packet: SocketPacket, room: String?, except exceptSocketID: String? = nil, volatile: Bool = false)
        async -> Int
    {
        // Stamped here, on the instance that accepts the broadcast: the one writer of its fallback copy, and the
        // one id every instance and region delivers. Volatile events are not kept anywhere.
        let packet = volatile ? packet : (fallback?.stamp(packet, room: room) ?? packet)
        if !volatile { journal?(packet, room) }
        let (text, attachments) = SocketCodec.encode(packet)
        let packets = [EnginePacket.message(text)] + attachments.map(EnginePacket.binary)
        // Published before any suspension point: the order of broadcasts is the order of publishes.
        if let cluster {
            let message = ClusterMessage(
                origin: cluster.instanceID, namespace: packet.namespace, room: room, except: exceptSocketID,
                volatile: volatile, packets: packets)
            if cluster.publish(message) == .echoed {
                // Delivered here when Redis sends it back with its offset.
                return members(namespace: packet.namespace, room: room).keys.count { $0 != exceptSocketID }
            }
        }
        return await deliver(
            PreparedPackets(packets, shared: true), offset: nil, namespace: packet.namespace, room: room,
            except: exceptSocketID, volatile: volatile)
    }

    /// The sockets here that a broadcast to `room` (nil: the whole namespace) reaches.
    private func members(namespace: String, room: String?) -> [String: Member] {
        guard let room else { return namespaces[namespace] ?? [:] }
        return rooms[RoomKey(namespace: namespace, room: room)] ?? [:]
    }

    /// A broadcast that came through Redis, for the sockets here; recoverable ones carry their offset.
    func deliver(_ message: ClusterMessage) async {
        if let offset = message.offset {
            // Redis's clock and this instance's may differ by a little: a negative latency is counted as none.
            let now = EventIDs.wallClockMilliseconds()
            metrics.deliveryLatency.recordNanoseconds(
                Int64(now > offset.milliseconds ? now - offset.milliseconds : 0) * 1_000_000)
        }
        await deliver(
            PreparedPackets(message.packetsWithOffset(), shared: true), offset: message.offset,
            namespace: message.namespace, room: message.room, except: message.except, volatile: message.volatile)
    }

    @discardableResult
    private func deliver(
        _ prepared: PreparedPackets, offset: StreamOffset?, namespace: String, room: String?,
        except exceptSocketID: String?, volatile: Bool
    ) async -> Int {
        let members = members(namespace: namespace, room: room)
        guard !members.isEmpty else { return 0 }
        var sockets: [FrameSink] = []
        var polling: [EngineSession] = []
        sockets.reserveCapacity(members.count)
        for (socketID, member) in members where socketID != exceptSocketID {
            if !recovering.isEmpty, recovering[socketID] != nil {
                // Held until the replay of what it missed is out, to keep the order.
                if !volatile { recovering[socketID]!.append((offset, prepared)) }
                continue
            }
            if let sink = member.session.directWriter { sockets.append(sink) } else { polling.append(member.session) }
        }
        // The WebSocket frames are handed to the event loops before anything here waits, so a later broadcast
        // cannot overtake them.
        if !sockets.isEmpty { FrameSink.broadcast(prepared.frames, to: sockets, volatile: volatile) }
        for session in polling { await session.send(prepared, volatile: volatile) }
        let delivered = sockets.count + polling.count
        metrics.broadcastFanOut.record(delivered)
        metrics.namespace(namespace)?.eventsSent.increment(by: Int64(delivered))
        return delivered
    }

    // MARK: Recovery

    /// Sockets being recovered, with the broadcasts that came for them meanwhile.
    private var recovering: [String: [(offset: StreamOffset?, prepared: PreparedPackets)]] = [:]

    /// Puts a recovered socket back in its rooms, holding what is broadcast to it until `endRecovery`.
    func beginRecovery(_ socket: Socket, rooms: [String]) async {
        recovering[socket.id] = []
        for room in rooms { _ = await join(socket, room, limit: .max) }
    }

    /// Sends the socket what it missed (`replay`, in stream order, filtered to its rooms), then what was
    /// broadcast to it during the recovery and is not in the replay; from then on it gets broadcasts as usual.
    func endRecovery(_ socket: Socket, replay: [ClusterMessage]) async {
        let session = socket.connection.session
        let joined = memberships[socket.id] ?? []
        var last: StreamOffset?
        for message in replay where message.except != socket.id {
            if let room = message.room, !joined.contains(RoomKey(namespace: socket.namespace, room: room)) { continue }
            await session.deliver(PreparedPackets(message.packetsWithOffset()), volatile: false)
            last = message.offset
        }
        // What arrives while these are sent joins the end of the queue, so the gate stays until it is empty.
        while let (offset, prepared) = recovering[socket.id]?.first {
            recovering[socket.id]!.removeFirst()
            if let offset, let last, offset <= last { continue }  // already in the replay
            await session.deliver(prepared, volatile: false)
        }
        recovering[socket.id] = nil
        sessionChanged(socket)
    }

    /// A user's sockets here: id, namespace and rooms of each, sorted by namespace and id.
    func sockets(ofUser user: String) -> [JSONValue] {
        (users[user] ?? []).sorted { ($0.namespace, $0.id) < ($1.namespace, $1.id) }.map { key in
            let rooms = self.memberships[key.id, default: []].map(\.room).sorted()
            return .object([
                ("sid", .string(key.id)), ("namespace", .string(key.namespace)),
                ("rooms", .array(rooms.map(JSONValue.string))),
            ])
        }
    }

    /// Closes the connection that carries a socket here, if it is here.
    func close(namespace: String, socketID: String, reason: CloseReason) async {
        await namespaces[namespace]?[socketID]?.session.close(reason: reason)
    }

    /// Closes the connections that carry a user's sockets; returns how many sockets the user had here.
    func disconnect(user: String) async -> Int {
        let keys = users[user] ?? []
        var sessions: [String: EngineSession] = [:]
        for key in keys {
            if let member = namespaces[key.namespace]?[key.id] { sessions[member.session.id] = member.session }
        }
        for session in sessions.values { await session.close(reason: .serverDisconnect) }
        return keys.count
    }

    /// Sockets connected here.
    var socketCount: Int { namespaces.values.reduce(0) { $0 + $1.count } }

    /// The rooms a socket is in, sorted.
    func rooms(of socket: Socket) -> [String] {
        (memberships[socket.id] ?? []).map(\.room).sorted()
    }

    /// Gives up a recovery: the socket leaves the rooms it was put back in.
    func abandonRecovery(_ socket: Socket) {
        recovering[socket.id] = nil
        disconnected(socket)
    }
}
