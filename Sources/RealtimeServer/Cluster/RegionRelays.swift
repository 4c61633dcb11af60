import Foundation
import JSON
import Logging
import Redis
import SocketIO
import Synchronization

/// Publishers to the Redis of every other region, kept in step with the relay endpoints document
/// (`RELAY_ENDPOINTS_FILE`, which tfctl mounts from Secret Manager at `latest`).
///
/// The file is read at start, every `refresh`, and soon after a relay could not take a message (a region whose
/// endpoint moved): a region added to the document gets a publisher, a removed one loses it, a changed endpoint
/// is reconnected. Cloud Run reads a mounted secret from Secret Manager whenever the file is read, so a new
/// region reaches running instances without a new revision. A file that cannot be read or is not a valid
/// document changes nothing: the relays this instance has stay, and the problem is logged once until it changes.
final class RegionRelays: Sendable {
    struct Endpoint: Sendable, Equatable {
        var url: String
        var caPEM: String?
    }

    private struct Relay {
        let endpoint: Endpoint
        let client: RedisClient
        let task: Task<Void, Never>
    }

    private struct State {
        var relays: [String: Relay] = [:]
        /// The relays' clients, by region name: what every broadcast goes through, kept ready.
        var clients: [RedisClient] = []
        /// The last problem logged, so a file broken for an hour is one line, not one a minute.
        var lastProblem: String?
        var stopped = false
    }

    private let file: String?
    private let ownRegion: String
    private let instanceID: String
    private let refresh: Duration
    private let logger: Logger
    private let state = Mutex(State())
    private let requests: AsyncStream<Reason>
    private let requestSink: AsyncStream<Reason>.Continuation

    /// Why the file is read again: its schedule, or a relay that failed (throttled).
    private enum Reason {
        case schedule
        case failure
    }

    /// The least time between two reads asked for by failing relays: a region that is down fails every publish.
    static let minimumRereadInterval = Duration.seconds(5)

    init(file: String?, ownRegion: String, instanceID: String, refresh: Duration, logger: Logger) {
        self.file = file
        self.ownRegion = ownRegion
        self.instanceID = instanceID
        self.refresh = refresh
        self.logger = logger
        (requests, requestSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The publisher of every other region, by region name.
    var clients: [RedisClient] { state.withLock { $0.clients } }

    /// The regions relayed to now, sorted.
    var regions: [String] { state.withLock { $0.relays.keys.sorted() } }

    /// Whether there is a relay endpoints file to follow (none: a single region, or no relay).
    var isConfigured: Bool { file != nil }

    /// Asks for the file to be read again soon (a relay could not take a message).
    func reread() { requestSink.yield(.failure) }

    /// Reads the file now, then again every `refresh` and when asked, until cancelled; then closes every relay.
    func run() async {
        load()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.refresh)
                    self.requestSink.yield(.schedule)
                }
            }
            group.addTask {
                var last = ContinuousClock.now
                for await reason in self.requests {
                    let wait = last + Self.minimumRereadInterval - .now
                    if reason == .failure, wait > .zero { try? await Task.sleep(for: wait) }
                    guard !Task.isCancelled else { break }
                    self.load()
                    last = .now
                }
            }
            await withTaskCancellationHandler {
                await group.next()
            } onCancel: {
                self.requestSink.finish()
            }
            group.cancelAll()
        }
        let tasks = state.withLock { state in
            state.stopped = true
            defer {
                state.relays.removeAll()
                state.clients.removeAll()
            }
            return state.relays.values.map(\.task)
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    /// Reads the file and brings the relays in line with it.
    func load() {
        guard let file else { return }
        let endpoints: [String: Endpoint]
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            endpoints = try Self.parse(data, ownRegion: ownRegion)
        } catch {
            let problem = "\(error)"
            let first = state.withLock { state in
                defer { state.lastProblem = problem }
                return state.lastProblem != problem
            }
            if first {
                logger.warning(
                    "kept the relays: the relay endpoints file could not be used",
                    metadata: ["file": "\(file)", "error": "\(problem)", "relays": "\(regions.joined(separator: ","))"])
            }
            return
        }
        apply(endpoints)
    }

    /// Starts a publisher for each new or changed region and stops those of regions no longer listed.
    func apply(_ endpoints: [String: Endpoint]) {
        var configurations: [String: RedisConfiguration] = [:]
        for (region, endpoint) in endpoints {
            do {
                var configuration = try RedisConfiguration(url: endpoint.url, caPEM: endpoint.caPEM)
                configuration.clientName = "tfctl-rt-\(instanceID)-relay"
                configurations[region] = configuration
            } catch {
                // The URL may carry the AUTH string: the region is named, the value is not.
                logger.warning(
                    "skipped a region of the relay endpoints file",
                    metadata: ["region": "\(region)", "error": "the url is not a Redis URL"])
            }
        }
        let (started, stopped) = state.withLock { state -> ([String], [Task<Void, Never>]) in
            state.lastProblem = nil
            guard !state.stopped else { return ([], []) }
            var stopped: [Task<Void, Never>] = []
            for (region, relay) in state.relays
            where configurations[region] == nil || relay.endpoint != endpoints[region] {
                stopped.append(relay.task)
                state.relays[region] = nil
            }
            var started: [String] = []
            for (region, configuration) in configurations.sorted(by: { $0.key < $1.key })
            where state.relays[region] == nil {
                var relayLogger = logger
                relayLogger[metadataKey: "relay"] = "\(region)"
                let client = RedisClient(configuration: configuration, logger: relayLogger)
                state.relays[region] = Relay(
                    endpoint: endpoints[region]!, client: client, task: Task { await client.run() })
                started.append(region)
            }
            state.clients = state.relays.keys.sorted().compactMap { state.relays[$0]?.client }
            return (started, stopped)
        }
        for task in stopped { task.cancel() }
        if !started.isEmpty || !stopped.isEmpty {
            logger.info(
                "relays updated",
                metadata: [
                    "relays": "\(regions.joined(separator: ","))", "added": "\(started.joined(separator: ","))",
                    "removed_or_changed": "\(stopped.count)",
                ])
        }
    }

    struct InvalidDocument: Error, CustomStringConvertible {
        let description: String
    }

    /// The endpoints of every region but `ownRegion` in a `tfctl.relay-endpoints/v1` document.
    static func parse(_ data: Data, ownRegion: String) throws -> [String: Endpoint] {
        guard let text = String(data: data, encoding: .utf8), let document = JSONValue.parse(Substring(text)) else {
            throw InvalidDocument(description: "not JSON")
        }
        guard document["format"]?.stringValue == "tfctl.relay-endpoints/v1" else {
            throw InvalidDocument(description: "format is not tfctl.relay-endpoints/v1")
        }
        guard case .object(let regions)? = document["regions"] else {
            throw InvalidDocument(description: "regions is not an object")
        }
        var endpoints: [String: Endpoint] = [:]
        // Every entry is checked, the reader's own too: a document broken anywhere is refused whole.
        for (region, entry) in regions {
            guard let url = entry["url"]?.stringValue else {
                throw InvalidDocument(description: "region \(region) has no url")
            }
            let ca = entry["ca"]
            guard ca == nil || ca?.stringValue != nil else {
                throw InvalidDocument(description: "region \(region): ca is not a string")
            }
            endpoints[region] = Endpoint(url: url, caPEM: ca?.stringValue.flatMap { $0.isEmpty ? nil : $0 })
        }
        endpoints[ownRegion] = nil
        return endpoints
    }
}
