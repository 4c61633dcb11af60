import Synchronization

/// This instance's part of TenderFlow's collaboration features: presence, the edit leases its sockets hold
/// (renewed every heartbeat, released when they leave), the users it has sockets of (held online), and the
/// shared state in Redis, once the cluster is there (`connect`). Without Redis there is no shared state, and
/// the features that need it answer that it is unavailable.
final class Collaboration: Sendable {
    let presence: Presence
    let leases = HeldLeases()
    let online = OnlineUsers()
    private let shared = Mutex<TenderCoordination?>(nil)

    init(presence: Presence) { self.presence = presence }

    var coordination: TenderCoordination? { shared.withLock { $0 } }

    /// From now on leases, versions, comments, jobs, activity and online status live in Redis.
    func connect(_ coordination: TenderCoordination) { shared.withLock { $0 = coordination } }
}

/// The edit leases held by sockets of this instance.
actor HeldLeases {
    struct Lease: Hashable, Sendable {
        var tender: String
        var section: String
    }

    /// Most leases one socket holds at once: each is renewed every heartbeat.
    static let maxPerSocket = 10

    private var bySocket: [String: Set<Lease>] = [:]

    /// Whether the socket may hold one more lease (or holds this one already).
    func mayHold(_ lease: Lease, socketID: String) -> Bool {
        let held = bySocket[socketID] ?? []
        return held.contains(lease) || held.count < Self.maxPerSocket
    }

    func hold(_ lease: Lease, socketID: String) { bySocket[socketID, default: []].insert(lease) }

    func drop(_ lease: Lease, socketID: String) {
        bySocket[socketID]?.remove(lease)
        if bySocket[socketID]?.isEmpty == true { bySocket[socketID] = nil }
    }

    /// Forgets and returns a socket's leases (of one tender, or all), sorted.
    func take(socketID: String, tender: String? = nil) -> [Lease] {
        let held = (bySocket[socketID] ?? []).filter { tender == nil || $0.tender == tender }
        for lease in held { drop(lease, socketID: socketID) }
        return held.sorted { ($0.tender, $0.section) < ($1.tender, $1.section) }
    }

    /// Every lease held here, with its socket, sorted.
    var all: [(socketID: String, lease: Lease)] {
        bySocket.flatMap { socketID, leases in leases.map { (socketID: socketID, lease: $0) } }
            .sorted {
                ($0.socketID, $0.lease.tender, $0.lease.section) < ($1.socketID, $1.lease.tender, $1.lease.section)
            }
    }
}

/// The users this instance has sockets of, and its hold on their online status. Redis is written from inside
/// the actor, before any suspension: a user's hold and release reach Redis in the order their sockets came and
/// went.
actor OnlineUsers {
    private var sockets: [String: Int] = [:]

    /// A socket of `user` connected; true when this makes them online (announce it).
    func connected(_ user: String, _ coordination: TenderCoordination?) async -> Bool {
        sockets[user, default: 0] += 1
        guard sockets[user] == 1, let reply = coordination?.submitHolds([user]) else { return false }
        return (try? await reply.get())?.first == true
    }

    /// A socket of `user` went; their status is settled after the debounce when it was their last here.
    func disconnected(_ user: String, _ coordination: TenderCoordination?) {
        guard let count = sockets[user] else { return }
        guard count == 1 else {
            sockets[user] = count - 1
            return
        }
        sockets[user] = nil
        coordination?.releaseStatus(user)
    }

    /// Refreshes this instance's holds; returns the users that were not online (their hold had lapsed while
    /// Redis was away, and someone announced them offline): announce them online again.
    func refresh(_ coordination: TenderCoordination) async -> [String] {
        let users = sockets.keys.sorted()
        guard !users.isEmpty, let reply = coordination.submitHolds(users), let made = try? await reply.get() else {
            return []
        }
        return zip(users, made).compactMap { user, online in online ? user : nil }
    }
}
