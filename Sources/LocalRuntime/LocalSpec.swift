import JSON

/// What `apply --target local` runs: every process of the topology on this machine, in start order, with exactly
/// the command, environment and files it gets. The supervisor runs this; `plan --target local` diffs two of them.
public struct LocalSpec: Sendable, Hashable {
    public static let format = "tfctl.local-spec/v1"

    /// The environment's name (`dev`), which names the state directory.
    public var environment: String
    /// Raised by every apply that changes something; the supervisor reports the one it has applied.
    public var generation: Int
    /// The front door's URL.
    public var url: String
    public var processes: [LocalProcess]
    /// Files written under the state directory before anything starts (relative path → content): the front
    /// door's configuration, the relay endpoints document.
    public var files: [String: String]

    public init(environment: String, generation: Int, url: String, processes: [LocalProcess], files: [String: String]) {
        self.environment = environment
        self.generation = generation
        self.url = url
        self.processes = processes
        self.files = files
    }

    public func process(_ id: String) -> LocalProcess? { processes.first { $0.id == id } }

    /// Every port the run's processes listen on (their metrics listeners too).
    public var ports: Set<Int> { Set(processes.flatMap { [$0.port] + ($0.metricsPort.map { [$0] } ?? []) }) }
}

/// One process of the local topology.
public struct LocalProcess: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case redis
        /// The Realtime Database stand-in of the Firebase fallback.
        case database = "rtdb"
        case realtime
        case frontDoor = "front-door"

        /// Start order: Redis and the database, then the servers that need them, then the front door that routes
        /// to them.
        public var stage: Int {
            switch self {
            case .redis, .database: 0
            case .realtime: 1
            case .frontDoor: 2
            }
        }
    }

    /// How the supervisor knows the process is ready for the next step.
    public enum Readiness: Sendable, Hashable {
        /// The port accepts a TCP connection.
        case tcp(port: Int)
        /// `GET path` on the port answers 200.
        case http(port: Int, path: String)
        /// The process logged this line since it started (Redis says it accepts connections: a probe connecting
        /// to a TLS port would only make it log a failed handshake).
        case logLine(String)
    }

    /// `redis/us-central1`, `realtime/us-central1/1`, `front-door`: the log prefix and the key of the state.
    public var id: String
    public var kind: Kind
    public var region: String?
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]
    /// The port it serves on.
    public var port: Int
    /// The server's loopback metrics port.
    public var metricsPort: Int?
    public var readiness: Readiness
    /// What else makes a running process stale: the executable's size and modification time (a rebuilt server),
    /// and the contents of the files it reads at start. Part of the equality the supervisor restarts on.
    public var stamp: String

    public init(
        id: String, kind: Kind, region: String?, executable: String, arguments: [String],
        environment: [String: String], port: Int, metricsPort: Int? = nil, readiness: Readiness, stamp: String
    ) {
        self.id = id
        self.kind = kind
        self.region = region
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.port = port
        self.metricsPort = metricsPort
        self.readiness = readiness
        self.stamp = stamp
    }

    /// The log file's name under `logs/`: the id with its slashes as dashes.
    public var logName: String { id.replacingOccurrences(of: "/", with: "-") + ".log" }
}

/// What `plan --target local` shows and the supervisor does to go from one spec to the next.
public struct LocalChanges: Sendable, Hashable {
    public var start: [String] = []
    public var stop: [String] = []
    /// Changed processes, restarted one at a time in start order (a rolling restart: clients move to the others).
    public var restart: [String] = []

    public var isEmpty: Bool { start.isEmpty && stop.isEmpty && restart.isEmpty }

    public init(from old: LocalSpec?, to new: LocalSpec) {
        let before = Dictionary(uniqueKeysWithValues: (old?.processes ?? []).map { ($0.id, $0) })
        for process in new.processes {
            guard let previous = before[process.id] else {
                start.append(process.id)
                continue
            }
            if previous != process { restart.append(process.id) }
        }
        let kept = Set(new.processes.map(\.id))
        stop = (old?.processes ?? []).map(\.id).filter { !kept.contains($0) }
    }
}

// MARK: - JSON

extension LocalSpec {
    public var json: JSONValue {
        .object([
            (key: "format", value: .string(Self.format)),
            (key: "environment", value: .string(environment)),
            (key: "generation", value: .number(Double(generation))),
            (key: "url", value: .string(url)),
            (key: "files", value: .sortedObject(files.mapValues { .string($0) })),
            (key: "processes", value: .array(processes.map(\.json))),
        ])
    }

    public init?(json: JSONValue) {
        guard json["format"]?.stringValue == Self.format, let environment = json["environment"]?.stringValue,
            let generation = json["generation"]?.numberValue, let url = json["url"]?.stringValue,
            case .object(let files)? = json["files"], let processes = json["processes"]?.arrayValue
        else { return nil }
        var texts: [String: String] = [:]
        for (key, value) in files {
            guard let text = value.stringValue else { return nil }
            texts[key] = text
        }
        let decoded = processes.compactMap(LocalProcess.init(json:))
        guard decoded.count == processes.count else { return nil }
        self.init(environment: environment, generation: Int(generation), url: url, processes: decoded, files: texts)
    }
}

extension LocalProcess {
    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            (key: "id", value: .string(id)),
            (key: "kind", value: .string(kind.rawValue)),
            (key: "executable", value: .string(executable)),
            (key: "arguments", value: .array(arguments.map { .string($0) })),
            (key: "environment", value: .sortedObject(environment.mapValues { .string($0) })),
            (key: "port", value: .number(Double(port))),
            (key: "stamp", value: .string(stamp)),
        ]
        if let region { members.append((key: "region", value: .string(region))) }
        if let metricsPort { members.append((key: "metrics_port", value: .number(Double(metricsPort)))) }
        switch readiness {
        case .tcp(let port):
            members.append((key: "ready_tcp", value: .number(Double(port))))
        case .logLine(let line):
            members.append((key: "ready_log", value: .string(line)))
        case .http(let port, let path):
            members.append(
                (
                    key: "ready_http",
                    value: .object([(key: "port", value: .number(Double(port))), (key: "path", value: .string(path))])
                ))
        }
        return .object(members)
    }

    init?(json: JSONValue) {
        guard let id = json["id"]?.stringValue, let kind = json["kind"]?.stringValue.flatMap(Kind.init(rawValue:)),
            let executable = json["executable"]?.stringValue, let arguments = json["arguments"]?.arrayValue,
            case .object(let environment)? = json["environment"], let port = json["port"]?.numberValue,
            let stamp = json["stamp"]?.stringValue
        else { return nil }
        let readiness: Readiness
        if let tcp = json["ready_tcp"]?.numberValue {
            readiness = .tcp(port: Int(tcp))
        } else if let line = json["ready_log"]?.stringValue {
            readiness = .logLine(line)
        } else if let http = json["ready_http"], let port = http["port"]?.numberValue,
            let path = http["path"]?.stringValue
        {
            readiness = .http(port: Int(port), path: path)
        } else {
            return nil
        }
        var variables: [String: String] = [:]
        for (key, value) in environment { variables[key] = value.stringValue ?? "" }
        self.init(
            id: id, kind: kind, region: json["region"]?.stringValue, executable: executable,
            arguments: arguments.compactMap(\.stringValue), environment: variables, port: Int(port),
            metricsPort: json["metrics_port"]?.numberValue.map { Int($0) }, readiness: readiness, stamp: stamp)
    }
}
