import JSON
import SocketIO

/// Edit leases, versioned updates, comments, jobs, activity and online status: the `/tenders` events that need
/// the shared state in Redis (`TenderCoordination`). Each answers `{"ok": false, "error": ...}` to a bad payload,
/// a tender the token does not grant, or a Redis that cannot be reached (the client retries).
extension TenderFlow {
    static let unavailable = "coordination unavailable: retry"
    /// A retry must carry what the first request carried.
    static let reusedRequest = "requestId was used for another request"
    /// The handoff stream is full: the backend has not taken what was accepted before.
    static let backlog = "backend behind: retry"
    /// Most bytes of an update's patch (as JSON): every accepted patch waits in the handoff stream.
    static let maxPatchBytes = 16_384
    /// Most users one `status:watch` names.
    static let maxWatchedPerCall = 50
    /// Most characters of a comment.
    static let maxCommentLength = 4_000
    /// Most events one `activity:list` returns.
    static let maxActivity = 100

    static func collaborationHandlers(_ collaboration: Collaboration) -> [String: Namespace.EventHandler] {
        [
            "edit:acquire": { socket, arguments, ack in
                guard let (tender, section, coordination) = await editable(socket, arguments, collaboration, ack)
                else { return }
                let held = HeldLeases.Lease(tender: tender, section: section)
                guard await collaboration.leases.mayHold(held, socketID: socket.id) else {
                    return await refuse(ack, "at most \(HeldLeases.maxPerSocket) leases per socket")
                }
                guard
                    let board = try? await coordination.acquire(
                        tender: tender, section: section, user: socket.user, socketID: socket.id)
                else { return await refuse(ack, unavailable) }
                guard board.outcome != "held", let lease = board.leases.first(where: { $0.section == section }) else {
                    await ack?([
                        .object([
                            ("ok", .bool(false)), ("error", .string("held")),
                            ("holder", board.holder?.json ?? .null),
                        ])
                    ])
                    return
                }
                await collaboration.leases.hold(held, socketID: socket.id)
                // The socket may have gone (or left the tender) while Redis answered, after its leases were
                // released: this one would be renewed for a socket that is not there. A connection handles its
                // events one at a time, and a socket that goes leaves its rooms before its leases are released;
                // so checked after `hold`, either that release saw this lease or this sees the socket gone.
                guard await socket.isMember(of: room(tender)) else {
                    await collaboration.leases.drop(held, socketID: socket.id)
                    _ = try? await coordination.release(
                        tender: tender, section: section, socketID: socket.id, grace: false)
                    return await refuse(ack, "subscribe first")
                }
                if board.outcome == "granted" { await announce(board, tender: tender, socket) }
                await ack?([
                    .object([("ok", .bool(true)), ("lease", lease.json), ("leases", board.json(tender: tender))])
                ])
            },
            "edit:release": { socket, arguments, ack in
                guard let (tender, section, coordination) = await editable(socket, arguments, collaboration, ack)
                else { return }
                await collaboration.leases.drop(.init(tender: tender, section: section), socketID: socket.id)
                guard
                    let board = try? await coordination.release(
                        tender: tender, section: section, socketID: socket.id, grace: false)
                else { return await refuse(ack, unavailable) }
                if board.outcome == "released" { await announce(board, tender: tender, socket) }
                await ack?([.object([("ok", .bool(true)), ("leases", board.json(tender: tender))])])
            },
            "edit:leases": { socket, arguments, ack in
                guard let (tender, coordination) = await member(socket, arguments, collaboration, ack) else { return }
                guard let board = try? await coordination.leases(tender: tender) else {
                    return await refuse(ack, unavailable)
                }
                await ack?([.object([("ok", .bool(true)), ("leases", board.json(tender: tender))])])
            },
            "tender:update": { socket, arguments, ack in
                await update(socket, arguments, collaboration, ack)
            },
            "comment:add": { socket, arguments, ack in
                await comment(socket, arguments, collaboration, ack)
            },
            "job:list": { socket, arguments, ack in
                guard let (tender, coordination) = await member(socket, arguments, collaboration, ack) else { return }
                guard let jobs = try? await coordination.jobs(tender: tender) else {
                    return await refuse(ack, unavailable)
                }
                await ack?([.object([("ok", .bool(true)), ("jobs", .array(jobs))])])
            },
            "activity:list": { socket, arguments, ack in
                guard let tender = tenderID(arguments) else { return await refuse(ack, "tenderId is required") }
                guard socket.identity.mayAccess(tender: tender) else { return await refuse(ack, "forbidden") }
                let requested = arguments.first?["limit"]
                guard requested == nil || requested.flatMap(count(_:)).map({ (1...maxActivity).contains($0) }) == true
                else { return await refuse(ack, "limit must be a whole number from 1 to \(maxActivity)") }
                guard let coordination = collaboration.coordination,
                    let events = try? await coordination.activity(
                        tender: tender, limit: requested.flatMap(count(_:)) ?? 20)
                else { return await refuse(ack, unavailable) }
                await ack?([.object([("ok", .bool(true)), ("events", .array(events))])])
            },
            "status:watch": { socket, arguments, ack in
                guard let users = watchedUsers(arguments) else {
                    return await refuse(ack, "users must be 1 to \(maxWatchedPerCall) user ids")
                }
                guard let coordination = collaboration.coordination else { return await refuse(ack, unavailable) }
                var joined: [String] = []
                for user in users {
                    if await socket.isMember(of: statusRoom(user)) { continue }
                    guard await socket.join(statusRoom(user)) else {
                        for room in joined { await socket.leave(room) }
                        return await refuse(ack, "too many subscriptions")
                    }
                    joined.append(statusRoom(user))
                }
                // Read after joining: a change from now on is announced to this socket too.
                guard let states = try? await coordination.statuses(users) else {
                    return await refuse(ack, unavailable)
                }
                await ack?([.object([("ok", .bool(true)), ("statuses", .array(states.map(\.json)))])])
            },
            "status:unwatch": { socket, arguments, ack in
                guard let users = watchedUsers(arguments) else {
                    return await refuse(ack, "users must be 1 to \(maxWatchedPerCall) user ids")
                }
                for user in users { await socket.leave(statusRoom(user)) }
                await ack?([.object([("ok", .bool(true))])])
            },
        ]
    }

    static func statusRoom(_ user: String) -> String { "status:\(user)" }

    /// `{"users": [...]}`: 1 to `maxWatchedPerCall` distinct ids, each short enough for a room name.
    private static func watchedUsers(_ arguments: [JSONValue]) -> [String]? {
        guard let list = arguments.first?["users"]?.arrayValue, (1...maxWatchedPerCall).contains(list.count) else {
            return nil
        }
        let users = list.compactMap(\.stringValue).filter { !$0.isEmpty && NameLimits.fits(statusRoom($0)) }
        guard users.count == list.count else { return nil }
        var seen = Set<String>()
        return users.filter { seen.insert($0).inserted }
    }

    /// A whole number (a JSON number without a fraction) from 0 to 2^53.
    static func count(_ value: JSONValue) -> Int? {
        guard let number = value.numberValue, number >= 0, number <= 9_007_199_254_740_992,
            number.rounded(.towardZero) == number
        else { return nil }
        return Int(number)
    }

    /// The tender of a `{tenderId}` payload when the socket is in its room, and the coordination; else answered.
    static func member(
        _ socket: Socket, _ arguments: [JSONValue], _ collaboration: Collaboration, _ ack: Acknowledgement?
    ) async -> (String, TenderCoordination)? {
        guard let tender = tenderID(arguments) else {
            await refuse(ack, "tenderId is required")
            return nil
        }
        guard await socket.isMember(of: room(tender)) else {
            await refuse(ack, "subscribe first")
            return nil
        }
        guard let coordination = collaboration.coordination else {
            await refuse(ack, unavailable)
            return nil
        }
        return (tender, coordination)
    }

    /// `{tenderId, section}` of a tender the socket is in; else answered.
    static func editable(
        _ socket: Socket, _ arguments: [JSONValue], _ collaboration: Collaboration, _ ack: Acknowledgement?
    ) async -> (String, String, TenderCoordination)? {
        guard let section = arguments.first?["section"]?.stringValue, isTenderID(section) else {
            await refuse(ack, "section is required (1 to 64 letters, digits, - or _)")
            return nil
        }
        guard let (tender, coordination) = await member(socket, arguments, collaboration, ack) else { return nil }
        return (tender, section, coordination)
    }

    /// Tells the whole room, the socket's own included, the tender's leases as they are now.
    static func announce(_ board: LeaseBoard, tender: String, _ socket: Socket) async {
        await socket.publish(to: room(tender), "edit:leases", [board.json(tender: tender)])
    }

    /// Releases a socket's leases (of one tender, or all): now, or after the grace period (a disconnection).
    static func releaseLeases(_ socket: Socket, tender: String?, grace: Bool, _ collaboration: Collaboration) async {
        let held = await collaboration.leases.take(socketID: socket.id, tender: tender)
        guard let coordination = collaboration.coordination else { return }
        for lease in held {
            guard
                let board = try? await coordination.release(
                    tender: lease.tender, section: lease.section, socketID: socket.id, grace: grace),
                board.outcome == "released"
            else { continue }
            await announce(board, tender: lease.tender, socket)
        }
    }

    /// The tender's leases and jobs, for a subscriber; nothing when Redis cannot say.
    static func currentState(of tender: String, _ collaboration: Collaboration) async -> [(String, JSONValue)] {
        guard let coordination = collaboration.coordination,
            let board = try? await coordination.leases(tender: tender),
            let jobs = try? await coordination.jobs(tender: tender)
        else { return [] }
        return [("leases", board.json(tender: tender)), ("jobs", .array(jobs))]
    }

    // MARK: Online status

    static func cameOnline(_ socket: Socket, _ collaboration: Collaboration) async {
        guard await collaboration.online.connected(socket.user, collaboration.coordination) else { return }
        await announce(UserState(user: socket.user, online: true), socket.connection.rooms)
    }

    /// `status:online {user}` or `status:offline {user, lastSeen}` to the user's watchers, on every instance.
    /// Volatile: a status is a state, not history. It is not kept for recovery (a connect storm would push the
    /// tender events out of the recovery stream); a client that comes back asks `status:watch` again.
    static func announce(_ state: UserState, _ rooms: Rooms) async {
        await rooms.broadcast(
            .event(state.online ? "status:online" : "status:offline", [state.json], namespace: "/tenders"),
            room: statusRoom(state.user), volatile: true)
    }

    static func wentOffline(_ socket: Socket, _ collaboration: Collaboration) async {
        await collaboration.online.disconnected(socket.user, collaboration.coordination)
    }
}
