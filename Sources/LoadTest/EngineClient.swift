import JSON

/// One load-test client's Socket.IO conversation on `/tenders`, whichever transport carries it: answer the open
/// packet with CONNECT (and, when reconnecting, the private id and offset that recover the session), subscribe to
/// its room once connected, answer pings, and time every `tender:update` from the moment it was meant to be
/// published. Runs on one event loop; `received` answers what to send back.
final class EngineClient: @unchecked Sendable {
    enum Phase {
        case opening, connecting, subscribing, subscribed, closed
    }

    static let namespace = "/tenders"

    let index: Int
    let room: Int
    let tender: String
    /// The members of the CONNECT's auth object.
    let auth: [(key: String, value: JSONValue)]
    let stats: LoadTestStats
    /// Uptime nanoseconds the publisher's `sent` fields count from (small numbers: JSON carries them exactly).
    let origin: UInt64
    var phase = Phase.opening
    /// Uptime nanoseconds when the current connection attempt began.
    var attemptStarted: UInt64 = 0
    /// From the CONNECT answer: the socket id and private id, for a recovery on reconnect.
    var sid: String?
    var pid: String?
    /// The offset of the last event received, for a recovery.
    var offset: String?
    var reconnecting = false
    /// Connection attempts that failed since the last success: the pause before the next grows with them.
    var failedAttempts = 0
    /// The affinity cookie the front door set (`NAME=value`), sent back as a browser would.
    var cookie: String?
    /// The Engine.IO session (polling keeps it across a new TCP connection, as a browser does).
    var engineSid: String?
    /// The transport is to close the connection: the server closed the session or the namespace.
    var closeRequested = false
    /// Subscribed once: later subscriptions (after a reconnect that was not recovered) are not counted again.
    private var everSubscribed = false

    init(index: Int, room: Int, tender: String, auth: JSONValue, stats: LoadTestStats, origin: UInt64 = 0) {
        self.index = index
        self.room = room
        self.tender = tender
        if case .object(let members) = auth { self.auth = members } else { self.auth = [] }
        self.stats = stats
        self.origin = origin
    }

    /// The connection closed: a subscribed client no longer counts as subscribed.
    func connectionClosed() {
        if phase == .subscribed { stats.subscribedByRoom[room, default: 0] -= 1 }
        if phase != .closed { phase = .opening }
        closeRequested = false
    }

    private func becomeSubscribed() {
        if phase != .subscribed { stats.subscribedByRoom[room, default: 0] += 1 }
        phase = .subscribed
    }

    /// The CONNECT packet: the auth object, with `pid` and `offset` once there is a session to recover.
    var connectPacket: String {
        var members = auth
        if let pid, let offset {
            members.append((key: "pid", value: .string(pid)))
            members.append((key: "offset", value: .string(offset)))
        }
        return "40\(Self.namespace)," + JSONValue.object(members).serialized()
    }

    var subscribePacket: String {
        "42\(Self.namespace),1"
            + JSONValue.array([
                .string("subscribe"), .object([(key: "tenderId", value: .string(tender))]),
            ]).serialized()
    }

    /// Handles one Engine.IO packet (a WebSocket text frame, or one packet of a polling payload); answers the
    /// packets to send back. `now`: uptime nanoseconds.
    func received(_ packet: UnsafeRawBufferPointer, now: UInt64) -> [String] {
        guard let kind = packet.first else { return [] }
        switch kind {
        case UInt8(ascii: "2"):
            return ["3"]  // ping → pong
        case UInt8(ascii: "0"):
            phase = .connecting
            let open = JSONValue.parse(Substring(String(decoding: packet.dropFirst(), as: UTF8.self)))
            engineSid = open?["sid"]?.stringValue
            return [connectPacket]
        case UInt8(ascii: "4"):
            return message(packet, now: now)
        case UInt8(ascii: "1"):
            // The server closed the Engine.IO session: a new one, on a new connection.
            stats.error("closed_by_server")
            engineSid = nil
            closeRequested = true
            return []
        default:
            return []
        }
    }

    private static let update = Array("42/tenders,[\"tender:update\"".utf8)
    private static let sentKey = Array("\"sent\":".utf8)

    private func message(_ packet: UnsafeRawBufferPointer, now: UInt64) -> [String] {
        // The hot path first: an event, timed without parsing the whole payload.
        if packet.starts(with: Self.update) {
            stats.deliveries += 1
            if let sent = Self.integer(after: Self.sentKey, in: packet), now > origin &+ sent {
                _ = stats.latency.record((now - origin - sent) / 1000)
            }
            offset = Self.lastString(in: packet) ?? offset
            return []
        }
        let text = String(decoding: packet, as: UTF8.self)
        let connect = "40\(Self.namespace),"
        if text.hasPrefix(connect) {
            let answer = JSONValue.parse(text.dropFirst(connect.count))
            let newSid = answer?["sid"]?.stringValue
            // Recovered: the same socket, which the server has put back in its rooms with what it missed.
            let recovered = reconnecting && newSid != nil && newSid == sid
            if reconnecting {
                stats.reconnects += 1
                if recovered { stats.recoveries += 1 }
            } else {
                stats.connected += 1
                _ = stats.connectTime.record((now &- attemptStarted) / 1000)
            }
            sid = newSid
            pid = answer?["pid"]?.stringValue ?? pid
            failedAttempts = 0
            reconnecting = false
            if recovered {
                becomeSubscribed()
                return []
            }
            phase = .subscribing
            return [subscribePacket]
        }
        if text.hasPrefix("43\(Self.namespace),1") {
            guard text.contains("\"ok\":true") else {
                stats.error("subscribe_refused")
                return []
            }
            if !everSubscribed {
                everSubscribed = true
                stats.subscribed += 1
            }
            becomeSubscribed()
            return []
        }
        if text.hasPrefix("41\(Self.namespace),") {
            // The server disconnected the namespace: connect again, as socket.io-client does after a drop.
            stats.error("namespace_disconnected")
            closeRequested = true
            return []
        }
        if text.hasPrefix("44\(Self.namespace),") {
            stats.error("connect_refused")
            phase = .closed
        }
        return []
    }

    /// The decimal integer after `key` in `bytes`.
    static func integer(after key: [UInt8], in bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard bytes.count > key.count else { return nil }
        var index = 0
        outer: while index <= bytes.count - key.count {
            for offset in 0..<key.count where bytes[index + offset] != key[offset] {
                index += 1
                continue outer
            }
            var value: UInt64 = 0
            var position = index + key.count
            var digits = 0
            while position < bytes.count, bytes[position] >= 48, bytes[position] <= 57 {
                value = value &* 10 &+ UInt64(bytes[position] - 48)
                position += 1
                digits += 1
            }
            return digits > 0 ? value : nil
        }
        return nil
    }

    /// The last JSON string of an event's argument list (`[..., "offset"]`): its recovery offset.
    static func lastString(in bytes: UnsafeRawBufferPointer) -> String? {
        guard bytes.count >= 3, bytes[bytes.count - 1] == UInt8(ascii: "]"),
            bytes[bytes.count - 2] == UInt8(ascii: "\"")
        else { return nil }
        var start = bytes.count - 3
        while start >= 0, bytes[start] != UInt8(ascii: "\"") { start -= 1 }
        guard start >= 0 else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<(bytes.count - 2)]), as: UTF8.self)
    }
}
