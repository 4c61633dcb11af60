import EngineIO
import SocketIO

/// Which sockets are in which rooms, and broadcasting to them. A broadcast is encoded once; every member's
/// session gets the same packets (Strings and arrays share their storage).
/// With a cluster adapter, broadcasts also go to the other instances, and what they broadcast is delivered here.
actor Rooms {
    private let metrics: ServerMetrics
    private let cluster: ClusterAdapter?

    init(metrics: ServerMetrics, cluster: ClusterAdapter? = nil) {
        self.metrics = metrics
        self.cluster = cluster
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
        if created { metrics.namespace(key.namespace)?.rooms.increment(by: 1.0) }
        if let cluster {
            let channel = cluster.channel(namespace: key.namespace, room: room)
            if created { cluster.want(channel) }
            await cluster.waitUntilSubscribed(channel)
        }
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

    /// Sends `packet` to every socket of a room (or of the namespace when `room` is nil), except `exceptSocketID`,
    /// on this instance and, with a cluster, on every other. Volatile packets are dropped for clients that are
    /// behind instead of queued. Returns the recipients on this instance.
    @discardableResult
    func broadcast(_ packet: SocketPacket, room: String?, except exceptSocketID: String? = nil, volatile: Bool = false)
        async -> Int
    {
        let (text, attachments) = SocketCodec.encode(packet)
        let packets = [EnginePacket.message(text)] + attachments.map(EnginePacket.binary)
        // Published before any suspension point: the order of broadcasts is the order of publishes.
        cluster?.publish(
            ClusterMessage(
                origin: cluster!.instanceID, namespace: packet.namespace, room: room, volatile: volatile,
                packets: packets))
        return await deliver(
            packets, namespace: packet.namespace, room: room, except: exceptSocketID, volatile: volatile)
    }

    /// A broadcast from another instance, for the sockets here.
    func deliver(_ message: ClusterMessage) async {
        await deliver(
            message.packets, namespace: message.namespace, room: message.room, except: nil, volatile: message.volatile)
    }

    @discardableResult
    private func deliver(
        _ packets: [EnginePacket], namespace: String, room: String?, except exceptSocketID: String?, volatile: Bool
    ) async -> Int {
        let members: [String: Member]? =
            room.map { rooms[RoomKey(namespace: namespace, room: $0)] } ?? namespaces[namespace]
        guard let members, !members.isEmpty else { return 0 }
        let prepared = PreparedPackets(packets, shared: true)
        var delivered = 0
        for (socketID, member) in members where socketID != exceptSocketID {
            await member.session.deliver(prepared, volatile: volatile)
            delivered += 1
        }
        metrics.broadcastFanOut.record(delivered)
        metrics.namespace(namespace)?.eventsSent.increment(by: Int64(delivered))
        return delivered
    }
}
