import EngineIO
import SocketIO

/// Which sockets are in which rooms, and broadcasting to them. A broadcast is encoded once; every member's
/// session gets the same packets (Strings and arrays share their storage).
actor Rooms {
    private let metrics: ServerMetrics

    init(metrics: ServerMetrics) { self.metrics = metrics }

    /// Forgets an empty room.
    private func dropIfEmpty(_ key: RoomKey) {
        guard rooms[key]?.isEmpty == true else { return }
        rooms[key] = nil
        metrics.namespace(key.namespace)?.rooms.decrement(by: 1.0)
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

    struct RoomKey: Hashable, Sendable {
        let namespace: String
        let room: String
    }

    func connected(_ socket: Socket) {
        namespaces[socket.namespace, default: [:]][socket.id] = Member(
            socketID: socket.id, session: socket.connection.session)
    }

    /// Forgets a socket everywhere; returns the rooms it was in.
    @discardableResult
    func disconnected(_ socket: Socket) -> [String] {
        namespaces[socket.namespace]?[socket.id] = nil
        let keys = memberships.removeValue(forKey: socket.id) ?? []
        for key in keys {
            rooms[key]?[socket.id] = nil
            dropIfEmpty(key)
        }
        return keys.map(\.room).sorted()
    }

    /// Joins a room; returns false when the socket is already in `limit` rooms.
    func join(_ socket: Socket, _ room: String, limit: Int) -> Bool {
        let key = RoomKey(namespace: socket.namespace, room: room)
        var joined = memberships[socket.id, default: []]
        if !joined.contains(key) {
            guard joined.count < limit else { return false }
            joined.insert(key)
        }
        memberships[socket.id] = joined
        if rooms[key] == nil { metrics.namespace(key.namespace)?.rooms.increment(by: 1.0) }
        rooms[key, default: [:]][socket.id] = Member(socketID: socket.id, session: socket.connection.session)
        return true
    }

    func leave(_ socket: Socket, _ room: String) {
        let key = RoomKey(namespace: socket.namespace, room: room)
        memberships[socket.id]?.remove(key)
        rooms[key]?[socket.id] = nil
        dropIfEmpty(key)
    }

    func isMember(_ socket: Socket, of room: String) -> Bool {
        memberships[socket.id]?.contains(RoomKey(namespace: socket.namespace, room: room)) ?? false
    }

    func memberCount(namespace: String, room: String) -> Int {
        rooms[RoomKey(namespace: namespace, room: room)]?.count ?? 0
    }

    /// Sends `packet` to every socket of a room (or of the namespace when `room` is nil), except `exceptSocketID`.
    /// Volatile packets are dropped for clients that are behind instead of queued. Returns the recipients.
    @discardableResult
    func broadcast(_ packet: SocketPacket, room: String?, except exceptSocketID: String? = nil, volatile: Bool = false)
        async -> Int
    {
        let members: [String: Member]? =
            room.map { rooms[RoomKey(namespace: packet.namespace, room: $0)] } ?? namespaces[packet.namespace]
        guard let members, !members.isEmpty else { return 0 }
        let (text, attachments) = SocketCodec.encode(packet)
        let prepared = PreparedPackets(
            [EnginePacket.message(text)] + attachments.map(EnginePacket.binary), shared: true)
        var delivered = 0
        for (socketID, member) in members where socketID != exceptSocketID {
            await member.session.deliver(prepared, volatile: volatile)
            delivered += 1
        }
        metrics.broadcastFanOut.record(delivered)
        metrics.namespace(packet.namespace)?.eventsSent.increment(by: Int64(delivered))
        return delivered
    }
}
