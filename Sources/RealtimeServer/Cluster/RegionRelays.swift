import Foundation
import JSON
import Logging
import NIOPosix
import Redis
import Synchronization

/// Publishers to the Redis of every other region, kept in step with the relay endpoints document
/// (`RELAY_ENDPOINTS_FILE`, which tfctl mounts from Secret Manager at `latest`).
///
/// The file is read at start, every `refresh`, and soon after a relay could not take a message (a region whose
/// endpoint moved): a region added to the document gets a publisher, a removed one loses it, a changed endpoint
/// is reconnected. Cloud Run reads a mounted secret from Secret Manager whenever the file is read, so a new
/// region reaches running instances without a new revision. A file that cannot be read or is not a valid
/// document changes nothing: the relays this instance has stay, and the problem is logged once until it changes.
/// Until a first document is accepted (an instance that started before the secret had a readable version), the
/// file is read again every `minimumRereadInterval`, not every `refresh`.
final class RegionRelays: Sendable {
    /// A region's entry in the document, and the client configuration made from it.
    struct Endpoint: Sendable, Equatable {
        var url: String
        var caPEM: String?
    }

    struct Target: Sendable {
        var endpoint: Endpoint
        var configuration: RedisConfiguration
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
        /// Whether a document was ever accepted.
        var loaded = false
        var stopped = false
    }

    private let file: String?
    private let ownRegion: String
    private let instanceID: String
    private let refresh: Duration
    private let metrics: ServerMetrics
    private let logger: Logger
    private let state = Mutex(State())
    private let requests: AsyncStream<Reason>
    private let requestSink: AsyncStream<Reason>.Continuation

    /// Why the file is read again: its schedule, or a relay that failed (throttled).
    private enum Reason {
        case schedule
        case failure
    }

    /// The least time between two reads asked for by failing relays (a region that is down fails every publish),
    /// and the retry interval until a first document is accepted.
    static let minimumRereadInterval = Duration.seconds(5)

    /// `interval` moved by a random fraction of itself, within ±`fraction`, so instances started together do not
    /// read together.
    static func jittered(_ interval: Duration, by fraction: Double) -> Duration {
        interval + interval * Double.random(in: -fraction...fraction)
    }

    init(
        file: String?, ownRegion: String, instanceID: String, refresh: Duration, metrics: ServerMetrics,
        logger: Logger
    ) {
        self.file = file
        self.ownRegion = ownRegion
        self.instanceID = instanceID
        self.refresh = refresh
        self.metrics = metrics
        self.logger = logger
        (requests, requestSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Whether there is a relay endpoints file to follow (none: a single region, or no relay).
    var isConfigured: Bool { file != nil }

    /// The publisher of every other region, by region name.
    var clients: [RedisClient] { state.withLock { $0.clients } }

    /// The publisher of `region`'s Redis, when the document lists it.
    func client(for region: String) -> RedisClient? { state.withLock { $0.relays[region]?.client } }

    /// The regions relayed to now, sorted.
    var regions: [String] { state.withLock { $0.relays.keys.sorted() } }

    /// Asks for the file to be read again soon (a relay could not take a message).
    func reread() { requestSink.yield(.failure) }

    /// Reads the file now, then again every `refresh` and when asked, until cancelled; then closes every relay.
    func run() async {
        await load()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    let loaded = self.state.withLock { $0.loaded }
                    try? await Task.sleep(
                        for: Self.jittered(loaded ? self.refresh : Self.minimumRereadInterval, by: 0.1))
                    self.requestSink.yield(.schedule)
                }
            }
            group.addTask {
                var last = ContinuousClock.now
                // Reads asked for by failures back off while they find nothing new (a region that is down, not
                // moved), doubling up to `refresh`: each read is a Secret Manager access, and every instance of
                // every other region sees the same region fail at once, so each reads at a random moment within
                // the interval after it may (Secret Manager allows 90 000 accesses a minute per project, shared
                // with the environment-variable secrets of every instance that starts).
                var failureInterval = Self.minimumRereadInterval
                for await reason in self.requests {
                    if reason == .failure {
                        let earliest = max(last + failureInterval, .now)
                        let wait = earliest + failureInterval * Double.random(in: 0...1) - .now
                        if wait > .zero { try? await Task.sleep(for: wait) }
                    }
                    guard !Task.isCancelled else { break }
                    let changed = await self.load()
                    last = .now
                    if reason == .failure {
                        failureInterval = changed ? Self.minimumRereadInterval : min(failureInterval * 2, self.refresh)
                    }
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
        await Self.stop(tasks)
    }

    private static func stop(_ tasks: [Task<Void, Never>]) async {
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    /// Reads the file (on the blocking-I/O pool: on Cloud Run a read is a Secret Manager access) and brings the
    /// relays in line with it; returns whether any relay changed.
    @discardableResult
    func load() async -> Bool {
        guard let file else { return false }
        let endpoints: [String: Target]
        do {
            let data = try await NIOThreadPool.singleton.runIfActive {
                try Data(contentsOf: URL(fileURLWithPath: file))
            }
            endpoints = try Self.parse(data, ownRegion: ownRegion, instanceID: instanceID)
        } catch {
            metrics.relayDocumentAccepted.record(0)
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
            return false
        }
        metrics.relayDocumentAccepted.record(1)
        return await apply(endpoints)
    }

    /// Starts a publisher for each new or changed region and stops those of regions no longer listed; returns
    /// whether any relay changed.
    private func apply(_ targets: [String: Target]) async -> Bool {
        let (started, stopped, count) = state.withLock { state -> ([String], [Task<Void, Never>], Int) in
            state.lastProblem = nil
            state.loaded = true
            guard !state.stopped else { return ([], [], 0) }
            var stopped: [Task<Void, Never>] = []
            for (region, relay) in state.relays
            where targets[region]?.endpoint != relay.endpoint {
                stopped.append(relay.task)
                state.relays[region] = nil
            }
            var started: [String] = []
            for (region, target) in targets.sorted(by: { $0.key < $1.key }) where state.relays[region] == nil {
                var relayLogger = logger
                relayLogger[metadataKey: "relay"] = "\(region)"
                let client = RedisClient(configuration: target.configuration, logger: relayLogger)
                state.relays[region] = Relay(
                    endpoint: target.endpoint, client: client, task: Task { await client.run() })
                started.append(region)
            }
            state.clients = state.relays.keys.sorted().compactMap { state.relays[$0]?.client }
            return (started, stopped, state.relays.count)
        }
        metrics.relayRegions.record(count)
        // Closed before returning, so none outlives the adapter.
        await Self.stop(stopped)
        guard !started.isEmpty || !stopped.isEmpty else { return false }
        logger.info(
            "relays updated",
            metadata: [
                "relays": "\(regions.joined(separator: ","))", "added": "\(started.joined(separator: ","))",
                "removed_or_changed": "\(stopped.count)",
            ])
        return true
    }

    struct InvalidDocument: Error, CustomStringConvertible {
        let description: String
    }

    /// The Redis of every region but `ownRegion` in a `tfctl.relay-endpoints/v1` document. A document broken
    /// anywhere is refused whole: not JSON, another format, a region without a usable URL or with a CA that is
    /// not a string, or one that does not list `ownRegion` (tfctl lists every region; a document without this
    /// one is another topology's, or cut short). The error never quotes a URL, which holds the AUTH string.
    static func parse(_ data: Data, ownRegion: String, instanceID: String) throws -> [String: Target] {
        guard let text = String(data: data, encoding: .utf8), let document = JSONValue.parse(Substring(text)) else {
            throw InvalidDocument(description: "not JSON")
        }
        guard document["format"]?.stringValue == "tfctl.relay-endpoints/v1" else {
            throw InvalidDocument(description: "format is not tfctl.relay-endpoints/v1")
        }
        guard case .object(let regions)? = document["regions"] else {
            throw InvalidDocument(description: "regions is not an object")
        }
        guard regions.contains(where: { $0.key == ownRegion }) else {
            throw InvalidDocument(description: "this instance's region \(ownRegion) is not listed")
        }
        var endpoints: [String: Target] = [:]
        for (region, entry) in regions {
            guard let url = entry["url"]?.stringValue else {
                throw InvalidDocument(description: "region \(region) has no url")
            }
            let ca = entry["ca"]
            guard ca == nil || ca?.stringValue != nil else {
                throw InvalidDocument(description: "region \(region): ca is not a string")
            }
            let endpoint = Endpoint(url: url, caPEM: ca?.stringValue.flatMap { $0.isEmpty ? nil : $0 })
            do {
                var configuration = try RedisConfiguration(url: endpoint.url, caPEM: endpoint.caPEM)
                configuration.clientName = "tfctl-rt-\(instanceID)-relay"
                endpoints[region] = Target(endpoint: endpoint, configuration: configuration)
            } catch {
                throw InvalidDocument(description: "region \(region): the url or ca is not usable")
            }
        }
        endpoints[ownRegion] = nil
        return endpoints
    }
}
