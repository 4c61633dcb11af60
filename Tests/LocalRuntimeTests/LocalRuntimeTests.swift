#if os(Linux)
    import EnvironmentLoader
    import Foundation
    import JSON
    import TestSupport
    import Testing
    import TopologyModel

    @testable import LocalRuntime

    /// The local target's plan, front door and bookkeeping; `Tests/ServerTests/test_local_runtime.py` runs it end to end.
    @Suite struct LocalRuntimeTests {
        static func topology(_ environment: String) throws -> Topology {
            let loader = EnvironmentLoader(workingDirectory: Repository.root.path)
            return try #require(loader.load(path: "Environments/\(environment).yaml").topology)
        }

        /// A planner on a fresh state directory; `/bin/true` stands in for the programs (nothing is started).
        static func plan(_ topology: Topology, port: Int = 18080) throws -> (LocalSpec, LocalStateDirectory) {
            let directory = LocalStateDirectory(root: try temporaryDirectory("tfctl-local"))
            let tools = LocalPlanner.Tools(realtimeServer: "/bin/true", redisServer: "/bin/true", haproxy: "/bin/true")
            let planner = LocalPlanner(topology: topology, environment: "test", directory: directory, tools: tools)
            return (try planner.plan(frontPort: port), directory)
        }

        @Test("every server gets the variables the cloud renderers emit, with local values, and no secret reference")
        func oneSourceOfVariables() throws {
            let topology = try Self.topology("prod")
            let (spec, directory) = try Self.plan(topology)
            defer { try? FileManager.default.removeItem(at: directory.root) }
            let servers = spec.processes.filter { $0.kind == .realtime }
            #expect(servers.count == topology.regions.count * 2, "two instances per region at least")
            for server in servers {
                let region = try #require(server.region)
                let service = try #require(topology.services.first { server.id.hasPrefix($0.name + "/") })
                let cloud = Set(topology.environment(for: service, in: region).map(\.name))
                // The fallback's database is the real project's: without the stand-in the local run leaves it out,
                // and the cloud's browser key with it (an emulator takes any key).
                let local = Set(server.environment.keys).subtracting(["HOST", "PORT", "METRICS_PORT"])
                #expect(local == cloud.subtracting(["FIREBASE_DATABASE_URL", "FIREBASE_WEB_API_KEY"]), "\(server.id)")
                #expect(server.environment["TFCTL_REGION"] == region)
                #expect(server.environment["HOST"] == "127.0.0.1", "servers listen on loopback only")
                // prod has AUTH and in-transit encryption: TLS with the password, and the local CA to trust.
                let url = try #require(server.environment["REDIS_URL"])
                let redis = try #require(spec.process("redis/\(region)"))
                #expect(url.hasPrefix("rediss://:") && url.hasSuffix("@127.0.0.1:\(redis.port)"))
                #expect(server.environment["REDIS_CA_CERT"]?.hasPrefix("-----BEGIN CERTIFICATE-----") == true)
                #expect(server.environment["JWT_RS256_PUBLIC_KEY"]?.hasPrefix("-----BEGIN PUBLIC KEY-----") == true)
                #expect((server.environment["PUBLISH_TOKEN"]?.count ?? 0) >= 16)
            }
            // The relay endpoints document lists every region, as the cloud's secret does.
            let document = try #require(spec.files["relay-endpoints.json"].flatMap { JSONValue.parse(Substring($0)) })
            #expect(document[RelayEndpointsDocument.formatKey]?.stringValue == RelayEndpointsDocument.format)
            guard case .object(let regions)? = document[RelayEndpointsDocument.regionsKey] else {
                Issue.record("no regions in the relay document")
                return
            }
            #expect(regions.map(\.key) == topology.regions)
        }

        @Test(
            "with the stand-in, the fallback's database runs first and every server mirrors to it and signs with a local key"
        )
        func fallbackStandIn() throws {
            let topology = try Self.topology("prod")
            #expect(topology.firebaseEnabled)
            let directory = LocalStateDirectory(root: try temporaryDirectory("tfctl-local"))
            defer { try? FileManager.default.removeItem(at: directory.root) }
            let script = try #require(
                LocalPlanner.DatabaseStandIn.script(beside: URL(fileURLWithPath: "/nonexistent/tfctl")))
            let tools = LocalPlanner.Tools(
                realtimeServer: "/bin/true", redisServer: "/bin/true", haproxy: "/bin/true",
                databaseStandIn: .init(python: "/usr/bin/python3", script: script))
            let spec = try LocalPlanner(topology: topology, environment: "test", directory: directory, tools: tools)
                .plan(frontPort: 18080)
            let database = try #require(spec.process("rtdb"))
            #expect(database.kind.stage == 0 && database.arguments.first == script)
            #expect(database.arguments.suffix(2) == ["--namespace", topology.names.firebaseDatabase])
            for server in spec.processes where server.kind == .realtime {
                #expect(server.environment["FIREBASE_DATABASE_URL"] == topology.names.firebaseDatabaseURL)
                #expect(server.environment["FIREBASE_DATABASE_EMULATOR_HOST"] == "127.0.0.1:\(database.port)")
                #expect(server.environment["FALLBACK_TOKEN_KEY"]?.hasPrefix("-----BEGIN PRIVATE KEY-----") == true)
                #expect(server.environment["FALLBACK_TOKEN_ACCOUNT"]?.hasSuffix(".iam.gserviceaccount.com") == true)
            }
        }

        @Test(
            "with the Firebase CLI, its Auth and database emulators stand in, on ports of the run, with the rules tfctl renders"
        )
        func fallbackEmulators() throws {
            let topology = try Self.topology("prod")
            let directory = LocalStateDirectory(root: try temporaryDirectory("tfctl-local"))
            defer { try? FileManager.default.removeItem(at: directory.root) }
            let tools = LocalPlanner.Tools(
                realtimeServer: "/bin/true", redisServer: "/bin/true", haproxy: "/bin/true",
                databaseStandIn: .init(python: "/usr/bin/python3", script: "/nonexistent/rtdb_standin.py"),
                firebaseEmulator: .init(firebase: "/opt/firebase", environment: ["PATH": "/usr/bin", "HOME": "/h"]))
            let spec = try LocalPlanner(topology: topology, environment: "test", directory: directory, tools: tools)
                .plan(frontPort: 18080)
            let database = try #require(spec.process("rtdb"))
            #expect(database.executable == "/opt/firebase" && database.environment["HOME"] == "/h")
            #expect(
                database.arguments.prefix(5) == [
                    "emulators:start", "--only", "auth,database", "--project", "demo-\(topology.project)",
                ])
            let configText = try #require(spec.files["firebase.json"])
            let config = try #require(JSONValue.parse(Substring(configText)))
            #expect(config["emulators"]?["database"]?["port"]?.numberValue == Double(database.port))
            let authPort = try #require(config["emulators"]?["auth"]?["port"]?.numberValue)
            let ports = ["auth", "database", "hub", "logging"].compactMap {
                config["emulators"]?[$0]?["port"]?.numberValue
            }
            #expect(Set(ports).count == 4, "every emulator on a port of its own: \(ports)")
            #expect(config["database"]?.arrayValue?.first?["instance"]?.stringValue == topology.names.firebaseDatabase)
            #expect(spec.files["database.rules.json"] != nil)
            for server in spec.processes where server.kind == .realtime {
                #expect(server.environment["FIREBASE_DATABASE_EMULATOR_HOST"] == "127.0.0.1:\(database.port)")
                #expect(server.environment["FIREBASE_AUTH_EMULATOR_HOST"] == "127.0.0.1:\(Int(authPort))")
                #expect(server.environment["FIREBASE_WEB_API_KEY"] == nil, "the cloud's key is not the run's")
            }
        }

        @Test("secrets and ports are made once: a second plan is the same spec")
        func stable() throws {
            let topology = try Self.topology("dev")
            let (first, directory) = try Self.plan(topology)
            defer { try? FileManager.default.removeItem(at: directory.root) }
            let tools = LocalPlanner.Tools(realtimeServer: "/bin/true", redisServer: "/bin/true", haproxy: "/bin/true")
            let again = try LocalPlanner(topology: topology, environment: "test", directory: directory, tools: tools)
                .plan(frontPort: nil)
            #expect(again == first)
            #expect(LocalChanges(from: first, to: again).isEmpty)
            let secrets = try FileManager.default.attributesOfItem(atPath: directory.secrets.path)
            #expect((secrets[.posixPermissions] as? NSNumber)?.intValue == 0o700, "the secrets are the user's only")
        }

        @Test("the spec reads back from its JSON as it was written")
        func specRoundTrip() throws {
            let (spec, directory) = try Self.plan(try Self.topology("staging"))
            defer { try? FileManager.default.removeItem(at: directory.root) }
            let text = spec.json.pretty()
            #expect(LocalSpec(json: try #require(JSONValue.parse(Substring(text)))) == spec)
        }

        @Test("changes: new processes start, changed ones restart one at a time in start order, removed ones stop")
        func changes() throws {
            let (spec, directory) = try Self.plan(try Self.topology("dev"))
            defer { try? FileManager.default.removeItem(at: directory.root) }
            #expect(LocalChanges(from: nil, to: spec).start == spec.processes.map(\.id))
            var next = spec
            next.processes = next.processes.filter { $0.id != "realtime/us-central1/2" }
            next.processes[1].environment["LOG_LEVEL"] = "info"
            let changes = LocalChanges(from: spec, to: next)
            #expect(changes.start.isEmpty)
            #expect(changes.restart == ["realtime/us-central1/1"])
            #expect(changes.stop == ["realtime/us-central1/2"])
        }

        @Test("a custom image is refused: the local target runs the bundled server, not containers")
        func customImage() throws {
            var topology = try Self.topology("dev")
            topology.services[0].image = .reference("us-docker.pkg.dev/p/r/app:1")
            #expect(throws: LocalPlanner.Refused.self) { try Self.plan(topology) }
        }

        @Test("haproxy words: plain ones bare, anything else single-quoted, a quote closed, escaped and reopened")
        func words() {
            #expect(HAProxyConfig.word("127.0.0.1:8080") == "127.0.0.1:8080")
            #expect(HAProxyConfig.word("^/+(metrics|v1)(/|$)") == "'^/+(metrics|v1)(/|$)'")
            #expect(HAProxyConfig.word("a b") == "'a b'")
            #expect(HAProxyConfig.word("it's") == "'it'\\''s'")
            #expect(HAProxyConfig.word("#x") == "'#x'")
            #expect(HAProxyConfig.word("\\") == "'\\'")
            #expect(HAProxyConfig.word("") == "''")
        }

        @Test(
            "the front door's configuration is valid to haproxy itself, for every shipped environment",
            Oracle.haproxy.trait, arguments: ["dev", "staging", "prod"])
        func haproxyAccepts(environment: String) async throws {
            let topology = try Self.topology(environment)
            let (spec, directory) = try Self.plan(topology)
            defer { try? FileManager.default.removeItem(at: directory.root) }
            let config = directory.root.appendingPathComponent("front-door.cfg")
            try Data(try #require(spec.files["front-door.cfg"]).utf8).write(to: config)
            let result = try await Oracle.haproxy.run(["-c", "-f", config.path])
            #expect(result.status == 0, "\(result.output)")
            #expect(!result.output.contains("[WARNING]"), "\(result.output)")
        }

        @Test("the front door routes like the URL map and the nearest region, with Cloud Run's limits")
        func frontDoor() throws {
            let topology = try Self.topology("prod")
            let (spec, directory) = try Self.plan(topology)
            defer { try? FileManager.default.removeItem(at: directory.root) }
            let config = try #require(spec.files["front-door.cfg"])
            let service = topology.services[0]
            #expect(config.contains("bind 127.0.0.1:18080\n"))
            #expect(config.contains("maxconn \(service.concurrency) maxqueue 1"), "concurrency per instance")
            #expect(config.contains("timeout tunnel \(service.timeoutSeconds)s"))
            #expect(config.contains("cookie GAESA insert indirect nocache httponly attr Max-Age=2592000"))
            #expect(config.contains("http-request deny deny_status 403 if admin_path"))
            // The nearest region first: the first region's backend is the default and is tried before the others.
            let first = "\(service.name)--\(topology.regions[0])"
            #expect(config.contains("default_backend \(first)\n"))
            let fallbacks = config.split(separator: "\n").filter { $0.contains("nbsrv(") }
            #expect(fallbacks.first?.contains(first) == true)
        }
    }
#endif

#if os(Linux)
    /// The parts the end-to-end test does not reach: chunked bodies, odd rate-limit keys, paths with spaces.
    @Suite struct LocalRuntimeEdgeTests {
        @Test("a chunked body is its chunks' data, CRLF and extensions and all")
        func chunked() {
            let body = Array("4;name=x\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\n\r\n".utf8)
            #expect(String(decoding: PortProbe.dechunk(body), as: UTF8.self) == "Wikipedia in \r\n\r\nchunks.")
        }

        @Test(
            "every rate-limit key makes a front door haproxy takes, with Cloud Armor's fallback when the key is absent",
            Oracle.haproxy.trait, arguments: ["ip", "xff-ip", "header:X-Tenant", "cookie:session"])
        func rateLimitKeys(key: String) async throws {
            var topology = try LocalRuntimeTests.topology("prod")
            topology.loadBalancer?.rateLimit?.key = try #require(RateLimit.Key(key))
            let (spec, directory) = try LocalRuntimeTests.plan(topology)
            defer { try? FileManager.default.removeItem(at: directory.root) }
            let text = try #require(spec.files["front-door.cfg"])
            if key != "ip" {
                #expect(text.contains(key == "xff-ip" ? "track-sc0 src if !{" : "track-sc0 str(ALL) if !{"))
            }
            let config = directory.root.appendingPathComponent("front-door.cfg")
            try Data(text.utf8).write(to: config)
            let result = try await Oracle.haproxy.run(["-c", "-f", config.path])
            #expect(result.status == 0, "\(result.output)")
        }

        @Test(
            "Redis reads its generated configuration from a directory whose path has spaces", Oracle.redisServer.trait)
        func redisConfigurationWithSpaces() async throws {
            let parent = try temporaryDirectory("tfctl local")
            defer { try? FileManager.default.removeItem(at: parent) }
            let directory = LocalStateDirectory(root: parent.appendingPathComponent("state \"quoted\""))
            let tools = LocalPlanner.Tools(realtimeServer: "/bin/true", redisServer: "/bin/true", haproxy: "/bin/true")
            let spec = try LocalPlanner(
                topology: try LocalRuntimeTests.topology("dev"), environment: "dev", directory: directory, tools: tools
            ).plan(frontPort: try PortProbe.freePort())
            let redis = try #require(spec.processes.first { $0.kind == .redis })
            for (name, text) in spec.files {
                let url = directory.root.appendingPathComponent(name)
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url)
            }
            let log = directory.root.appendingPathComponent("redis.log")
            let pid = try ProcessControl.spawn(
                try #require(Oracle.redisServer.resolved), redis.arguments, environment: [:], log: log.path)
            defer { ProcessControl.stopGroup(pid, grace: .seconds(5), reap: true) }
            let ready = try await eventually(within: .seconds(30)) {
                ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("Ready to accept connections")
            }
            #expect(ready, "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        }

        @Test("a plan writes nothing: no state directory, secrets or ports")
        func planWritesNothing() throws {
            let parent = try temporaryDirectory("tfctl-local-plan")
            defer { try? FileManager.default.removeItem(at: parent) }
            let directory = LocalStateDirectory(root: parent.appendingPathComponent("state"))
            let tools = LocalPlanner.Tools(realtimeServer: "/bin/true", redisServer: "/bin/true", haproxy: "/bin/true")
            let spec = try LocalPlanner(
                topology: try LocalRuntimeTests.topology("prod"), environment: "prod", directory: directory,
                tools: tools, dryRun: true
            ).plan(frontPort: 18080)
            #expect(!FileManager.default.fileExists(atPath: directory.root.path))
            #expect(
                spec.processes.first { $0.kind == .realtime }?.environment["PUBLISH_TOKEN"] == LocalSecrets.placeholder)
        }
    }
#endif
