/// The front door's runtime API (haproxy's stats socket, a Unix socket in the state directory, readable by the
/// user only), which the supervisor uses during a rolling restart or a scale-down: an instance is taken out of
/// rotation before it is stopped, as Cloud Run stops routing to an instance before it sends SIGTERM, and put back
/// once it runs again (haproxy's health check keeps it out until it answers).
public enum FrontDoorStats {
    /// The socket's path, relative to the state directory: the supervisor and haproxy both run there, and a
    /// Unix socket's path must fit in 108 bytes, which a state directory's full path may not.
    public static let socket = "front-door.sock"

    /// Puts a server in maintenance (no new requests, its cookie clients sent elsewhere; open connections stay)
    /// or back in rotation. Answers whether haproxy took the command.
    @discardableResult
    public static func set(backend: String, server: String, maintenance: Bool) -> Bool {
        let command = "set server \(backend)/\(server) state \(maintenance ? "maint" : "ready")\n"
        // haproxy answers a command it took with an empty line, and one it refused with the reason.
        guard let answer = PortProbe.exchange(unixSocket: socket, command), !answer.isEmpty else { return false }
        return answer.allSatisfy { $0 == 10 || $0 == 13 || $0 == 32 }
    }
}
