import JSON
import SocketIO

/// The TenderFlow real-time features: live tender rooms with presence and typing indicators, edit leases,
/// versioned section updates, comments, job progress and an activity feed (`/tenders`); system-wide notices
/// (`/system`); notifications to a user on every device (`user:<id>`, in both); online status. Backend services
/// reach the rooms through the publish API. README's protocol table lists every event.
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

    static func namespaces(_ collaboration: Collaboration) -> [Namespace] {
        let presence = collaboration.presence
        return [
            Namespace("/"),
            Namespace(
                "/system", joinOnConnect: userRooms, onConnection: { await cameOnline($0, collaboration) },
                onDisconnect: { socket, _ in await wentOffline(socket, collaboration) }),
            Namespace(
                "/tenders", joinOnConnect: userRooms, onConnection: { await cameOnline($0, collaboration) },
                onDisconnect: { socket, rooms in
                    for room in rooms where room.hasPrefix("tender:") {
                        let tender = String(room.dropFirst("tender:".count))
                        await presence.unwatch(tender)
                        await leavePresence(socket, tender: tender, presence)
                    }
                    await releaseLeases(socket, tender: nil, grace: true, collaboration)
                    await wentOffline(socket, collaboration)
                },
                handlers: collaborationHandlers(collaboration).merging([
                    "subscribe": { socket, arguments, ack in
                        guard let tender = tenderID(arguments) else { return await refuse(ack, "tenderId is required") }
                        guard socket.identity.mayAccess(tender: tender) else { return await refuse(ack, "forbidden") }
                        let wasMember = await socket.isMember(of: room(tender))
                        guard await socket.join(room(tender)) else {
                            return await refuse(ack, "too many subscriptions")
                        }
                        if !wasMember { await presence.watch(tender) }
                        var answer: [(String, JSONValue)] = [
                            ("ok", .bool(true)), ("presence", await presence.list(tender: tender)),
                        ]
                        // The tender's current leases and jobs at once, not only their later changes.
                        answer += await currentState(of: tender, collaboration)
                        await ack?([.object(answer)])
                    },
                    "unsubscribe": { socket, arguments, ack in
                        guard let tender = tenderID(arguments) else { return await refuse(ack, "tenderId is required") }
                        await leavePresence(socket, tender: tender, presence)
                        await releaseLeases(socket, tender: tender, grace: false, collaboration)
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
                ]) { _, new in new }),
        ]
    }

    /// Every socket of a user is in `user:<id>` of its namespace from its CONNECT on: what notifications to
    /// the user go to. (A user id too long for a room name gets none.)
    static func userRooms(_ socket: Socket) -> [String] { [userRoom(socket.user)] }

    static func userRoom(_ user: String) -> String { userRoomPrefix + user }

    /// The user whose room `room` is, if it is a user's room.
    static func user(ofRoom room: String) -> Substring? {
        room.hasPrefix(userRoomPrefix) ? room.dropFirst(userRoomPrefix.count) : nil
    }

    private static let userRoomPrefix = "user:"

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
