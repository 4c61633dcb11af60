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
        return local.submit(users.map { command($0, indexed: true) })?.map { replies in replies.map { $0.int == 1 } }
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
    /// time. A batch that cannot be settled goes back to the index, for the next heartbeat.
    func settleDueStatuses(batch: Int = 512) async throws -> [(user: String, lastSeen: Int64)] {
        let hold = Int64(settings.statusHold / .milliseconds(1))
        var announced: [(user: String, lastSeen: Int64)] = []
        while true {
            let due: [(member: String, score: String)]
            do {
                let reply = try await local.send(
                    script(CoordinationScripts.dueStatuses, keys: [keys.statusIndex], [RESPArgument(batch)]))
                let fields = reply.elements ?? []
                due = stride(from: 0, to: fields.count - 1, by: 2).compactMap { index in
                    guard let member = fields[index].string, let score = fields[index + 1].string else { return nil }
                    return (member, score)
                }
            } catch {
                throw CoordinationUnavailable()
            }
            let users = due.map { entry in
                entry.member.firstIndex(of: "|").map { String(entry.member[entry.member.index(after: $0)...]) } ?? ""
            }
            // A hold that lapsed was last refreshed a hold's lifetime before its score.
            let settles = zip(users, due).map { user, entry in
                script(
                    CoordinationScripts.settleStatus, keys: [keys.userStatus(user: user)],
                    [RESPArgument(String(Int64(Double(entry.score) ?? 0) - hold))])
            }
            for relay in relays.clients { for command in settles { relay.sendAndForget(command) } }
            do {
                let replies = try await local.send(settles)
                for (user, reply) in zip(users, replies) {
                    if let seen = reply.int, seen > 0 { announced.append((user, seen)) }
                }
            } catch {
                for entry in due {
                    local.sendAndForget(
                        RESPCommand(
                            "ZADD", RESPArgument(keys.statusIndex), RESPArgument(entry.score),
                            RESPArgument(entry.member)))
                }
                throw CoordinationUnavailable()
            }
            if due.count < batch { return announced }
        }
    }

    /// Each user's state: online while a hold of theirs is live, else the time they were last seen.
    func statuses(_ users: [String]) async throws -> [UserState] {
        guard !users.isEmpty else { return [] }
        let replies: [RESPValue]
        do {
            replies = try await local.send(
                users.map { script(CoordinationScripts.readStatus, keys: [keys.userStatus(user: $0)], []) })
        } catch {
            throw CoordinationUnavailable()
        }
        return zip(users, replies).map { user, reply in
            let fields = reply.elements ?? []
            let online = fields.first?.int == 1
            let seen = fields.count > 1 ? fields[1].int ?? 0 : 0
            return UserState(user: user, online: online, lastSeen: online || seen == 0 ? nil : seen)
        }
    }
}
