/// Engine.IO server settings, and the open packet that announces them.
public struct EngineConfiguration: Sendable, Hashable {
    /// Milliseconds between the server's pings.
    public var pingInterval: Int
    /// Milliseconds the client has to answer a ping before the session is closed.
    public var pingTimeout: Int
    /// Largest polling body or WebSocket message accepted, in bytes.
    public var maxPayload: Int
    /// Milliseconds a polling → WebSocket upgrade may take.
    public var upgradeTimeout: Int

    /// Socket.IO's default ping interval, which the reference server keeps unless `PING_INTERVAL_MS` says
    /// otherwise; validation reckons a polling client's requests with it.
    public static let defaultPingInterval = 25_000

    public init(
        pingInterval: Int = defaultPingInterval, pingTimeout: Int = 20_000, maxPayload: Int = 1_000_000,
        upgradeTimeout: Int = 10_000
    ) {
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.maxPayload = maxPayload
        self.upgradeTimeout = upgradeTimeout
    }

    /// `0{"sid":...,"upgrades":[...],"pingInterval":...,"pingTimeout":...,"maxPayload":...}`. Session ids are
    /// generated from a URL-safe alphabet, so they need no escaping.
    public func openPacket(sid: String, upgrades: [String]) -> EnginePacket {
        let list = upgrades.map { "\"\($0)\"" }.joined(separator: ",")
        return EnginePacket(
            .open,
            .text(
                "{\"sid\":\"\(sid)\",\"upgrades\":[\(list)],\"pingInterval\":\(pingInterval),\"pingTimeout\":\(pingTimeout),"
                    + "\"maxPayload\":\(maxPayload)}"))
    }
}

/// The query of an Engine.IO request (`EIO=4&transport=polling&sid=...`), validated.
public struct EngineQuery: Sendable, Hashable {
    public enum Transport: String, Sendable, Hashable {
        case polling
        case websocket
    }

    public var transport: Transport
    public var sid: String?

    /// Throws the error the reference server answers with for a bad query.
    public init(_ parameters: [String: String]) throws {
        guard let protocolVersion = parameters["EIO"] else { throw EngineError(.unsupportedProtocolVersion) }
        guard protocolVersion == "4" else { throw EngineError(.unsupportedProtocolVersion) }
        guard let transport = parameters["transport"].flatMap(Transport.init(rawValue:)) else {
            throw EngineError(.transportUnknown)
        }
        self.transport = transport
        self.sid = parameters["sid"]
    }
}
