import Foundation
import JSON

/// What the supervisor reports of a local run (`state.json`), for `apply` to wait on and `status` to show.
public struct LocalState: Sendable, Hashable {
    public static let format = "tfctl.local-state/v1"

    public enum Phase: String, Sendable, Hashable {
        /// Starting or changing processes.
        case applying
        /// Every process of the applied spec is ready.
        case ready
        /// A step failed; `error` says which and why. What did start keeps running.
        case failed
        case stopping
    }

    public struct Process: Sendable, Hashable {
        public enum Status: String, Sendable, Hashable {
            case starting, ready
            /// Exited on its own; started again after a pause that grows with each crash.
            case crashed
        }

        public var id: String
        public var pid: Int32
        /// The kernel's start time of the process: a pid later reused by another process has another.
        public var startTime: UInt64
        public var port: Int
        /// Seconds since 1970 when the current run of the process started.
        public var startedAt: Double
        /// How often it was started again after crashing.
        public var restarts: Int
        public var status: Status

        public init(
            id: String, pid: Int32, startTime: UInt64, port: Int, startedAt: Double, restarts: Int, status: Status
        ) {
            self.id = id
            self.pid = pid
            self.startTime = startTime
            self.port = port
            self.startedAt = startedAt
            self.restarts = restarts
            self.status = status
        }
    }

    public var supervisor: Int32
    /// The spec generation applied (or being applied).
    public var generation: Int
    public var phase: Phase
    public var error: String?
    public var processes: [Process]

    public init(supervisor: Int32, generation: Int, phase: Phase, error: String? = nil, processes: [Process] = []) {
        self.supervisor = supervisor
        self.generation = generation
        self.phase = phase
        self.error = error
        self.processes = processes
    }

    public var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            (key: "format", value: .string(Self.format)),
            (key: "supervisor", value: .number(Double(supervisor))),
            (key: "generation", value: .number(Double(generation))),
            (key: "phase", value: .string(phase.rawValue)),
        ]
        if let error { members.append((key: "error", value: .string(error))) }
        members.append(
            (
                key: "processes",
                value: .array(
                    processes.map {
                        .object([
                            (key: "id", value: .string($0.id)), (key: "pid", value: .number(Double($0.pid))),
                            (key: "start_time", value: .number(Double($0.startTime))),
                            (key: "port", value: .number(Double($0.port))),
                            (key: "started_at", value: .number($0.startedAt)),
                            (key: "restarts", value: .number(Double($0.restarts))),
                            (key: "status", value: .string($0.status.rawValue)),
                        ])
                    })
            ))
        return .object(members)
    }

    public init?(json: JSONValue) {
        guard json["format"]?.stringValue == Self.format, let supervisor = json["supervisor"]?.numberValue,
            let generation = json["generation"]?.numberValue,
            let phase = json["phase"]?.stringValue.flatMap(Phase.init(rawValue:)),
            let processes = json["processes"]?.arrayValue
        else { return nil }
        self.init(
            supervisor: Int32(supervisor), generation: Int(generation), phase: phase, error: json["error"]?.stringValue,
            processes: processes.compactMap { item in
                guard let id = item["id"]?.stringValue, let pid = item["pid"]?.numberValue,
                    let port = item["port"]?.numberValue, let started = item["started_at"]?.numberValue,
                    let restarts = item["restarts"]?.numberValue,
                    let status = item["status"]?.stringValue.flatMap(Process.Status.init(rawValue:))
                else { return nil }
                return Process(
                    id: id, pid: Int32(pid), startTime: UInt64(item["start_time"]?.numberValue ?? 0), port: Int(port),
                    startedAt: started, restarts: Int(restarts),
                    status: status)
            })
    }
}
