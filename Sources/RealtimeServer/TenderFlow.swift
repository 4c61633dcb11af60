import SocketIO

/// Who is viewing or editing each tender, on this instance.
actor Presence {
    struct Entry: Sendable {
        var mode: String
        var sockets: Set<String>
    }

    private var tenders: [String: [String: Entry]] = [:]

    /// Records a socket of `user` on a tender; true when the user was not present before.
    func join(tender: String, user: String, mode: String, socketID: String) -> Bool {
        var users = tenders[tender, default: [:]]
        let isNew = users[user] == nil
        var entry = users[user] ?? Entry(mode: mode, sockets: [])
        entry.mode = mode
        entry.sockets.insert(socketID)
        users[user] = entry
        tenders[tender] = users
        return isNew
    }

    /// Removes a socket of `user`; true when it was the user's last one on the tender.
    func leave(tender: String, user: String, socketID: String) -> Bool {
        guard var entry = tenders[tender]?[user], entry.sockets.remove(socketID) != nil else { return false }
        if entry.sockets.isEmpty {
            tenders[tender]?[user] = nil
            if tenders[tender]?.isEmpty == true { tenders[tender] = nil }
            return true
        }
        tenders[tender]?[user] = entry
        return false
    }

    /// `[{"user":..., "mode":...}]`, sorted by user.
    func list(tender: String) -> JSONValue {
        .array(
            (tenders[tender] ?? [:]).sorted { $0.key < $1.key }.map { user, entry in
                .object([("user", .string(user)), ("mode", .string(entry.mode))])
            })
    }
}

/// The TenderFlow real-time features: live tender rooms with presence and typing indicators (`/tenders`) and
/// system-wide notices (`/system`). Updates, bids, document status and comments reach the rooms from backend
/// services through the publish API.
enum TenderFlow {
    static func namespaces() -> [Namespace] {
        let presence = Presence()
        return [
            Namespace("/"),
            Namespace("/system"),
            Namespace(
                "/tenders",
                onDisconnect: { socket, rooms in
                    for room in rooms where room.hasPrefix("tender:") {
                        await leavePresence(socket, tender: String(room.dropFirst("tender:".count)), presence)
                    }
                },
                handlers: [
                    "subscribe": { socket, arguments, ack in
                        guard let tender = tenderID(arguments) else { return await refuse(ack, "tenderId is required") }
                        guard socket.identity.mayAccess(tender: tender) else { return await refuse(ack, "forbidden") }
                        guard await socket.join(room(tender)) else {
                            return await refuse(ack, "too many subscriptions")
                        }
                        await ack?([.object([("ok", .bool(true)), ("presence", await presence.list(tender: tender))])])
                    },
                    "unsubscribe": { socket, arguments, ack in
                        guard let tender = tenderID(arguments) else { return await refuse(ack, "tenderId is required") }
                        await leavePresence(socket, tender: tender, presence)
                        await socket.leave(room(tender))
                        await ack?([.object([("ok", .bool(true))])])
                    },
                    "presence:join": { socket, arguments, ack in
                        guard let tender = tenderID(arguments) else { return await refuse(ack, "tenderId is required") }
                        guard await socket.isMember(of: room(tender)) else {
                            return await refuse(ack, "subscribe first")
                        }
                        let mode = arguments.first?["mode"]?.stringValue == "editing" ? "editing" : "viewing"
                        let user = socket.user
                        _ = await presence.join(tender: tender, user: user, mode: mode, socketID: socket.id)
                        await socket.broadcast(
                            to: room(tender), "presence:joined",
                            [
                                .object([
                                    ("tenderId", .string(tender)), ("user", .string(user)), ("mode", .string(mode)),
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
        guard let id = arguments.first?["tenderId"]?.stringValue, (1...64).contains(id.count),
            id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { return nil }
        return id
    }

    static func refuse(_ ack: Acknowledgement?, _ message: String) async {
        await ack?([.object([("ok", .bool(false)), ("error", .string(message))])])
    }

    static func leavePresence(_ socket: Socket, tender: String, _ presence: Presence) async {
        guard await presence.leave(tender: tender, user: socket.user, socketID: socket.id) else { return }
        await socket.broadcast(
            to: room(tender), "presence:left",
            [
                .object([("tenderId", .string(tender)), ("user", .string(socket.user))])
            ])
    }
}

extension Socket {
    /// The user this socket acts for: the token's subject, or without token authentication the CONNECT
    /// payload's `user` (unverified), else the socket id.
    public var user: String { identity.user }
}
