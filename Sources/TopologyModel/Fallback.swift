/// The Firebase Realtime Database fallback channel for clients that cannot keep a WebSocket open.
public struct FirebaseFallback: Sendable, Hashable {
    public var enabled: Bool
    /// The RTDB location; RTDB exists only in a few regions.
    public var location: String
    /// The globally unique database instance id; derived from project and topology name when `nil`.
    public var instanceID: String?

    public init(enabled: Bool = true, location: String = "us-central1", instanceID: String? = nil) {
        self.enabled = enabled
        self.location = location
        self.instanceID = instanceID
    }
}

/// The load the topology is declared to carry; validation checks the scaling limits hold it.
public struct Capacity: Sendable, Hashable {
    public var peakConnections: Int
    public var peakMessagesPerSecond: Int
    /// Spare fraction required above the peak, e.g. 0.25 = room for 125 % of peak.
    public var headroom: Double

    public init(peakConnections: Int, peakMessagesPerSecond: Int, headroom: Double = 0.25) {
        self.peakConnections = peakConnections
        self.peakMessagesPerSecond = peakMessagesPerSecond
        self.headroom = headroom
    }

    /// Connections the scaling limits must hold: the peak plus headroom, rounded up.
    public var requiredConnections: Int {
        let required = (Double(peakConnections) * (1 + headroom)).rounded(.up)
        guard required.isFinite else { return required > 0 ? Int.max : 0 }
        return required >= Double(Int.max) ? Int.max : max(0, Int(required))
    }
}
