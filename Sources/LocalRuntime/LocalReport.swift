import Foundation
import JSON

/// What tfctl prints about a local run: the changes an apply makes, the ready message with the URL and a client
/// example, and `status`.
public enum LocalReport {
    public static func changes(_ changes: LocalChanges) -> String {
        var lines: [String] = []
        for (verb, ids) in [("start", changes.start), ("restart", changes.restart), ("stop", changes.stop)]
        where !ids.isEmpty {
            lines += ids.map { id in
                // The front door takes a new configuration without a restart (haproxy's master reloads it).
                let shown = verb == "restart" && id == LocalProcess.Kind.frontDoor.rawValue ? "reload" : verb
                return "  \(verb == "start" ? "+" : verb == "stop" ? "-" : "~") \(shown) \(id)"
            }
        }
        let summary =
            "Local: \(changes.start.count) to start, \(changes.restart.count) to restart (one at a time), "
            + "\(changes.stop.count) to stop."
        return (lines + [summary]).joined(separator: "\n") + "\n"
    }

    /// The message once the run is ready: the URL, and a command that works when pasted.
    public static func ready(_ spec: LocalSpec, directory: LocalStateDirectory) -> String {
        let state = ".tfctl/local/\(spec.environment)"
        return """
            The local run of \(spec.environment) is ready: \(spec.processes.count) processes, front door on \(spec.url)
              Try it:  curl -s '\(spec.url)/socket.io/?EIO=4&transport=polling'
              Status:  tfctl status --env \(spec.environment)
              Logs:    \(state)/logs/ (tfctl up --env \(spec.environment) --follow shows them as they come)
              Secrets: \(state)/secrets/ (local values; a JWT public key's private key is beside it, to sign test tokens)
              Stop:    tfctl destroy --env \(spec.environment) --target local

            """
    }

    /// One row of `status`.
    public struct Row: Sendable {
        public var id: String
        public var health: String
        public var pid: Int32
        public var port: Int
        public var uptimeSeconds: Int
        public var restarts: Int
        public var connections: Int?
        public var rooms: Int?
    }

    public struct StatusReport: Sendable {
        public var environment: String?
        public var supervision: String
        public var phase: String?
        public var error: String?
        public var url: String?
        public var rows: [Row]

        public var text: String {
            guard !rows.isEmpty || phase != nil else {
                return supervision == "none"
                    ? "Nothing runs locally for this environment (tfctl up --env ENV starts it).\n"
                    : "The supervisor is gone; processes of its run are left: \(supervision).\n"
            }
            var lines = [
                "Local run\(environment.map { " of \($0)" } ?? ""): \(phase ?? "unknown")\(url.map { ", \($0)" } ?? "")"
            ]
            if let error { lines.append("Error: \(error)") }
            let header = ["PROCESS", "HEALTH", "PID", "PORT", "UPTIME", "RESTARTS", "CONNECTIONS", "ROOMS"]
            let table =
                [header]
                + rows.map {
                    [
                        $0.id, $0.health, "\($0.pid)", "\($0.port)", LocalReport.duration($0.uptimeSeconds),
                        "\($0.restarts)", $0.connections.map(String.init) ?? "-", $0.rooms.map(String.init) ?? "-",
                    ]
                }
            let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
            for row in table {
                lines.append(
                    row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                        .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
            }
            return lines.joined(separator: "\n") + "\n"
        }

        public var json: JSONValue {
            var members: [(key: String, value: JSONValue)] = [(key: "supervision", value: .string(supervision))]
            if let environment { members.append((key: "environment", value: .string(environment))) }
            if let phase { members.append((key: "phase", value: .string(phase))) }
            if let error { members.append((key: "error", value: .string(error))) }
            if let url { members.append((key: "url", value: .string(url))) }
            members.append(
                (
                    key: "processes",
                    value: .array(
                        rows.map { row in
                            var item: [(key: String, value: JSONValue)] = [
                                (key: "id", value: .string(row.id)), (key: "health", value: .string(row.health)),
                                (key: "pid", value: .number(Double(row.pid))),
                                (key: "port", value: .number(Double(row.port))),
                                (key: "uptime_seconds", value: .number(Double(row.uptimeSeconds))),
                                (key: "restarts", value: .number(Double(row.restarts))),
                            ]
                            if let connections = row.connections {
                                item.append((key: "connections", value: .number(Double(connections))))
                            }
                            if let rooms = row.rooms { item.append((key: "rooms", value: .number(Double(rooms)))) }
                            return .object(item)
                        })
                ))
            return .object(members)
        }
    }

    public static func status(directory: LocalStateDirectory, supervision: LocalController.Supervision)
        -> StatusReport
    {
        let spec = directory.readSpec()
        let described: String
        switch supervision {
        case .none: described = "none"
        case .running(let pid): described = "running (pid \(pid))"
        case .stale(let pids): described = "gone, left pids " + pids.map(String.init).joined(separator: " ")
        }
        guard let state = directory.readState(), supervision != .none else {
            return StatusReport(environment: spec?.environment, supervision: described, rows: [])
        }
        let now = Date().timeIntervalSince1970
        let rows = state.processes.map { process -> Row in
            let definition = spec?.process(process.id)
            var health = process.status.rawValue
            if process.status != .crashed {
                if !ProcessControl.isAlive(process.pid) {
                    health = "down"
                } else if let definition {
                    // Probed now; Redis by the supervisor's word (a probe of a TLS port logs a failed handshake).
                    let ready = definition.readiness.answersNow ?? (process.status == .ready)
                    health = ready ? "ready" : process.status == .starting ? "starting" : "unhealthy"
                }
            }
            var connections: Int?
            var rooms: Int?
            if let metricsPort = definition?.metricsPort, health == "ready",
                let metrics = PortProbe.get(metricsPort, "/metrics"), metrics.status == 200
            {
                connections = sum("realtime_connections", in: metrics.body)
                rooms = sum("realtime_rooms", in: metrics.body)
            }
            return Row(
                id: process.id, health: health, pid: process.pid, port: process.port,
                uptimeSeconds: max(0, Int(now - process.startedAt)), restarts: process.restarts,
                connections: connections, rooms: rooms)
        }
        return StatusReport(
            environment: spec?.environment, supervision: described, phase: state.phase.rawValue, error: state.error,
            url: spec?.url, rows: rows)
    }

    /// Every server instance's metrics as one Prometheus exposition, each sample labelled with its instance
    /// (`instance="realtime/us-central1/1"`, as the sidecar labels a Cloud Run instance's), each metric's `# HELP`
    /// and `# TYPE` once: what `tfctl status --metrics` prints, and what a local Prometheus could scrape from a
    /// file. Instances that do not answer are named in a comment.
    public static func metrics(directory: LocalStateDirectory) -> String {
        guard let spec = directory.readSpec() else { return "" }
        var out = ""
        var described: Set<String> = []
        for process in spec.processes {
            guard let port = process.metricsPort else { continue }
            guard let answer = PortProbe.get(port, "/metrics"), answer.status == 200 else {
                out += "# \(process.id): no answer on its metrics port \(port)\n"
                continue
            }
            for line in answer.body.split(separator: "\n", omittingEmptySubsequences: true) {
                if line.hasPrefix("#") {
                    if described.insert(String(line)).inserted { out += line + "\n" }
                    continue
                }
                out += labelled(line, instance: process.id) + "\n"
            }
        }
        return out
    }

    /// A sample line with `instance="ID"` first among its labels.
    static func labelled(_ line: Substring, instance: String) -> String {
        let label = "instance=\"\(instance)\""
        if let brace = line.firstIndex(of: "{") {
            let rest = line[line.index(after: brace)...]
            return line[...brace] + label + (rest.hasPrefix("}") ? "" : ",") + rest
        }
        guard let space = line.firstIndex(of: " ") else { return String(line) }
        return line[..<space] + "{" + label + "}" + line[space...]
    }

    /// The sum of a Prometheus metric's samples over its labels; nil when the server does not export it.
    static func sum(_ metric: String, in text: String) -> Int? {
        var total: Double?
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let name = line.prefix { $0 != "{" && $0 != " " }
            guard name == metric, let value = line.split(separator: " ").last.flatMap({ Double($0) }) else {
                continue
            }
            total = (total ?? 0) + value
        }
        return total.map { Int($0) }
    }

    static func duration(_ seconds: Int) -> String {
        seconds < 60
            ? "\(seconds)s"
            : seconds < 3600 ? "\(seconds / 60)m\(seconds % 60)s" : "\(seconds / 3600)h\(seconds / 60 % 60)m"
    }
}
