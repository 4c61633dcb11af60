import NIOCore

/// What a message on one of the cluster's Redis channels carries. Every wire format begins with its own tag
/// byte, so the first byte tells them apart; the formats are documented where each is encoded.
enum ClusterPayloadKind: Sendable, Equatable {
    /// A broadcast envelope (`ClusterMessage`), whose first byte is its version.
    case broadcast
    /// A broadcast kept for recovery: `@<stream id>\n` and the envelope (`ClusterRecovery`).
    case recoverableBroadcast
    /// A long-polling request (`Q`) or its answer (`R`) for a session of another instance (`ForwardedPolling`).
    case forwardedPolling
    /// A cluster-wide question (`C`) or an answer (`A`) (`ClusterQueryMessage`).
    case query

    /// The kind of `payload`; nil for a first byte no format starts with.
    init?(_ payload: ByteBuffer) {
        switch payload.getInteger(at: payload.readerIndex, as: UInt8.self) {
        case ClusterMessage.version: self = .broadcast
        case UInt8(ascii: "@"): self = .recoverableBroadcast
        case UInt8(ascii: "Q"), UInt8(ascii: "R"): self = .forwardedPolling
        case UInt8(ascii: "C"), UInt8(ascii: "A"): self = .query
        default: return nil
        }
    }
}
