import Histogram

/// What one event loop's clients measured; merged at the end. Touched only on its own event loop.
final class LoadTestStats: @unchecked Sendable {
    /// Delivery latency: intended publish time to receipt, in microseconds.
    var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    /// Connection time: TCP connect to the namespace's CONNECT answer, in microseconds.
    var connectTime = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    var connected = 0
    var subscribed = 0
    var deliveries = 0
    /// Errors by kind (`connect_refused`, `connect_error`, `closed`, ...).
    var errors: [String: Int] = [:]
    var reconnects = 0
    /// Reconnections whose CONNECT answer carried the same socket id: the server recovered the session.
    var recoveries = 0

    func error(_ kind: String) { errors[kind, default: 0] += 1 }

    func merge(_ other: LoadTestStats) {
        latency.add(other.latency)
        connectTime.add(other.connectTime)
        connected += other.connected
        subscribed += other.subscribed
        deliveries += other.deliveries
        for (kind, count) in other.errors { errors[kind, default: 0] += count }
        reconnects += other.reconnects
        recoveries += other.recoveries
    }
}
