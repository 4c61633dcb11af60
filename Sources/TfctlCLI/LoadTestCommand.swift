#if canImport(LocalRuntime)
    import ArgumentParser
    import EnvironmentLoader
    import Foundation
    import JSON
    import LoadTest
    import LocalRuntime

    /// `tfctl loadtest`: Socket.IO clients and a publisher against a running topology, local by default.
    struct LoadTestCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "loadtest",
            abstract: "Open N Socket.IO connections in R tender rooms, publish at a fixed rate, and report deliveries, "
                + "latency and errors.",
            discussion: """
                With --env, the local run of that environment (tfctl up) is the target: its front door (or, with \
                --direct, its instances), its publish token, and tokens signed with its local key. Without it, give \
                --url (and --publish-url, --publish-token, --token as the target needs). Only this machine is a target \
                unless --allow-remote is given.
                """)

        @Option(name: .long, help: "A local run's environment to load-test (tfctl up --env E).")
        var env: String?

        @Option(name: .long, help: "Where the clients connect (repeat to spread them); default: the local front door.")
        var url: [String] = []

        @Option(name: .long, help: "The publish endpoint (POST /v1/publish); default: an instance of the local run.")
        var publishURL: String?

        @Option(name: .long, help: "The publish token (Authorization: Bearer); default: the local run's.")
        var publishToken: String?

        @Option(
            name: .long,
            help: ArgumentHelp(
                "The token every client presents (one user: the server allows it 20 connections); default: "
                    + "tokens signed with the local run's key, one user per 16 connections."))
        var token: String?

        @Option(name: .long, help: "Connections.") var connections = 1000
        @Option(name: .long, help: "Tender rooms the connections are spread over.") var rooms = 10
        @Option(name: .long, help: "Publishes per second, over all rooms.") var rate = 100
        @Option(name: .long, help: "Seconds of publishing, once every connection is subscribed.") var duration = 10.0
        @Option(name: .long, help: "Seconds over which the connections are opened (default: 1 per 1000, at most 10).")
        var ramp: Double?
        @Option(name: .long, help: "websocket or polling.") var transport: Transport = .websocket
        @Option(name: .long, help: "Pick this region at the local front door (X-Tfctl-Region).") var region: String?
        @Flag(name: .long, help: "With --env: connect to the local instances directly, not through the front door.")
        var direct = false
        @Option(name: .long, help: "Event loop threads of the load generator.") var threads = 1
        @Option(name: .long, help: "text or json.") var format: OutputFormat = .text
        @Flag(name: .long, help: "Allow a target that is not this machine.") var allowRemote = false
        @Option(name: .long, help: "Run as if tfctl was started in this directory.") var chdir: String?
        @Flag(name: .long, help: .hidden) var phaseEvents = false

        enum Transport: String, ExpressibleByArgument, CaseIterable {
            case websocket, polling
        }

        func run() throws {
            let options = try loadTestOptions()
            let terminal = isatty(STDERR_FILENO) != 0
            let phaseEvents = phaseEvents
            let test = LoadTest(
                options: options,
                progress: { line in
                    guard terminal else { return }
                    FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
                },
                phase: { phase in
                    // For make bench: the span to measure the servers' CPU over, as JSON lines on standard error.
                    guard phaseEvents else { return }
                    let line = JSONValue.object([(key: "phase", value: .string(phase))]).serialized() + "\n"
                    FileHandle.standardError.write(Data(line.utf8))
                })
            let report: LoadTestReport
            do {
                report = try test.run()
            } catch let invalid as LoadTestOptions.Invalid {
                throw CommandFailure(invalid.description)
            }
            if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            print(format == .json ? report.json.pretty() : report.text, terminator: "")
        }

        func loadTestOptions() throws -> LoadTestOptions {
            var urls = try url.map(parse)
            var publish = try publishURL.map(parse)
            var publishSecret = publishToken
            var headers: [(String, String)] = region.map { [("X-Tfctl-Region", $0)] } ?? []
            var tokens: [String] = token.map { [$0] } ?? []
            if let env {
                let working = chdir.map { $0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 }
                let name = (env as NSString).lastPathComponent.replacingOccurrences(of: ".yaml", with: "")
                let directory = LocalStateDirectory(
                    workingDirectory: working ?? FileManager.default.currentDirectoryPath, environment: name)
                guard let spec = directory.readSpec(), directory.readState() != nil else {
                    throw CommandFailure("nothing runs locally for \(name): tfctl up --env \(name) first")
                }
                let servers = spec.processes.filter { $0.kind == .realtime }
                let chosen = servers.filter { region == nil || $0.region == region }
                guard let first = chosen.first else {
                    throw CommandFailure("the local run has no server in that region")
                }
                if urls.isEmpty {
                    urls =
                        direct
                        ? chosen.map { URL(string: "http://127.0.0.1:\($0.port)")! } : [URL(string: spec.url)!]
                }
                if direct { headers = [] }
                warnAboutRateLimit(name, working: working ?? FileManager.default.currentDirectoryPath)
                publish = publish ?? URL(string: "http://127.0.0.1:\(first.port)/v1/publish")
                publishSecret = publishSecret ?? first.environment["PUBLISH_TOKEN"]
                if tokens.isEmpty, let issuer = first.environment["JWT_ISSUER"],
                    let audience = first.environment["JWT_AUDIENCE"],
                    let pem = LocalSecrets(directory: directory).connectionTokenKey()
                {
                    let minter = try TokenMinter(privateKeyPEM: pem, issuer: issuer, audience: audience)
                    // The server allows 20 connections per user: 16 per user leaves room for a reconnect. Each token
                    // names only the rooms of its user's connections, as a real user's names their tenders.
                    tokens = try (0..<(connections + 15) / 16).map { user in
                        let own = Set((user * 16..<min(connections, user * 16 + 16)).map { $0 % rooms })
                        return try minter.token(
                            user: "load-\(user)", tenders: own.sorted().map { LoadTestOptions.room($0, of: rooms) })
                    }
                }
            }
            guard let publish = publish ?? urls.first.map({ $0.appendingPathComponent("v1/publish") }) else {
                throw CommandFailure("give --url (and --publish-url), or --env for a local run")
            }
            let minted = tokens
            let auth: @Sendable (Int) -> JSONValue
            if minted.isEmpty {
                auth = { index in JSONValue.object([(key: "user", value: .string("load-\(index / 16)"))]) }
            } else {
                auth = { index in
                    JSONValue.object([(key: "token", value: .string(minted[minted.count == 1 ? 0 : index / 16]))])
                }
            }
            return LoadTestOptions(
                urls: urls, publishURL: publish, publishToken: publishSecret, connections: connections, rooms: rooms,
                rate: rate, duration: duration, ramp: ramp ?? min(10, Double(connections) / 1000),
                transport: transport == .websocket ? .websocket : .polling, auth: auth, headers: headers,
                threads: threads, allowRemote: allowRemote)
        }

        /// Every client of a local load test comes from 127.0.0.1, so through the front door they share one client
        /// IP's rate limit, as Cloud Armor would apply it: a test that needs more requests than that is told so.
        private func warnAboutRateLimit(_ name: String, working: String) {
            guard !direct, url.isEmpty,
                let topology = EnvironmentLoader(workingDirectory: working)
                    .load(path: EnvironmentLoader.environmentPath(for: env ?? name)).topology,
                let limit = topology.loadBalancer?.rateLimit
            else { return }
            // WebSocket: one request per connection (and per reconnect); polling: several per second each.
            let requests = transport == .websocket ? connections : connections * Int(duration + 1) * 2
            guard requests > limit.requests else { return }
            FileHandle.standardError.write(
                Data(
                    ("tfctl: warning: this test makes about \(requests) requests through the front door, over the "
                        + "environment's rate limit of \(limit.requests) per \(limit.intervalSeconds) s per "
                        + "\(limit.key.description) (every client here is 127.0.0.1); the excess is refused with 429, as "
                        + "Cloud Armor would: use --direct to measure the servers alone\n").utf8))
        }

        private func parse(_ text: String) throws -> URL {
            guard let url = URL(string: text), url.host != nil else { throw CommandFailure("\(text) is not a URL") }
            return url
        }
    }
#endif
