import JSON
import SocketIO

/// How a user is present on a tender. `editing` outranks `viewing`: a user who edits in one tab and views in
/// another is shown editing.
enum PresenceMode: String, Sendable, Hashable {
    case viewing
    case editing

    /// The mode a `presence:join` asks for: `editing` when it says so, else `viewing`.
    init(requested: String?) { self = requested == PresenceMode.editing.rawValue ? .editing : .viewing }

    /// The mode to show when a user is present in both.
    func combined(with other: PresenceMode?) -> PresenceMode { other == .editing ? .editing : self }
}

/// Who is viewing or editing each tender: this instance's sockets, and with a cluster the entries of every
/// instance in Redis (see `ClusterPresence`). Without Redis, or while it is away, the list is this instance's.
actor Presence {
    struct Entry: Sendable {
        var mode: PresenceMode
        var sockets: Set<String>
    }

    private var tenders: [String: [String: Entry]] = [:]
    private var shared: ClusterPresence?
    /// The fallback database, which shows fallback clients who is present.
    private var fallback: FallbackMirror?
    /// Tenders this instance has subscribers in: the ones whose departed users it announces.
    private var watched: [String: Int] = [:]

    /// From now on, presence is shared with the other instances through Redis.
    func share(_ shared: ClusterPresence) { self.shared = shared }

    /// From now on, a user's arrival, change of mode and departure are written to the fallback database too.
    func mirror(to fallback: FallbackMirror) { self.fallback = fallback }

    /// Records a socket of `user` on a tender; true when the user was not present here before.
    func join(tender: String, user: String, mode: PresenceMode, socketID: String) async -> Bool {
        var users = tenders[tender, default: [:]]
        let previous = users[user]
        var entry = previous ?? Entry(mode: mode, sockets: [])
        entry.mode = mode
        entry.sockets.insert(socketID)
        users[user] = entry
        tenders[tender] = users
        if previous?.mode != mode { fallback?.presence(tender: tender, user: user, mode: mode) }
        if let shared, previous?.mode != mode {
            let stale = previous.map { [(tender: tender, user: user, mode: $0.mode)] } ?? []
            // Without Redis the entry is written at the next heartbeat after it returns.
            try? await shared.write([(tender: tender, user: user, mode: mode)], removing: stale)
        }
        return previous == nil
    }

    /// Removes a socket of `user`; true when the user has left the tender: it was their last socket here, and
    /// no other instance has them present.
    func leave(tender: String, user: String, socketID: String) async -> Bool {
        guard var entry = tenders[tender]?[user], entry.sockets.remove(socketID) != nil else { return false }
        guard entry.sockets.isEmpty else {
            tenders[tender]?[user] = entry
            return false
        }
        tenders[tender]?[user] = nil
        if tenders[tender]?.isEmpty == true { tenders[tender] = nil }
        var left = true
        if let shared {
            try? await shared.write([], removing: [(tender: tender, user: user, mode: entry.mode)])
            if let everywhere = try? await shared.list(tender) { left = !everywhere.contains { $0.user == user } }
        }
        // Not if the user came back here while Redis was asked: their join's write is already queued.
        if left, tenders[tender]?[user] == nil { fallback?.presence(tender: tender, user: user, mode: nil) }
        return left
    }

    /// `[{"user":..., "mode":...}]`, sorted by user.
    func list(tender: String) async -> JSONValue {
        var modes: [String: PresenceMode] = [:]
        if let shared, let everywhere = try? await shared.list(tender) {
            for (user, mode) in everywhere { modes[user] = mode }
        }
        // This instance's own entries count even when Redis has not seen them yet.
        for (user, entry) in tenders[tender] ?? [:] { modes[user] = entry.mode.combined(with: modes[user]) }
        return .array(
            modes.sorted { $0.key < $1.key }.map { user, mode in
                .object([("user", .string(user)), ("mode", .string(mode.rawValue))])
            })
    }

    func watch(_ tender: String) { watched[tender, default: 0] += 1 }

    func unwatch(_ tender: String) {
        guard let count = watched[tender] else { return }
        watched[tender] = count > 1 ? count - 1 : nil
    }

    /// Refreshes this instance's entries in Redis, then sweeps the expired entries (of instances that died) of
    /// the tenders watched here; returns the users that sweep found gone, to announce.
    func heartbeat() async -> [(tender: String, user: String)] {
        guard let shared else { return [] }
        let entries = tenders.sorted { $0.key < $1.key }.flatMap { tender, users in
            users.sorted { $0.key < $1.key }.map { (tender: tender, user: $0.key, mode: $0.value.mode) }
        }
        try? await shared.write(entries)
        var departed: [(tender: String, user: String)] = []
        for tender in watched.keys.sorted() {
            for user in (try? await shared.sweep(tender)) ?? [] {
                departed.append((tender: tender, user: user))
                fallback?.presence(tender: tender, user: user, mode: nil)
            }
        }
        return departed
    }
}

/// The TenderFlow real-time features: live tender rooms with presence and typing indicators (`/tenders`) and
/// system-wide notices (`/system`). Updates, bids, document status and comments reach the rooms from backend
/// services through the publish API.
enum TenderFlow {
    /// The heartbeat job of a clustered TenderFlow server: refreshes this instance's presence in Redis and
    /// announces the users whose instance died without saying goodbye (one instance announces each of them).
    static func presenceHeartbeat(_ presence: Presence, _ rooms: Rooms) -> @Sendable () async -> Void {
        {
            for (tender, user) in await presence.heartbeat() {
                await rooms.broadcast(
                    .event("presence:left", [presenceLeft(tender: tender, user: user)], namespace: "/tenders"),
                    room: room(tender))
            }
        }
    }

    static func namespaces(presence: Presence) -> [Namespace] {
        [
            Namespace("/"),
            Namespace("/system"),
            Namespace(
                "/tenders",
                onDisconnect: { socket, rooms in
                    for room in rooms where room.hasPrefix("tender:") {
                        let tender = String(room.dropFirst("tender:".count))
                        await presence.unwatch(tender)
                        await leavePresence(socket, tender: tender, presence)
                    }
                },
                handlers: [
                    "subscribe": { socket, arguments, ack in
                        guard let tender = tenderID(arguments) else { return await refuse(ack, "tenderId is required") }
                        guard socket.identity.mayAccess(tender: tender) else { return await refuse(ack, "forbidden") }
                        let wasMember = await socket.isMember(of: room(tender))
                        guard await socket.join(room(tender)) else {
                            return await refuse(ack, "too many subscriptions")
                        }
                        if !wasMember { await presence.watch(tender) }
                        await ack?([.object([("ok", .bool(true)), ("presence", await presence.list(tender: tender))])])
                    },
                    "unsubscribe": { socket, arguments, ack in
                        guard let tender = tenderID(arguments) else { return await refuse(ack, "tenderId is required") }
                        await leavePresence(socket, tender: tender, presence)
                        if await socket.isMember(of: room(tender)) { await presence.unwatch(tender) }
                        await socket.leave(room(tender))
                        await ack?([.object([("ok", .bool(true))])])
                    },
                    "presence:join": { socket, arguments, ack in
                        guard let tender = tenderID(arguments) else { return await refuse(ack, "tenderId is required") }
                        guard await socket.isMember(of: room(tender)) else {
                            return await refuse(ack, "subscribe first")
                        }
                        let mode = PresenceMode(requested: arguments.first?["mode"]?.stringValue)
                        let user = socket.user
                        _ = await presence.join(tender: tender, user: user, mode: mode, socketID: socket.id)
                        await socket.broadcast(
                            to: room(tender), "presence:joined",
                            [
                                .object([
                                    ("tenderId", .string(tender)), ("user", .string(user)),
                                    ("mode", .string(mode.rawValue)),
                                ])
                            ])
                        await ack?([.object([("ok", .bool(true)), ("presence", await presence.list(tender: tender))])])
                    },
                    "presence:leave": { socket, arguments, ack in
                        guard let tender = tenderID(arguments) else { return await refuse(ack, "tenderId is required") }
                        await leavePresence(socket, tender: tender, presence)
                        await ack?([.object([("ok", .bool(true))])])
                    },
                    "presence:list": { socket, arguments, ack in
                        guard let tender = tenderID(arguments) else { return await refuse(ack, "tenderId is required") }
                        guard await socket.isMember(of: room(tender)) else {
                            return await refuse(ack, "subscribe first")
                        }
                        await ack?([.object([("ok", .bool(true)), ("presence", await presence.list(tender: tender))])])
                    },
                    "typing": { socket, arguments, _ in
                        // Volatile: a typing indicator that cannot be delivered now is worthless later.
                        guard let tender = tenderID(arguments), await socket.isMember(of: room(tender)) else { return }
                        let typing = arguments.first?["typing"] == .bool(true)
                        await socket.broadcast(
                            to: room(tender), "typing",
                            [
                                .object([
                                    ("tenderId", .string(tender)), ("user", .string(socket.user)),
                                    ("typing", .bool(typing)),
                                ])
                            ],
                            volatile: true)
                    },
                ]),
        ]
    }

    static func room(_ tender: String) -> String { "tender:\(tender)" }

    /// `{"tenderId": "..."}` with an id of 1 to 64 letters, digits, `-` or `_`.
    static func tenderID(_ arguments: [JSONValue]) -> String? {
        guard let id = arguments.first?["tenderId"]?.stringValue, isTenderID(id) else { return nil }
        return id
    }

    /// 1 to 64 ASCII letters, digits, `-` or `_`: safe in room names, Redis keys and Realtime Database paths.
    static func isTenderID(_ id: some StringProtocol) -> Bool {
        (1...64).contains(id.count)
            && id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
    }

    static func refuse(_ ack: Acknowledgement?, _ message: String) async {
        await ack?([.object([("ok", .bool(false)), ("error", .string(message))])])
    }

    static func leavePresence(_ socket: Socket, tender: String, _ presence: Presence) async {
        guard await presence.leave(tender: tender, user: socket.user, socketID: socket.id) else { return }
        await socket.broadcast(to: room(tender), "presence:left", [presenceLeft(tender: tender, user: socket.user)])
    }

    static func presenceLeft(tender: String, user: String) -> JSONValue {
        .object([("tenderId", .string(tender)), ("user", .string(user))])
    }
}

extension Socket {
    /// The user this socket acts for: the token's subject, or without token authentication the CONNECT
    /// payload's `user` (unverified), else the socket id.
    public var user: String { identity.user }
}
