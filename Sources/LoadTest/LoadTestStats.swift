import Histogram

/// What one event loop's clients measured; merged at the end. Touched only on its own event loop.
final class LoadTestStats: @unchecked Sendable {
    /// Delivery latency: intended publish time to receipt, in microseconds.
    var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    /// Connection time: TCP connect to the namespace's CONNECT answer, in microseconds.
    var connectTime = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    var connected = 0
    /// Clients that subscribed at least once.
    var subscribed = 0
    /// Clients subscribed now, by room index (a gauge: down when a subscribed client's connection closes).
    var subscribedByRoom: [Int: Int] = [:]
    var deliveries = 0
    /// Errors by kind (`connect_refused`, `connect_error`, `closed`, ...).
    var errors: [String: Int] = [:]
    var reconnects = 0
    /// Reconnections whose CONNECT answer carried the same socket id: the server recovered the session.
    var recoveries = 0

    func error(_ kind: String) { errors[kind, default: 0] += 1 }

    var subscribedNow: Int { subscribedByRoom.values.reduce(0, +) }

    /// A copy, taken on the stats' own event loop, for the thread that merges the loops' figures.
    func copy() -> LoadTestStats {
        let copy = LoadTestStats()
        copy.merge(self)
        return copy
    }

    func merge(_ other: LoadTestStats) {
        latency.add(other.latency)
        connectTime.add(other.connectTime)
        connected += other.connected
        subscribed += other.subscribed
        for (room, count) in other.subscribedByRoom { subscribedByRoom[room, default: 0] += count }
        deliveries += other.deliveries
        for (kind, count) in other.errors { errors[kind, default: 0] += count }
        reconnects += other.reconnects
        recoveries += other.recoveries
    }
}
