import Logging

/// The audit trail of Socket.IO connections: one structured log line (Cloud Logging's `jsonPayload`) per CONNECT
/// accepted or refused, with the user, the namespace, the client's address, the transport and, for a refusal, the
/// reason. `AUDIT_SAMPLE_RATE` (0 to 1, default 1: every line) keeps a fraction of them, for services where a
/// line per connection costs more than it tells. Query in Cloud Logging: `jsonPayload.event="connection_audit"`,
/// with `jsonPayload.outcome="refused"` for the refusals.
struct ConnectionAudit: Sendable {
    enum Outcome: String, Sendable { case accepted, refused }

    /// At info whatever LOG_LEVEL says: an audit trail is not filtered by verbosity (`sampleRate` thins it).
    let logger: Logger
    let sampleRate: Double

    init(logger: Logger, sampleRate: Double) {
        var logger = logger
        logger.logLevel = .info
        self.logger = logger
        self.sampleRate = sampleRate
    }

    /// Writes the line for one CONNECT (when it is sampled).
    func record(
        _ outcome: Outcome, user: String?, namespace: String, client: String?, transport: String,
        socket: String? = nil, reason: String? = nil
    ) {
        guard sampleRate >= 1 || Double.random(in: 0..<1) < sampleRate else { return }
        var metadata: Logger.Metadata = [
            "event": "connection_audit", "outcome": "\(outcome.rawValue)",
            "namespace": "\(Self.clamped(namespace))", "transport": "\(transport)",
        ]
        if let user { metadata["user"] = "\(Self.clamped(user))" }
        if let client { metadata["client_ip"] = "\(client)" }
        if let socket { metadata["socket"] = "\(socket)" }
        if let reason { metadata["reason"] = "\(reason)" }
        logger.info("connection \(outcome.rawValue)", metadata: metadata)
    }

    /// What a client wrote (a refused namespace may be a megabyte) is logged up to this many characters.
    static let maxField = 128

    static func clamped(_ value: String) -> String {
        value.count <= maxField ? value : String(value.prefix(maxField)) + "…"
    }

    /// The client's address from the `X-Forwarded-For` of the request that opened the session. The global external
    /// Application Load Balancer appends `<immediate client IP>, <forwarding rule IP>` to whatever the client sent
    /// ("Only the <immediate client IP> and <global forwarding rule external IP> entries are provided by the load
    /// balancer. All other entries in the list are passed along without verification": its documentation), so
    /// the address is the second entry from the end; with one entry (Cloud Run reached directly, from inside the
    /// VPC), that entry. `forwardedFor` holds the header's values (a request may repeat it); nil without any.
    static func clientAddress(forwardedFor: [String]) -> String? {
        let entries = forwardedFor.joined(separator: ",").split(separator: ",").map {
            $0.filter { $0 != " " && $0 != "\t" }
        }
        .filter { !$0.isEmpty }
        let address = entries.count >= 2 ? entries[entries.count - 2] : entries.first
        // Only what an address is made of: the header is the client's to write.
        guard let address, address.count <= 45,
            address.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" })
        else { return nil }
        return address
    }
}
