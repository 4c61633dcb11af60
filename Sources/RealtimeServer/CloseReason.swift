/// Why an Engine.IO session ended. Whether the client may recover its sockets (same ids, same rooms, the events
/// it missed) when it reconnects depends on it, so it is decided here, in one place, and not from log text.
enum CloseReason: Sendable, Equatable, CustomStringConvertible {
    /// The transport went away without the application asking: the WebSocket closed or its TCP connection ended,
    /// or the TCP connection of a held polling GET did.
    case transportClose
    /// The client sent the Engine.IO close packet (`1`). The reference server treats it as a transport close,
    /// and so does Socket.IO's own documentation of connection state recovery (`socket.io.engine.close()`).
    case clientClose
    /// The WebSocket broke the protocol (RFC 6455 violation, reserved bits, invalid UTF-8, oversized message).
    case transportError
    case pingTimeout
    /// SIGTERM: this instance is draining; the client reconnects to another one.
    case serverShuttingDown
    /// The application (or the publish API) disconnected the client.
    case serverDisconnect
    /// A packet that is not Engine.IO or Socket.IO, or one a client may not send.
    case invalidPacket(String)
    /// Two polling GETs, or two POSTs, at once for one session.
    case overlappingPolls
    case payloadTooLarge
    /// The client fell more than the outbound queue limit behind.
    case slowConsumer
    /// More packets waited for their handler than the inbound limit allows.
    case inboxFull
    case rateLimited
    /// No Socket.IO CONNECT within the connect timeout.
    case connectTimeout
    /// A WebSocket upgrade named a session that is not here, or sent something else than probe and upgrade.
    case failedUpgrade(String)
    /// Another connection recovered this socket's session while this instance could not be seen (its Redis
    /// subscriber was away): the socket is that connection's now, and this one goes.
    case sessionTakenOver

    /// Whether a reconnecting client gets its sockets back: the connection dropped, it was not ended on purpose
    /// by either side. (A Socket.IO DISCONNECT, the application leaving, ends recovery before any of these.)
    /// The reference server's list (`RECOVERABLE_DISCONNECT_REASONS`: transport close, transport error, ping
    /// timeout, server shutting down), with the Engine.IO closes it files under them: a client's close packet
    /// and a second GET (engine.io closes both as a transport close or error).
    var isRecoverable: Bool {
        switch self {
        case .transportClose, .clientClose, .transportError, .overlappingPolls, .pingTimeout, .serverShuttingDown:
            true
        default: false
        }
    }

    var description: String {
        switch self {
        case .transportClose: "transport close"
        case .clientClose: "client close"
        case .transportError: "transport error"
        case .pingTimeout: "ping timeout"
        case .serverShuttingDown: "server shutting down"
        case .serverDisconnect: "server disconnect"
        case .invalidPacket(let detail): "invalid packet: \(detail)"
        case .overlappingPolls: "overlapping polling requests"
        case .payloadTooLarge: "payload over maxPayload"
        case .slowConsumer: "slow consumer: outbound queue full"
        case .inboxFull: "inbound queue full"
        case .rateLimited: "event rate limit exceeded"
        case .connectTimeout: "no CONNECT within the connect timeout"
        case .failedUpgrade(let detail): "failed upgrade: \(detail)"
        case .sessionTakenOver: "recovery session taken over by another connection"
        }
    }

    /// The `reason` label of `realtime_sessions_closed_total`: one per case, whatever the detail.
    var metricLabel: String {
        switch self {
        case .transportClose: "transport_close"
        case .clientClose: "client_close"
        case .transportError: "transport_error"
        case .pingTimeout: "ping_timeout"
        case .serverShuttingDown: "server_shutting_down"
        case .serverDisconnect: "server_disconnect"
        case .invalidPacket: "invalid_packet"
        case .overlappingPolls: "overlapping_polls"
        case .payloadTooLarge: "payload_too_large"
        case .slowConsumer: "slow_consumer"
        case .inboxFull: "inbox_full"
        case .rateLimited: "rate_limited"
        case .connectTimeout: "connect_timeout"
        case .failedUpgrade: "failed_upgrade"
        case .sessionTakenOver: "session_taken_over"
        }
    }

    /// Every `metricLabel`, so the counters exist (at zero) before the first close: one close of each case (the
    /// detail of those that carry one does not change the label).
    static let metricLabels = [
        CloseReason.transportClose, .clientClose, .transportError, .pingTimeout, .serverShuttingDown, .serverDisconnect,
        .invalidPacket(""), .overlappingPolls, .payloadTooLarge, .slowConsumer, .inboxFull, .rateLimited,
        .connectTimeout, .failedUpgrade(""), .sessionTakenOver,
    ].map(\.metricLabel)
}
