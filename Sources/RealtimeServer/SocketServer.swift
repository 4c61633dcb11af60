import EngineIO
import JSON
import SocketIO

/// A connected Socket.IO socket: one namespace of one Engine.IO connection.
public struct Socket: Sendable {
    /// The Socket.IO id, distinct from the Engine.IO session id (protocol v5).
    public let id: String
    /// The private id a client presents to recover this socket after a disconnection; nil without recovery.
    let pid: String?
    /// This socket is one that dropped and came back with its rooms and the events it missed.
    public let recovered: Bool
    public let namespace: String
    /// The CONNECT packet's payload (`{}` when none).
    public let auth: JSONValue
    /// Who the socket acts for.
    public let identity: Identity
    let connection: SocketConnection

    /// Sends an event to this socket.
    public func emit(_ event: String, _ arguments: [JSONValue]) async {
        connection.metrics.namespace(namespace)?.eventsSent.increment()
        await connection.send(.event(event, arguments, namespace: namespace))
    }

    /// Sends an event that asks the client for an acknowledgement, and returns the client's answer. Throws
    /// `AcknowledgementTimeout` when none arrives in time, or when the connection closes first.
    public func emitWithAck(_ event: String, _ arguments: [JSONValue], timeout: Duration) async throws -> [JSONValue] {
        try await connection.request(.event(event, arguments, namespace: namespace), timeout: timeout)
    }

    /// Joins a room of this namespace; false when the socket is already in its maximum number of rooms.
    /// Joins `room`; false when the socket is in its limit of rooms, or the name is over `NameLimits.maxBytes`.
    public func join(_ room: String) async -> Bool {
        guard NameLimits.fits(room) else { return false }
        // The rooms every socket of the namespace is in from its CONNECT on are not the client's to count.
        let automatic = connection.namespaces[namespace]?.joinOnConnect(self).count ?? 0
        return await connection.rooms.join(self, room, limit: connection.limits.maxRoomsPerSocket + automatic)
    }

    public func leave(_ room: String) async { await connection.rooms.leave(self, room) }

    public func isMember(of room: String) async -> Bool { await connection.rooms.isMember(self, of: room) }

    /// Sends an event to everyone in `room` of this namespace but this socket. Volatile events are dropped for
    /// clients that are behind.
    @discardableResult
    public func broadcast(to room: String, _ event: String, _ arguments: [JSONValue], volatile: Bool = false) async
        -> Int
    {
        await connection.rooms.broadcast(
            .event(event, arguments, namespace: namespace), room: room, except: id, volatile: volatile)
    }

    /// Sends an event to everyone in `room` of `namespace` (this socket's when nil), this socket included.
    func publish(to room: String, in namespace: String? = nil, _ event: String, _ arguments: [JSONValue]) async {
        await connection.rooms.broadcast(.event(event, arguments, namespace: namespace ?? self.namespace), room: room)
    }

    /// Closes this socket's whole connection (the client may reconnect).
    public func disconnect() async { await connection.closeConnection(reason: .serverDisconnect) }
}

/// Abuse limits of one connection and one user.
public struct SocketLimits: Sendable {
    public var maxRoomsPerSocket: Int
    /// Events a connection may send per second on average, and in one burst.
    public var eventsPerSecond: Double
    public var eventBurst: Double
    /// Events beyond the limit a connection may send before it is disconnected.
    public var excessBeforeDisconnect: Int
    /// Sockets one user may have open on one instance.
    public var maxConnectionsPerUser: Int
    /// Packets waiting for their handler before the connection counts as flooding.
    public var inboxLimit: Int = 1024

    public init(
        maxRoomsPerSocket: Int = 100, eventsPerSecond: Double = 50, eventBurst: Double = 100,
        excessBeforeDisconnect: Int = 200, maxConnectionsPerUser: Int = 20
    ) {
        self.maxRoomsPerSocket = maxRoomsPerSocket
        self.eventsPerSecond = eventsPerSecond
        self.eventBurst = eventBurst
        self.excessBeforeDisconnect = excessBeforeDisconnect
        self.maxConnectionsPerUser = maxConnectionsPerUser
    }
}

/// No acknowledgement came back in time (or the connection closed before it did).
public struct AcknowledgementTimeout: Error, Sendable {}

/// Answers an event that asked for an acknowledgement.
public struct Acknowledgement: Sendable {
    let id: Int
    let namespace: String
    let connection: SocketConnection

    public func callAsFunction(_ arguments: [JSONValue]) async {
        await connection.send(.ack(id, arguments, namespace: namespace))
    }
}

/// What a namespace does: handlers registered at start, shared by every socket (no per-socket closures).
public final class Namespace: Sendable {
    public typealias ConnectionHandler = @Sendable (Socket) async -> Void
    /// Runs after the socket left the namespace, with the rooms it was in.
    public typealias DisconnectHandler = @Sendable (Socket, [String]) async -> Void
    public typealias EventHandler = @Sendable (Socket, [JSONValue], Acknowledgement?) async -> Void

    public let name: String
    /// The rooms a new socket is in before its CONNECT is answered, so nothing sent to them after can miss it (a
    /// recovered socket gets its own rooms back instead).
    let joinOnConnect: @Sendable (Socket) -> [String]
    let onConnection: ConnectionHandler
    let onDisconnect: DisconnectHandler
    let handlers: [String: EventHandler]

    public init(
        _ name: String, joinOnConnect: @escaping @Sendable (Socket) -> [String] = { _ in [] },
        onConnection: @escaping ConnectionHandler = { _ in }, onDisconnect: @escaping DisconnectHandler = { _, _ in },
        handlers: [String: EventHandler] = [:]
    ) {
        self.name = name
        self.joinOnConnect = joinOnConnect
        self.onConnection = onConnection
        self.onDisconnect = onDisconnect
        self.handlers = handlers
    }
}

/// The namespaces a server offers, and the rooms of all its sockets.
public struct SocketServer: Sendable {
    let namespaces: [String: Namespace]
    let rooms: Rooms
    let users = UserConnections()
    let limits: SocketLimits
    let authenticator: Authenticator?
    let metrics: ServerMetrics
    let cluster: ClusterAdapter?
    /// The mirror to the fallback database; nil without one.
    let fallback: FallbackMirror?
    /// Where accepted and refused connections are logged; nil logs none.
    let audit: ConnectionAudit?
    /// Events other instances send with `serverSideEmit`, besides the built-in ones.
    let serverSideHandlers: [String: ServerSideHandler]
    /// The profile's own check of what backends publish, run before it is broadcast (TenderFlow keeps each
    /// job's last state); nil accepts every publication the publish API accepts.
    let publicationCheck: PublicationCheck?

    init(
        _ namespaces: [Namespace], limits: SocketLimits = SocketLimits(), authenticator: Authenticator? = nil,
        metrics: ServerMetrics? = nil, cluster: ClusterAdapter? = nil, fallback: FallbackMirror? = nil,
        audit: ConnectionAudit? = nil, serverSideHandlers: [String: ServerSideHandler] = [:],
        journal: BroadcastJournal? = nil, publicationCheck: PublicationCheck? = nil
    ) {
        self.publicationCheck = publicationCheck
        self.audit = audit
        self.namespaces = Dictionary(namespaces.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        self.limits = limits
        self.authenticator = authenticator
        let metrics = metrics ?? ServerMetrics(namespaces: namespaces.map(\.name))
        self.metrics = metrics
        self.rooms = Rooms(metrics: metrics, cluster: cluster, fallback: fallback, journal: journal)
        self.fallback = fallback
        self.cluster = cluster
        self.serverSideHandlers = serverSideHandlers
        // Namespace-wide broadcasts (system alerts, admin messages) come from any instance.
        for namespace in namespaces { cluster.map { $0.want($0.channel(namespace: namespace.name, room: nil)) } }
    }

    /// Sends an event to a room (or the whole namespace) from outside any socket: the publish API.
    public func publish(namespace: String, room: String?, event: String, arguments: [JSONValue]) async -> Int {
        await rooms.broadcast(.event(event, arguments, namespace: namespace), room: room)
    }
}
