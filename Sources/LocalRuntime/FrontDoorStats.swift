/// The front door's runtime API (haproxy's stats socket, a Unix socket in the state directory, readable by the
/// user only), which the supervisor uses during a rolling restart: an instance is taken out of rotation before it
/// is stopped, as Cloud Run stops routing to an instance before it sends SIGTERM, and the next one waits until the
/// front door has taken the restarted one back (`UP`).
public enum FrontDoorStats {
    /// The socket's path, relative to the state directory: the supervisor and haproxy both run there, and a
    /// Unix socket's path must fit in 108 bytes, which a state directory's full path may not.
    public static let socket = "front-door.sock"

    /// How haproxy sees a server: `UP`, `DOWN`, `MAINT`, or a transition such as `UP 1/2`.
    public static func status(backend: String, server: String) -> String? {
        guard let answer = PortProbe.exchange(unixSocket: socket, "show stat\n") else { return nil }
        let lines = String(decoding: answer, as: UTF8.self).split(separator: "\n")
        guard let header = lines.first, header.hasPrefix("# ") else { return nil }
        let columns = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false)
        guard let status = columns.firstIndex(of: "status") else { return nil }
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            if fields.count > status, fields[0] == backend, fields[1] == server { return String(fields[status]) }
        }
        return nil
    }

    /// Puts a server in maintenance (no new requests, its cookie clients sent elsewhere; open connections stay)
    /// or back in rotation. Answers whether haproxy took the command.
    @discardableResult
    public static func set(backend: String, server: String, maintenance: Bool) -> Bool {
        let command = "set server \(backend)/\(server) state \(maintenance ? "maint" : "ready")\n"
        guard let answer = PortProbe.exchange(unixSocket: socket, command) else { return false }
        return answer.allSatisfy { $0 == 10 || $0 == 13 || $0 == 32 }
    }
}
