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

    /// The tenders this instance has subscribers in, sorted: the ones whose lapsed leases it sweeps too.
    var watchedTenders: [String] { watched.keys.sorted() }

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
