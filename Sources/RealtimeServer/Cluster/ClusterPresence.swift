import Redis
import SocketIO

/// Presence shared by every instance: per tender a Redis sorted set whose members are
/// `["<instance>","<user>","<mode>"]` (JSON) scored with the time they expire. Each instance refreshes its own
/// entries every heartbeat; an instance that dies stops refreshing, so its users drop out of every list once
/// their entries expire (no ghost users after a crash), and a surviving instance that sweeps them announces
/// that they left, once: the sweeper whose ZREM removed the entry.
struct ClusterPresence: Sendable {
    let client: RedisClient
    let instanceID: String
    let prefix: String
    /// How long an entry lives without a refresh.
    let ttl: Duration

    struct Entry: Sendable, Hashable {
        var instance: String
        var user: String
        var mode: String
    }

    func key(_ tender: String) -> String { "\(prefix):presence:{\(tender)}" }

    private func member(_ entry: Entry) -> String {
        JSONValue.array([.string(entry.instance), .string(entry.user), .string(entry.mode)]).serialized()
    }

    private func entry(_ member: RESPValue) -> Entry? {
        guard let text = member.string, let fields = JSONValue.parse(Substring(text))?.arrayValue, fields.count == 3,
            let instance = fields[0].stringValue, let user = fields[1].stringValue, let mode = fields[2].stringValue
        else { return nil }
        return Entry(instance: instance, user: user, mode: mode)
    }

    private var ttlMilliseconds: Int64 {
        ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000
    }

    /// Milliseconds since the epoch on Redis's clock: every instance compares against the same clock.
    private func now() async throws -> Int64 {
        let reply = try await client.send(RESPCommand("TIME"))
        guard let parts = reply.elements, parts.count == 2, let seconds = parts[0].int, let micros = parts[1].int
        else { throw RedisError.unexpectedReply(to: "TIME") }
        return seconds * 1000 + micros / 1000
    }

    /// Writes (or refreshes) this instance's entries: `(tender, user, mode)`, and removes the `stale` ones
    /// (a user who switched mode, say).
    func write(
        _ entries: [(tender: String, user: String, mode: String)],
        removing stale: [(tender: String, user: String, mode: String)] = []
    )
        async throws
    {
        guard !entries.isEmpty || !stale.isEmpty else { return }
        let expires = try await now() + ttlMilliseconds
        var commands: [RESPCommand] = []
        for old in stale {
            commands.append(
                RESPCommand(
                    "ZREM", RESPArgument(key(old.tender)),
                    RESPArgument(member(Entry(instance: instanceID, user: old.user, mode: old.mode)))))
        }
        for new in entries {
            let key = key(new.tender)
            commands.append(
                RESPCommand(
                    "ZADD", RESPArgument(key), RESPArgument(String(expires)),
                    RESPArgument(member(Entry(instance: instanceID, user: new.user, mode: new.mode)))))
            // The set itself goes once nobody refreshes anything in it.
            commands.append(RESPCommand("PEXPIRE", RESPArgument(key), RESPArgument(Int(2 * ttlMilliseconds))))
        }
        try await client.send(commands)
    }

    /// Who is present on a tender, on any instance: one entry per user (`editing` wins over `viewing`), sorted.
    func list(_ tender: String) async throws -> [(user: String, mode: String)] {
        let reply = try await client.send(
            RESPCommand("ZRANGE", RESPArgument(key(tender)), RESPArgument(String(try await now())), "+inf", "BYSCORE"))
        var modes: [String: String] = [:]
        for entry in (reply.elements ?? []).compactMap(entry) {
            if modes[entry.user] != "editing" { modes[entry.user] = entry.mode }
        }
        return modes.sorted { $0.key < $1.key }.map { (user: $0.key, mode: $0.value) }
    }

    /// Removes the entries that expired on `tender` (their instance died); returns the users whose entries this
    /// call removed and who are not present any more.
    func sweep(_ tender: String) async throws -> [String] {
        let key = key(tender)
        let now = try await now()
        let expired = try await client.send(
            RESPCommand("ZRANGE", RESPArgument(key), "-inf", RESPArgument(String(now)), "BYSCORE"))
        let members = expired.elements ?? []
        guard !members.isEmpty else { return [] }
        // ZREM tells which of the sweeping instances removed an entry: only that one announces it.
        let removed = try await client.send(
            members.compactMap(\.bytes).map { RESPCommand("ZREM", RESPArgument(key), RESPArgument($0)) })
        let gone = Set(
            zip(members, removed).compactMap { member, count in count == .integer(1) ? entry(member)?.user : nil })
        guard !gone.isEmpty else { return [] }
        let present = Set(try await list(tender).map(\.user))
        return gone.subtracting(present).sorted()
    }
}
