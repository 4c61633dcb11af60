/// The longest room or user name the server takes, in UTF-8 bytes, from a client, a token or the publish API.
/// Names travel between instances behind a 16-bit length (`ClusterMessage`); this bound is far below it, so a
/// long name is refused where it comes in, with an error that says so, and never reaches the wire.
public enum NameLimits {
    public static let maxBytes = 256

    /// Whether `name` is within the bound.
    public static func fits(_ name: String) -> Bool { name.utf8.count <= maxBytes }
}

/// A token bucket: `rate` tokens per second up to `burst`; each event takes one.
public struct TokenBucket: Sendable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant

    public init(rate: Double, burst: Double, now: ContinuousClock.Instant = .now) {
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.last = now
    }

    /// Takes a token if there is one.
    public mutating func take(now: ContinuousClock.Instant = .now) -> Bool {
        let elapsed = now - last
        last = now
        tokens = min(burst, tokens + elapsed / .seconds(1) * rate)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}

/// How many sockets each user has open on this instance, to cap them.
actor UserConnections {
    private var counts: [String: Int] = [:]

    /// Counts a new socket of `user`; false (and not counted) when the user already has `limit`.
    func open(_ user: String, limit: Int) -> Bool {
        let count = counts[user, default: 0]
        guard count < limit else { return false }
        counts[user] = count + 1
        return true
    }

    func close(_ user: String) {
        guard let count = counts[user] else { return }
        counts[user] = count > 1 ? count - 1 : nil
    }
}
