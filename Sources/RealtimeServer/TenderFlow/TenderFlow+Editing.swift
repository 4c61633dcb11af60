import JSON
import SocketIO

/// Concurrent edits and comments: the server coordinates (one version per section, one number per comment,
/// atomically in Redis) and hands what it accepted to the backend, which keeps the record.
extension TenderFlow {
    /// `tender:update {tenderId, section, baseVersion, patch, requestId?}`: accepted as the section's next version
    /// when `baseVersion` is its current one and no other user holds its lease; then the whole room gets
    /// `tender:updated` with the new version. Otherwise the sender gets `tender:conflict` with the current
    /// version (merge and retry), or is told who holds the lease.
    static func update(
        _ socket: Socket, _ arguments: [JSONValue], _ collaboration: Collaboration, _ ack: Acknowledgement?
    ) async {
        guard let base = arguments.first?["baseVersion"].flatMap(count(_:)) else {
            return await refuse(ack, "baseVersion must be a whole number from 0")
        }
        guard let patch = arguments.first?["patch"], patch != .null else {
            return await refuse(ack, "patch is required")
        }
        guard patch.serialized().utf8.count <= maxPatchBytes else {
            return await refuse(ack, "patch is over \(maxPatchBytes) bytes")
        }
        guard let requestID = requestID(arguments) else {
            return await refuse(ack, "requestId must be 1 to 64 letters, digits, - or _")
        }
        guard let (tender, section, coordination) = await editable(socket, arguments, collaboration, ack) else {
            return
        }
        let outcome: UpdateOutcome
        do {
            outcome = try await coordination.update(
                tender: tender, section: section, baseVersion: Int64(base), user: socket.user, requestID: requestID,
                patch: patch)
        } catch {
            return await refuse(ack, unavailable)
        }
        switch outcome {
        case .accepted(let version), .duplicate(let version):
            // A duplicate is sent again: its first broadcast may have gone with an instance that died after the
            // update was accepted. Apps keep one update per version.
            await socket.publish(
                to: room(tender), "tender:updated",
                [
                    .object([
                        ("tenderId", .string(tender)), ("section", .string(section)),
                        ("version", .number(Double(version))), ("user", .string(socket.user)), ("patch", patch),
                    ])
                ])
            var answer: [(String, JSONValue)] = [("ok", .bool(true)), ("version", .number(Double(version)))]
            if case .duplicate = outcome { answer.append(("duplicate", .bool(true))) }
            await ack?([.object(answer)])
        case .backlog:
            await refuse(ack, backlog)
        case .reused:
            await refuse(ack, reusedRequest)
        case .conflict(let current):
            await socket.emit(
                "tender:conflict",
                [
                    .object([
                        ("tenderId", .string(tender)), ("section", .string(section)),
                        ("baseVersion", .number(Double(base))), ("currentVersion", .number(Double(current))),
                    ])
                ])
            await ack?([
                .object([
                    ("ok", .bool(false)), ("error", .string("conflict")), ("currentVersion", .number(Double(current))),
                ])
            ])
        case .leased(let lease):
            await ack?([.object([("ok", .bool(false)), ("error", .string("leased")), ("holder", lease.json)])])
        }
    }

    /// `comment:add {tenderId, text, replyTo?, requestId?}`: numbered in the tender's order, handed to the
    /// backend, acknowledged with its number, and sent to the whole room as `comment:added` (recoverable).
    static func comment(
        _ socket: Socket, _ arguments: [JSONValue], _ collaboration: Collaboration, _ ack: Acknowledgement?
    ) async {
        guard let text = arguments.first?["text"]?.stringValue,
            !text.allSatisfy(\.isWhitespace), text.count <= maxCommentLength
        else { return await refuse(ack, "text must be 1 to \(maxCommentLength) characters, not only spaces") }
        let reply = arguments.first?["replyTo"]
        guard reply == nil || reply.flatMap(count(_:)).map({ $0 >= 1 }) == true else {
            return await refuse(ack, "replyTo must be a comment's id")
        }
        guard let requestID = requestID(arguments) else {
            return await refuse(ack, "requestId must be 1 to 64 letters, digits, - or _")
        }
        guard let (tender, coordination) = await member(socket, arguments, collaboration, ack) else { return }
        var members: [(String, JSONValue)] = [("text", .string(text))]
        if let reply { members.append(("replyTo", reply)) }
        let outcome: CommentOutcome
        do {
            outcome = try await coordination.comment(
                tender: tender, user: socket.user, comment: .object(members), requestID: requestID)
        } catch {
            return await refuse(ack, unavailable)
        }
        guard case .numbered(let number, let at, let duplicate) = outcome else {
            return await refuse(ack, outcome == .backlog ? backlog : reusedRequest)
        }
        var answer: [(String, JSONValue)] = [
            ("ok", .bool(true)), ("id", .number(Double(number))), ("at", .number(Double(at))),
        ]
        if duplicate { answer.append(("duplicate", .bool(true))) }
        // A duplicate is sent again, as an update is; apps keep one comment per id.
        await socket.publish(
            to: room(tender), "comment:added",
            [
                .object(
                    [
                        ("tenderId", .string(tender)), ("id", .number(Double(number))), ("user", .string(socket.user)),
                        ("at", .number(Double(at))),
                    ] + members)
            ])
        await ack?([.object(answer)])
    }

    /// The optional `requestId`: `.some(nil)` without one, nil when it is malformed.
    private static func requestID(_ arguments: [JSONValue]) -> String?? {
        guard let value = arguments.first?["requestId"], value != .null else { return .some(nil) }
        guard let id = value.stringValue, isTenderID(id) else { return nil }
        return .some(id)
    }

    // MARK: Heartbeat

    /// Every heartbeat: refreshes the online holds, renews the leases held here (one round trip), sweeps the
    /// lapsed leases of the tenders watched here (one round trip) and announces the new lists, and announces the
    /// users whose last socket went a debounce ago (or whose instance died) as offline, once.
    static func collaborationHeartbeat(_ collaboration: Collaboration, _ rooms: Rooms) -> @Sendable () async -> Void {
        {
            guard let coordination = collaboration.coordination else { return }
            // Online holds first: the cheapest, and the ones whose lapse other instances would announce.
            for user in await collaboration.online.refresh(coordination) {
                await announce(UserState(user: user, online: true), rooms)
            }
            let held = await collaboration.leases.all
            if let renewed = try? await coordination.renew(held) {
                // Lost to the same user's other socket, or lapsed while Redis was away: not this socket's any more.
                for ((socketID, lease), still) in zip(held, renewed) where !still {
                    await collaboration.leases.drop(lease, socketID: socketID)
                }
            }
            let watched = await collaboration.presence.watchedTenders
            for (tender, board) in (try? await coordination.sweepLeases(tenders: watched)) ?? [] {
                await rooms.broadcast(
                    .event("edit:leases", [board.json(tender: tender)], namespace: "/tenders"), room: room(tender))
            }
            for (user, lastSeen) in await coordination.settleDueStatuses() {
                await announce(UserState(user: user, online: false, lastSeen: lastSeen), rooms)
            }
        }
    }
}
