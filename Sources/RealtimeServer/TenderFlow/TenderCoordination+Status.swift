import JSON
import NIOCore
import Redis

/// Online status in Redis: each instance holds the users it has a socket of, refreshed every heartbeat; when
/// its last socket of a user goes, or the instance dies and its holds lapse, the status index says when to
/// settle the user, and the one settle that finds no hold left announces them offline.
extension TenderCoordination {
    private func indexMember(_ user: String) -> String { instanceID + "|" + user }

    /// Writes this instance's hold on each user now, before returning (an actor that calls this keeps its
    /// holds and releases in order on the wire), here and without waiting in every other region. The future
    /// answers, for each user, whether this made them online (announce it); nil without a connection.
    func submitHolds(_ users: [String]) -> EventLoopFuture<[Bool]>? {
        let hold = Int(settings.statusHold / .milliseconds(1))
        let idle = Int(CoordinationSettings.idleKeyLifetime / .milliseconds(1))
        // The other regions keep a copy that says the same but is not indexed: each region settles its own.
        func command(_ user: String, indexed: Bool) -> RESPCommand {
            script(
                CoordinationScripts.holdStatus, keys: [keys.userStatus(user: user), keys.statusIndex],
                [
                    RESPArgument(instanceID), RESPArgument(hold), RESPArgument(idle),
                    RESPArgument(indexed ? indexMember(user) : ""),
                ])
        }
        for relay in relays.clients { for user in users { relay.sendAndForget(command(user, indexed: false)) } }
        var parts: [EventLoopFuture<[RESPValue]>] = []
        for batch in Self.batches(users.map { command($0, indexed: true) }) {
            guard let part = local.submit(Array(batch)) else { return nil }
            parts.append(part)
        }
        guard let first = parts.first else { return nil }
        return EventLoopFuture.whenAllSucceed(parts, on: first.eventLoop).map { replies in
            replies.joined().map { $0.int == 1 }
        }
    }

    /// This instance's last socket of `user` went: they are settled after the debounce. Written before returning.
    func releaseStatus(_ user: String) {
        let debounce = Int(settings.statusDebounce / .milliseconds(1))
        let command = { (member: String) in
            script(
                CoordinationScripts.releaseStatus, keys: [keys.userStatus(user: user), keys.statusIndex],
                [RESPArgument(instanceID), RESPArgument(debounce), RESPArgument(member)])
        }
        for relay in relays.clients { relay.sendAndForget(command("")) }
        local.sendAndForget(command(indexMember(user)))
    }

    /// Settles every user whose holds are due (released past the debounce, or lapsed with a dead instance), a
    /// batch at a time until none is due; returns the ones this call announced offline, with their last-seen
    /// time. Each batch is claimed first: what this call cannot settle (Redis went away) is due again after the
    /// claim, for whichever instance comes next.
    func settleDueStatuses(batch: Int = 512) async -> [(user: String, lastSeen: Int64)] {
        let hold = Int64(settings.statusHold / .milliseconds(1))
        var announced: [(user: String, lastSeen: Int64)] = []
        while true {
            guard
                let reply = try? await local.send(
                    script(
                        CoordinationScripts.dueStatuses, keys: [keys.statusIndex],
                        [RESPArgument(batch), RESPArgument(Int(hold))])),
                let fields = reply.elements, let claim = fields.first?.string
            else { return announced }
            let due = stride(from: 1, to: fields.count - 1, by: 2).compactMap { index in
                fields[index].string.flatMap { member in fields[index + 1].string.map { (member, $0) } }
            }
            let settles = due.map { member, score in
                let user = member.firstIndex(of: "|").map { String(member[member.index(after: $0)...]) } ?? ""
                // A hold that lapsed was last refreshed a hold's lifetime before its score.
                let seen = RESPArgument(String(Int64(Double(score) ?? 0) - hold))
                return (
                    user,
                    local: script(
                        CoordinationScripts.settleStatus, keys: [keys.userStatus(user: user), keys.statusIndex],
                        [seen, RESPArgument(member), RESPArgument(claim)]),
                    copy: script(
                        CoordinationScripts.settleStatus, keys: [keys.userStatus(user: user), keys.statusIndex],
                        [seen, "", "0"])
                )
            }
            for relay in relays.clients { for settle in settles { relay.sendAndForget(settle.copy) } }
            guard let replies = try? await local.send(settles.map(\.local)) else { return announced }
            for (settle, reply) in zip(settles, replies) {
                if let seen = reply.int, seen > 0 { announced.append((settle.0, seen)) }
            }
            if due.count < batch { return announced }
        }
    }

    /// Each user's state: online while a hold of theirs is live, else the time they were last seen.
    func statuses(_ users: [String]) async throws -> [UserState] {
        guard !users.isEmpty else { return [] }
        let debounce = RESPArgument(Int(settings.statusDebounce / .milliseconds(1)))
        let replies = try await ask(
            local, users.map { script(CoordinationScripts.readStatus, keys: [keys.userStatus(user: $0)], [debounce]) })
        return zip(users, replies).map { user, reply in
            let fields = reply.elements ?? []
            let online = fields.first?.int == 1
            let seen = fields.count > 1 ? fields[1].int ?? 0 : 0
            return UserState(user: user, online: online, lastSeen: online || seen == 0 ? nil : seen)
        }
    }
}
