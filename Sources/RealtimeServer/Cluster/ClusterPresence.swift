import JSON
import Redis
import SocketIO

/// Presence shared by every instance of every region: per tender a Redis sorted set whose members are
/// `["<region>","<instance>","<user>","<mode>"]` (JSON) scored with the time they expire. Each instance
/// writes its entries to its region's Redis and, through the relay, to every other region's, and refreshes
/// them every heartbeat; lists read the region's own Redis. An instance that dies stops refreshing, so its
/// users drop out of every list once their entries expire (no ghost users after a crash), and a surviving
/// instance of the same region that sweeps them announces that they left, once: the sweeper whose ZREM
/// removed the entry (other regions leave that region's entries to it, so nobody announces twice).
struct ClusterPresence: Sendable {
    let client: RedisClient
    /// The other regions' Redis, which get every write too.
    let relays: RegionRelays
    let region: String
    let instanceID: String
    let keys: RedisKeys
    /// How long an entry lives without a refresh.
    let ttl: Duration

    struct Entry: Sendable, Hashable {
        var region: String
        var instance: String
        var user: String
        var mode: PresenceMode
    }

    func key(_ tender: String) -> String { keys.presence(tender: tender) }

    private func member(_ entry: Entry) -> String {
        JSONValue.array([
            .string(entry.region), .string(entry.instance), .string(entry.user), .string(entry.mode.rawValue),
        ]).serialized()
    }

    private func entry(_ member: RESPValue) -> Entry? {
        guard let text = member.string, let fields = JSONValue.parse(Substring(text))?.arrayValue, fields.count == 4,
            let region = fields[0].stringValue, let instance = fields[1].stringValue,
            let user = fields[2].stringValue, let mode = fields[3].stringValue.flatMap(PresenceMode.init(rawValue:))
        else { return nil }
        return Entry(region: region, instance: instance, user: user, mode: mode)
    }

    private func mine(user: String, mode: PresenceMode) -> Entry {
        Entry(region: region, instance: instanceID, user: user, mode: mode)
    }

    /// Sends `commands` here and, without waiting, to every other region.
    private func replicate(_ commands: [RESPCommand]) async throws {
        for relay in relays.clients { for command in commands { relay.sendAndForget(command) } }
        try await client.send(commands)
    }

    private var ttlMilliseconds: Int64 { Int64(ttl / .milliseconds(1)) }

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
        _ entries: [(tender: String, user: String, mode: PresenceMode)],
        removing stale: [(tender: String, user: String, mode: PresenceMode)] = []
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
                    RESPArgument(member(mine(user: old.user, mode: old.mode)))))
        }
        for new in entries {
            let key = key(new.tender)
            commands.append(
                RESPCommand(
                    "ZADD", RESPArgument(key), RESPArgument(String(expires)),
                    RESPArgument(member(mine(user: new.user, mode: new.mode)))))
            // The set itself goes once nobody refreshes anything in it.
            commands.append(RESPCommand("PEXPIRE", RESPArgument(key), RESPArgument(Int(2 * ttlMilliseconds))))
        }
        try await replicate(commands)
    }

    /// Who is present on a tender, on any instance: one entry per user (`editing` wins over `viewing`), sorted.
    func list(_ tender: String) async throws -> [(user: String, mode: PresenceMode)] {
        let reply = try await client.send(
            RESPCommand("ZRANGE", RESPArgument(key(tender)), RESPArgument(String(try await now())), "+inf", "BYSCORE"))
        var modes: [String: PresenceMode] = [:]
        for entry in (reply.elements ?? []).compactMap(entry) {
            modes[entry.user] = entry.mode.combined(with: modes[entry.user])
        }
        return modes.sorted { $0.key < $1.key }.map { (user: $0.key, mode: $0.value) }
    }

    /// Removes the entries of this region's instances that expired on `tender` (their instance died), here and
    /// in the other regions; returns the users whose entries this call removed and who are not present any more.
    func sweep(_ tender: String) async throws -> [String] {
        let key = key(tender)
        let now = try await now()
        let expired = try await client.send(
            RESPCommand("ZRANGE", RESPArgument(key), "-inf", RESPArgument(String(now)), "BYSCORE"))
        let members = (expired.elements ?? []).filter { entry($0)?.region == region }
        guard !members.isEmpty else { return [] }
        // ZREM tells which of the sweeping instances removed an entry: only that one announces it.
        let removals = members.compactMap(\.bytes).map { RESPCommand("ZREM", RESPArgument(key), RESPArgument($0)) }
        let removed = try await client.send(removals)
        for relay in relays.clients { for command in removals { relay.sendAndForget(command) } }
        let gone = Set(
            zip(members, removed).compactMap { member, count in count == .integer(1) ? entry(member)?.user : nil })
        guard !gone.isEmpty else { return [] }
        let present = Set(try await list(tender).map(\.user))
        return gone.subtracting(present).sorted()
    }
}
