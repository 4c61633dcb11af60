import JSON
import Redis

/// Online status in Redis: each instance holds the users it has a socket of, refreshed every heartbeat; when
/// its last socket of a user goes, or the instance dies and its holds lapse, the status index says when to
/// settle the user, and the one settle that finds no hold left announces them offline.
extension TenderCoordination {
    private func indexMember(_ user: String) -> String { instanceID + "|" + user }

    /// Holds (or refreshes) this instance's hold on each user, pipelined; returns the users this made online
    /// (announce them).
    func holdStatus(_ users: [String]) async throws -> [String] {
        let hold = Int(settings.statusHold / .milliseconds(1))
        let idle = Int(CoordinationSettings.idleKeyLifetime / .milliseconds(1))
        // The other regions keep a copy that says the same but is not indexed: each region settles its own.
        func command(_ user: String, indexed: Bool) -> RESPCommand {
            RESPCommand(
                "EVAL", RESPArgument(CoordinationScripts.holdStatus), 2, RESPArgument(keys.userStatus(user: user)),
                RESPArgument(keys.statusIndex), RESPArgument(instanceID), RESPArgument(hold), RESPArgument(idle),
                RESPArgument(indexed ? indexMember(user) : ""))
        }
        var online: [String] = []
        for start in stride(from: 0, to: users.count, by: 512) {
            let batch = Array(users[start..<min(start + 512, users.count)])
            for relay in relays.clients { for user in batch { relay.sendAndForget(command(user, indexed: false)) } }
            let replies: [RESPValue]
            do {
                replies = try await local.pipeline(batch.map { command($0, indexed: true) })
            } catch {
                throw CoordinationUnavailable()
            }
            online += zip(batch, replies).compactMap { user, reply in reply.int == 1 ? user : nil }
        }
        return online
    }

    /// This instance's last socket of `user` went: they are settled after the debounce.
    func releaseStatus(_ user: String) {
        let debounce = Int(settings.statusDebounce / .milliseconds(1))
        let command = { (member: String) in
            RESPCommand(
                "EVAL", RESPArgument(CoordinationScripts.releaseStatus), 2, RESPArgument(keys.userStatus(user: user)),
                RESPArgument(keys.statusIndex), RESPArgument(instanceID), RESPArgument(debounce), RESPArgument(member))
        }
        for relay in relays.clients { relay.sendAndForget(command("")) }
        local.sendAndForget(command(indexMember(user)))
    }

    /// Settles the users whose holds are due (released past the debounce, or lapsed with a dead instance);
    /// returns the ones this call announced offline, with their last-seen time.
    func settleDueStatuses(limit: Int = 256) async throws -> [(user: String, lastSeen: Int64)] {
        let due: RESPValue
        do {
            due = try await local.send(
                RESPCommand(
                    "EVAL", RESPArgument(CoordinationScripts.dueStatuses), 1, RESPArgument(keys.statusIndex),
                    RESPArgument(limit)))
        } catch {
            throw CoordinationUnavailable()
        }
        let fields = due.elements ?? []
        var announced: [(user: String, lastSeen: Int64)] = []
        let hold = Int64(settings.statusHold / .milliseconds(1))
        for index in stride(from: 0, to: fields.count - 1, by: 2) {
            guard let member = fields[index].string, let bar = member.firstIndex(of: "|"),
                let score = fields[index + 1].string.flatMap(Double.init)
            else { continue }
            let user = String(member[member.index(after: bar)...])
            // A hold that lapsed was last refreshed a hold's lifetime before its score.
            let command = RESPCommand(
                "EVAL", RESPArgument(CoordinationScripts.settleStatus), 1, RESPArgument(keys.userStatus(user: user)),
                RESPArgument(String(Int64(score) - hold)))
            for relay in relays.clients { relay.sendAndForget(command) }
            do {
                if let seen = try await local.send(command).int, seen > 0 { announced.append((user, seen)) }
            } catch {
                throw CoordinationUnavailable()
            }
        }
        return announced
    }

    /// Each user's state as last announced.
    func statuses(_ users: [String]) async throws -> [UserState] {
        let commands = users.map {
            RESPCommand("HMGET", RESPArgument(keys.userStatus(user: $0)), "@state", "@seen")
        }
        guard !commands.isEmpty else { return [] }
        let replies: [RESPValue]
        do {
            replies = try await local.send(commands)
        } catch {
            throw CoordinationUnavailable()
        }
        return zip(users, replies).map { user, reply in
            let fields = reply.elements ?? []
            return UserState(
                user: user, online: fields.first?.string == "online",
                lastSeen: fields.count > 1 ? fields[1].int : nil)
        }
    }
}
