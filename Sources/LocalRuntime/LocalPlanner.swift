import Foundation
import JSON
import Renderers
import TopologyModel

/// Turns a topology into the processes of its local run (`LocalSpec`): per region a redis-server and the
/// service's instances, then the front door. Every server gets the runtime environment the three cloud renderers
/// emit (`Topology.environment(for:in:)`), with the cloud's values swapped for local ones by variable: Redis
/// endpoints for the local redis-servers, secrets for generated development values (`LocalSecrets`), the relay
/// endpoints document for a local file. Nothing is started here; secrets, certificates and ports are made once
/// and kept under the state directory.
public struct LocalPlanner {
    public struct Refused: Error, CustomStringConvertible {
        public let description: String
    }

    /// Where the programs are.
    public struct Tools: Sendable {
        public var realtimeServer: String
        public var redisServer: String
        public var haproxy: String
        /// The Realtime Database stand-in and the Python that runs it.
        public var databaseStandIn: DatabaseStandIn?
        /// Firebase's emulators, used instead of the stand-in when there. Neither leaves the fallback out.
        public var firebaseEmulator: FirebaseEmulator?

        public init(
            realtimeServer: String, redisServer: String, haproxy: String, databaseStandIn: DatabaseStandIn? = nil,
            firebaseEmulator: FirebaseEmulator? = nil
        ) {
            self.realtimeServer = realtimeServer
            self.redisServer = redisServer
            self.haproxy = haproxy
            self.databaseStandIn = databaseStandIn
            self.firebaseEmulator = firebaseEmulator
        }
    }

    /// `python3` and `rtdb_standin.py`, the stand-in for the fallback's Realtime Database (README, "The Firebase
    /// fallback": no Realtime Database can be installed here; the emulator is a Java archive the Firebase CLI
    /// downloads).
    public struct DatabaseStandIn: Sendable {
        public var python: String
        public var script: String

        public init(python: String, script: String) {
            self.python = python
            self.script = script
        }

        /// The script shipped with tfctl: in the resource bundle SwiftPM puts beside `executable`, else in the
        /// source tree; nil when neither holds it.
        public static func script(beside executable: URL) -> String? {
            let directory = executable.resolvingSymlinksInPath().deletingLastPathComponent()
            let candidates =
                ["tfctl_LocalRuntime.resources", "tfctl_LocalRuntime.bundle/Contents/Resources"].map {
                    directory.appendingPathComponent($0).appendingPathComponent(fileName).path
                } + [
                    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
                        "Resources/" + fileName
                    ).path
                ]
            return candidates.first { FileManager.default.fileExists(atPath: $0) }
        }

        static let fileName = "rtdb_standin.py"
    }

    /// The service account named as the signer of local fallback tokens (a local key signs them).
    static func localTokenAccount(_ topology: Topology) -> String {
        "local-\(topology.name)@\(topology.project).iam.gserviceaccount.com"
    }

    /// Local servers per region: the service's `min_instances`, and at least two, so affinity, a crash and a
    /// rolling restart can be seen.
    public static let minimumInstances = 2
    public static let defaultFrontPort = 8080

    let topology: Topology
    let environment: String
    let directory: LocalStateDirectory
    let tools: Tools
    /// Writes nothing (`plan --target local`): secrets, certificates and ports not made yet are shown as
    /// placeholders, which only processes that are to start anyway carry.
    let dryRun: Bool

    public init(
        topology: Topology, environment: String, directory: LocalStateDirectory, tools: Tools, dryRun: Bool = false
    ) {
        self.topology = topology
        self.environment = environment
        self.directory = directory
        self.tools = tools
        self.dryRun = dryRun
    }

    /// Refusals before anything is made: what the local target cannot run.
    public func check() throws {
        let custom = topology.services.filter { $0.image != .bundled }.map(\.name)
        if !custom.isEmpty {
            throw Refused(
                description: "service \(custom.joined(separator: ", ")) runs its own image, which the local target "
                    + "cannot run (it starts the bundled server as a process, not containers); use image: bundled "
                    + "in a local environment")
        }
    }

    /// The spec, with its secrets, certificates and ports made where missing. `frontPort`: the front door's port
    /// (else the one used before, else 8080). `held`: the ports the current run holds; any other port kept from
    /// before that another program took meanwhile is swapped for a free one (the front door's is not: its URL is
    /// the user's, and the controller says it is taken). The generation is the controller's to set.
    public func plan(frontPort: Int?, held: Set<Int> = []) throws -> LocalSpec {
        try check()
        if !dryRun { try directory.create() }
        var ports = directory.readPorts()
        let front = frontPort ?? ports[LocalProcess.Kind.frontDoor.rawValue] ?? Self.defaultFrontPort
        ports[LocalProcess.Kind.frontDoor.rawValue] = front
        func port(_ key: String) throws -> Int {
            if let known = ports[key], held.contains(known) || PortProbe.isFree(known) { return known }
            let fresh = try PortProbe.freePort(avoiding: Set(ports.values))
            ports[key] = fresh
            return fresh
        }
        let secrets = LocalSecrets(directory: directory, create: !dryRun)
        var processes: [LocalProcess] = []
        var files: [String: String] = [:]
        var relayRegions: [(key: String, value: JSONValue)] = []
        var redisURLs: [String: String] = [:]
        let caPEM: String? =
            topology.memorystore?.transitEncryption == true
            ? try LocalTLS(directory: directory).prepare(create: !dryRun) : nil
        if let redis = topology.memorystore {
            let password = redis.auth ? try secrets.value(id: "redis-auth", variable: "REDIS_AUTH") : nil
            for region in topology.regions {
                let id = "redis/\(region)"
                let redisPort = try port(id)
                let data = directory.redisData(region)
                if !dryRun {
                    try FileManager.default.createDirectory(
                        at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                }
                let configName = "redis/\(region)/redis.conf"
                files[configName] = redisConfig(port: redisPort, data: data, password: password)
                let url =
                    (caPEM == nil ? "redis://" : "rediss://") + (password.map { ":\($0)@" } ?? "")
                    + "127.0.0.1:\(redisPort)"
                redisURLs[region] = url
                var entry: [(key: String, value: JSONValue)] = [
                    (key: RelayEndpointsDocument.urlKey, value: .string(url))
                ]
                if let caPEM { entry.append((key: RelayEndpointsDocument.caKey, value: .string(caPEM))) }
                relayRegions.append((key: region, value: .object(entry)))
                processes.append(
                    LocalProcess(
                        id: id, kind: .redis, region: region, executable: tools.redisServer,
                        arguments: [directory.root.appendingPathComponent(configName).path], environment: [:],
                        port: redisPort, readiness: .logLine("Ready to accept connections"),
                        stamp: Self.stamp(executable: tools.redisServer, files[configName]!)))
            }
            files[Self.relayFile] =
                JSONValue.object([
                    (key: RelayEndpointsDocument.formatKey, value: .string(RelayEndpointsDocument.format)),
                    (key: RelayEndpointsDocument.regionsKey, value: .object(relayRegions)),
                ]).pretty()
        }
        // The fallback's database: the servers mirror to it and sign their clients' tokens with a local key, as they
        // would for the project's database.
        let database = try self.database(port: port, secrets: secrets, files: &files)
        if let database { processes.append(database.process) }
        var backends: [FrontDoor.Backend] = []
        let serverStamp = Self.stamp(executable: tools.realtimeServer, "")
        for service in topology.services.sorted(by: { $0.name < $1.name }) {
            for region in topology.regions {
                // The region's variables, the same for every instance but its ports.
                let shared = try runtimeEnvironment(
                    service, region, secrets: secrets, redisURL: redisURLs[region], caPEM: caPEM, frontPort: front,
                    database: database?.database)
                var servicePorts: [Int] = []
                for instance in 1...max(Self.minimumInstances, service.minInstances) {
                    let id = "\(service.name)/\(region)/\(instance)"
                    let serverPort = try port(id)
                    let metricsPort = try port(id + "/metrics")
                    servicePorts.append(serverPort)
                    var variables = shared
                    variables["HOST"] = "127.0.0.1"
                    variables["PORT"] = "\(serverPort)"
                    variables["METRICS_PORT"] = "\(metricsPort)"
                    processes.append(
                        LocalProcess(
                            id: id, kind: .realtime, region: region, executable: tools.realtimeServer, arguments: [],
                            environment: variables, port: serverPort, metricsPort: metricsPort,
                            readiness: .http(port: serverPort, path: "/readyz"), stamp: serverStamp))
                }
                backends.append(FrontDoor.Backend(service: service, region: region, ports: servicePorts))
            }
        }
        let config = FrontDoor.config(topology, port: front, backends: backends)
        files[Self.frontDoorFile] = config.printed(header: [
            "The local front door of \(environment): generated by tfctl apply --target local. DO NOT EDIT."
        ])
        processes.append(
            LocalProcess(
                id: LocalProcess.Kind.frontDoor.rawValue, kind: .frontDoor, region: nil, executable: tools.haproxy,
                // Master-worker (-W), in the foreground (-db): SIGUSR2 to the master reloads the configuration,
                // and connections stay with the old worker until they end.
                arguments: ["-W", "-db", "-f", directory.root.appendingPathComponent(Self.frontDoorFile).path],
                environment: [:], port: front, readiness: .tcp(port: front),
                stamp: Self.stamp(executable: tools.haproxy, files[Self.frontDoorFile]!)))
        if !dryRun { try directory.writePorts(ports) }
        return LocalSpec(
            environment: environment, generation: 0, url: "http://127.0.0.1:\(front)", processes: processes,
            files: files)
    }

    static let relayFile = "relay-endpoints.json"
    static let databaseRulesFile = "database.rules.json"
    static let frontDoorFile = "front-door.cfg"

    /// The service's variables as the cloud renderers emit them, with local values where the cloud's cannot
    /// work here. The Firebase fallback goes to the stand-in (`database`: the URL stays, as an emulator's
    /// namespace), or is left out without one: the server would write to the real project's database.
    func runtimeEnvironment(
        _ service: RealtimeService, _ region: String, secrets: LocalSecrets, redisURL: String?, caPEM: String?,
        frontPort: Int, database: LocalDatabase? = nil
    ) throws -> [String: String] {
        var variables: [String: String] = [:]
        for variable in topology.environment(for: service, in: region) {
            switch (variable.name, variable.value) {
            case ("REDIS_URL", _): variables[variable.name] = redisURL
            case ("REDIS_CA_CERT", _): variables[variable.name] = caPEM
            case (RelayEndpoints.fileVariable, _):
                variables[variable.name] = directory.root.appendingPathComponent(Self.relayFile).path
            case ("FIREBASE_DATABASE_URL", .plain(let url)):
                guard let database else { continue }
                variables[variable.name] = url
                variables["FIREBASE_DATABASE_EMULATOR_HOST"] = database.host
                if let auth = database.authHost { variables["FIREBASE_AUTH_EMULATOR_HOST"] = auth }
                variables["FALLBACK_TOKEN_KEY"] = database.tokenKey
                variables["FALLBACK_TOKEN_ACCOUNT"] = database.tokenAccount
            case ("FIREBASE_DATABASE_URL", _): continue
            // The cloud's browser key, which a local run has not: an emulator takes any key.
            case ("FIREBASE_WEB_API_KEY", _): continue
            case ("CORS_ORIGINS", .plain(let origins)):
                // A page served from the front door's own origin may poll too.
                variables[variable.name] = origins + ",http://127.0.0.1:\(frontPort)"
            case (_, .plain(let value)): variables[variable.name] = value
            case (_, .secret(let id, _)): variables[variable.name] = try secrets.value(id: id, variable: variable.name)
            }
        }
        return variables
    }

    /// redis-server's configuration: loopback only, no persistence (a local run starts empty, as a new
    /// Memorystore instance does), TLS only when the model has in-transit encryption (Memorystore then takes no
    /// plain connections), AUTH when it has AUTH. In a file, not on the command line, where `ps` would show the
    /// password.
    func redisConfig(port: Int, data: URL, password: String?) -> String {
        /// A value as Redis's configuration reads it: double-quoted, with backslash escapes (paths may hold spaces).
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var lines = [
            "# Generated by tfctl apply --target local. DO NOT EDIT.", "bind 127.0.0.1", "protected-mode yes",
            "save \"\"", "appendonly no", "daemonize no", "dir \(quoted(data.path))", "loglevel notice",
        ]
        if topology.memorystore?.transitEncryption == true {
            let tls = directory.tls
            lines += [
                "port 0", "tls-port \(port)", "tls-cert-file \(quoted(tls.appendingPathComponent("server.crt").path))",
                "tls-key-file \(quoted(tls.appendingPathComponent("server.key").path))",
                "tls-ca-cert-file \(quoted(tls.appendingPathComponent("ca.crt").path))", "tls-auth-clients no",
            ]
        } else {
            lines.append("port \(port)")
        }
        if let password { lines.append("requirepass \(quoted(password))") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// What makes a running process stale besides its command and environment: the executable's size and
    /// modification time (a rebuilt server), and a digest of the configuration it reads.
    static func stamp(executable: String, _ configuration: String) -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: executable)
        let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in configuration.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return "\(size)-\(Int64(modified * 1000))-" + String(hash, radix: 16)
    }
}
