import Foundation
import JSON
import Renderers
import TopologyModel

/// The fallback's Realtime Database in a local run: Firebase's own emulators when the Firebase CLI is on `PATH`,
/// else tfctl's stand-in (README, "The Firebase fallback").
extension LocalPlanner {
    /// The Firebase CLI (`firebase`), which runs the Auth and Realtime Database emulators (Java 11 or later, which
    /// the CLI finds on `PATH`; it downloads the emulators' archives on first use).
    public struct FirebaseEmulator: Sendable {
        public var firebase: String
        /// What the CLI needs from tfctl's environment (`PATH` to find `node` and `java`, `HOME` for the downloaded
        /// emulators): the supervisor starts each process with exactly the environment it is given.
        public var environment: [String: String]

        public init(firebase: String, environment: [String: String]) {
            self.firebase = firebase
            self.environment = environment
        }

        /// The variables of `environment` the CLI reads.
        public static let inherited = ["HOME", "JAVA_HOME", "PATH", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"]
    }

    /// Where the servers find the fallback's database and its Auth, and what signs their clients' tokens.
    struct LocalDatabase {
        var host: String
        /// The Auth emulator, when it is not the database's host (the stand-in serves both).
        var authHost: String?
        var tokenKey: String
        var tokenAccount: String
    }

    static let emulatorConfigFile = "firebase.json"
    /// What the Firebase CLI prints once every emulator it started answers.
    static let emulatorsReady = "All emulators ready"

    /// The database's process, its files, and where the servers reach it; nil without a fallback or without a
    /// program to play the database (the fallback is then left out of the run).
    func database(port: (String) throws -> Int, secrets: LocalSecrets, files: inout [String: String]) throws
        -> (process: LocalProcess, database: LocalDatabase)?
    {
        guard topology.firebaseEnabled, tools.firebaseEmulator != nil || tools.databaseStandIn != nil else {
            return nil
        }
        let id = LocalProcess.Kind.database.rawValue
        let databasePort = try port(id)
        // The rules the cloud's database gets, which the emulator or the stand-in evaluates for clients' reads.
        files[Self.databaseRulesFile] = DatabaseRules.document.pretty()
        let rulesPath = directory.root.appendingPathComponent(Self.databaseRulesFile).path
        let namespace = topology.names.firebaseDatabase
        let process: LocalProcess
        var authHost: String?
        if let emulator = tools.firebaseEmulator {
            let authPort = try port(id + "/auth")
            authHost = "127.0.0.1:\(authPort)"
            files[Self.emulatorConfigFile] = emulatorConfig(
                databasePort: databasePort, authPort: authPort, hubPort: try port(id + "/hub"),
                loggingPort: try port(id + "/logging")
            ).pretty()
            process = LocalProcess(
                id: id, kind: .database, region: nil, executable: emulator.firebase,
                arguments: [
                    "emulators:start", "--only", "auth,database", "--project", emulatorProject, "--config",
                    directory.root.appendingPathComponent(Self.emulatorConfigFile).path,
                ],
                environment: emulator.environment, port: databasePort, readiness: .logLine(Self.emulatorsReady),
                stamp: Self.stamp(
                    executable: emulator.firebase, files[Self.emulatorConfigFile]! + files[Self.databaseRulesFile]!))
        } else {
            let standIn = tools.databaseStandIn!
            // The script and the modules beside it: a change to any restarts the stand-in.
            let directoryOfScript = URL(fileURLWithPath: standIn.script).deletingLastPathComponent()
            let script = [DatabaseStandIn.fileName, "rtdb_rules.py", "rtdb_auth.py"].map {
                (try? String(contentsOf: directoryOfScript.appendingPathComponent($0), encoding: .utf8)) ?? ""
            }.joined()
            process = LocalProcess(
                id: id, kind: .database, region: nil, executable: standIn.python,
                arguments: [
                    standIn.script, "--port", "\(databasePort)", "--rules", rulesPath, "--project", topology.project,
                    "--namespace", namespace,
                ],
                environment: [:], port: databasePort, readiness: .logLine("rtdb stand-in listening"),
                stamp: Self.stamp(executable: standIn.python, script + files[Self.databaseRulesFile]!))
        }
        return (
            process,
            LocalDatabase(
                host: "127.0.0.1:\(databasePort)", authHost: authHost,
                tokenKey: try secrets.privateKey(id: LocalSecrets.fallbackTokenKeyID),
                tokenAccount: Self.localTokenAccount(topology))
        )
    }

    /// The project the emulators run as: a `demo-` project, which the emulators know has no resources in the
    /// cloud, so nothing they do can reach the real one ("Demo projects ... Firebase Local Emulator Suite").
    var emulatorProject: String { "demo-" + topology.project }

    /// `firebase.json` for the emulators: the database's rules for the topology's database (its name is the
    /// namespace the servers and clients send as `ns=`), every emulator on loopback at a port of the run's (the hub
    /// and the log server too, whose defaults 4400 and 4500 another run may hold), no UI.
    func emulatorConfig(databasePort: Int, authPort: Int, hubPort: Int, loggingPort: Int) -> JSONValue {
        func endpoint(_ port: Int) -> JSONValue {
            .object([(key: "host", value: .string("127.0.0.1")), (key: "port", value: .number(Double(port)))])
        }
        return .object([
            (
                key: "database",
                value: .array([
                    .object([
                        (key: "instance", value: .string(topology.names.firebaseDatabase)),
                        (key: "rules", value: .string(Self.databaseRulesFile)),
                    ])
                ])
            ),
            (
                key: "emulators",
                value: .object([
                    (key: "auth", value: endpoint(authPort)),
                    (key: "database", value: endpoint(databasePort)),
                    (key: "hub", value: endpoint(hubPort)),
                    (key: "logging", value: endpoint(loggingPort)),
                    (key: "singleProjectMode", value: .bool(true)),
                    (key: "ui", value: .object([(key: "enabled", value: .bool(false))])),
                ])
            ),
        ])
    }
}
