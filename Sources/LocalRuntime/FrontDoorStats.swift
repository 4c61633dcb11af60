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

    /// The servers of `backend` the front door routes new requests to now, by its own health checks (`show stat`:
    /// `UP`, or `UP 1/3` while a failing one is still counted up; not `DOWN`, `DOWN 1/2` on its way up, `MAINT`).
    /// nil when haproxy does not answer. The supervisor's readiness probe is not haproxy's: an instance restarted
    /// after a crash is ready at once but stays out of rotation until `rise` checks have passed.
    public static func routable(backend: String) -> Set<String>? {
        guard let answer = PortProbe.exchange(unixSocket: socket, "show stat\n") else { return nil }
        let lines = String(decoding: answer, as: UTF8.self).split(separator: "\n")
        // The first line names the columns: `# pxname,svname,...,status,...`.
        guard let header = lines.first, header.hasPrefix("# ") else { return nil }
        let columns = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false)
        guard let name = columns.firstIndex(of: "svname"), let status = columns.firstIndex(of: "status") else {
            return nil
        }
        var servers: Set<String> = []
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count > max(name, status), fields[0] == backend,
                fields[status].hasPrefix("UP") || fields[status] == "no check"
            else { continue }
            servers.insert(String(fields[name]))
        }
        return servers
    }
}
