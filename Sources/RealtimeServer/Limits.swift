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
