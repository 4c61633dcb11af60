import DequeModule
import JSON
import Logging
import SocketIO
import Synchronization

/// Mirrors what a fallback client needs into the Realtime Database: the recoverable events of each tender room
/// (`/tenders/<tender>/events/<event id>`), the system notices (`/system/notices/<event id>`), the notifications
/// to each user (`user:<id>` rooms of either namespace: `/users/<user key>/events/<event id>`, which the rules let
/// only that user read) and who is present on each tender (`/presence/<tender>/<user key>`). The instance that
/// accepts a broadcast stamps it with a global event id (`EventIDs`) and is its only writer: other instances and
/// regions deliver it from Redis and never write it again.
///
/// Writes are queued (bounded: when full, the oldest write gives way and is counted) and sent by one task as one multi-path `PATCH` per
/// batch, so a database that allows about a thousand writes a second
/// (https://firebase.google.com/docs/database/usage/limits) takes ten batches a second, not one write per event.
/// Socket delivery never waits on any of it. A failing database opens a circuit (`CircuitBreaker`): batches wait
/// in the queue and are retried, unchanged and in order, when a trial succeeds. Events leave the database after
/// `retention`, or when a tender has more than `maxEvents`: pruned with a shallow read and a null update.
final class FallbackMirror: Sendable {
    let configuration: FallbackConfiguration
    let ids: EventIDs
    private let client: RTDBClient
    private let metrics: FallbackMetrics
    private let logger: Logger
    private let state = Mutex(State())
    /// Finished by `stop()`: the loops end, and what is queued is sent.
    private let stopping = AsyncStream<Void>.makeStream()

    /// Where an event goes in the database.
    enum Target: Hashable, Comparable, Sendable {
        case tender(String)
        case notices
        case user(String)

        /// Recoverable events of a `tender:<id>` room of `/tenders`, namespace-wide `/system` notices, and the
        /// `user:<id>` room of either.
        init?(namespace: String, room: String?) {
            if let room, namespace == "/tenders" || namespace == "/system", let user = TenderFlow.user(ofRoom: room) {
                guard !user.isEmpty else { return nil }
                self = .user(String(user))
                return
            }
            switch (namespace, room) {
            case ("/system", nil):
                self = .notices
            case ("/tenders", let room?) where room.hasPrefix("tender:"):
                let id = room.dropFirst("tender:".count)
                guard TenderFlow.isTenderID(id) else { return nil }
                self = .tender(String(id))
            default:
                return nil
            }
        }

        var eventsPath: String {
            switch self {
            case .tender(let id): "tenders/\(id)/events"
            case .notices: "system/notices"
            case .user(let id): "users/\(RTDBKey.encode(id))/events"
            }
        }
    }

    struct Write: Sendable {
        enum Kind: Sendable { case event, presence, prune }
        let path: String
        let value: JSONValue
        let kind: Kind
        /// About what it adds to a request's body.
        var bytes = 64
    }

    struct State {
        var queue = Deque<Write>()
        var breaker = CircuitBreaker()
        /// When this instance last wrote an event of each target: the targets it prunes.
        var written: [Target: ContinuousClock.Instant] = [:]
    }

    init(
        configuration: FallbackConfiguration, client: RTDBClient, instance: String, metrics: FallbackMetrics,
        logger: Logger
    ) {
        self.configuration = configuration
        self.client = client
        ids = EventIDs(instance: instance)
        self.metrics = metrics
        self.logger = logger
    }

    // MARK: What is mirrored

    /// The packet a broadcast here delivers: for a mirrored target, with its global event id as the `eventId`
    /// member of its first argument, and queued for the database. Other packets, volatile ones, and events whose
    /// first argument is not an object (which has nowhere to carry the id: counted) are returned unchanged.
    func stamp(_ packet: SocketPacket, room: String?) -> SocketPacket {
        guard packet.type == .event, let target = Target(namespace: packet.namespace, room: room),
            case .array(let items)? = packet.data, items.count >= 1, case .string(let name) = items[0]
        else { return packet }
        guard items.count >= 2, case .object(var members) = items[1] else {
            metrics.droppedNotObject.increment()
            return packet
        }
        let (id, milliseconds) = ids.next()
        members.removeAll { $0.key == Self.eventIDKey }
        members.append((key: Self.eventIDKey, value: .string(id)))
        let arguments = [JSONValue.object(members)] + items.dropFirst(2)
        var stamped = packet
        stamped.data = .array([.string(name)] + arguments)
        // The arguments as JSON text: Firebase would turn arrays into objects, drop nulls, and refuse keys with
        // `.` or `$`; a string comes back as it went in.
        let text = JSONValue.array(arguments).serialized()
        guard text.utf8.count <= FallbackConfiguration.maxRecordBytes else {
            metrics.droppedTooLarge.increment()
            return stamped
        }
        let record = JSONValue.object([
            ("event", .string(name)), ("args", .string(text)),
            ("time", .number(Double(milliseconds))),
        ])
        let path = "\(target.eventsPath)/\(id)"
        enqueue(
            Write(path: path, value: record, kind: .event, bytes: text.utf8.count + path.utf8.count + 64),
            target: target)
        return stamped
    }

    /// The member of an event's first argument that carries its global id, in both channels.
    static let eventIDKey = "eventId"

    /// A user now present on a tender in `mode`, or gone from it (nil).
    func presence(tender: String, user: String, mode: PresenceMode?) {
        let value: JSONValue =
            mode.map {
                .object([("mode", .string($0.rawValue)), ("since", .number(Double(EventIDs.wallClockMilliseconds())))])
            }
            ?? .null
        enqueue(Write(path: "presence/\(tender)/\(RTDBKey.encode(user))", value: value, kind: .presence))
    }

    /// Queues a write. A full queue lets its oldest write go (the database is away; what is newest is what a
    /// fallback client will want first, and the oldest are the first the retention would delete).
    private func enqueue(_ write: Write, target: Target? = nil) {
        let (depth, dropped) = state.withLock { state -> (Int, Bool) in
            if let target { state.written[target] = .now }
            state.queue.append(write)
            guard state.queue.count > configuration.queueLimit else { return (state.queue.count, false) }
            state.queue.removeFirst()
            return (state.queue.count, true)
        }
        if dropped { metrics.droppedQueueFull.increment() }
        metrics.queueDepth.record(depth)
    }

    /// A room joined here: its target is pruned from now on, as if written to, so that events of a tender whose
    /// writers are gone (a deploy, a scale-in) still leave when the window has passed.
    /// Not a user's room, which every socket joins: pruned by the instances that write to it only (a pruning
    /// read per connected user would cost more than the notifications), and a client skips what is older than
    /// the window.
    func watch(namespace: String, room: String) {
        guard let target = Target(namespace: namespace, room: room) else { return }
        if case .user = target { return }
        state.withLock { $0.written[target] = .now }
    }

    // MARK: Sending

    /// Sends batches until `stop()` (or cancellation), pruning on the side; then, unless cancelled, sends what is
    /// queued, for at most `finalFlush`: the loops are cancelled, not this task, so the last requests go out.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in self.stopping.stream {} }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.configuration.flushInterval)
                    // A full batch is followed by the next at once: the interval gathers, it does not throttle.
                    while await self.flush() >= FallbackConfiguration.maxBatch, !Task.isCancelled {}
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.pruneInterval)
                    await self.prune()
                }
            }
            await group.next()
            group.cancelAll()
        }
        let deadline = ContinuousClock.now + Self.finalFlush
        while ContinuousClock.now < deadline, !Task.isCancelled, await flush() > 0 {}
    }

    /// Ends `run()` after a last flush: the server stops.
    func stop() { stopping.continuation.finish() }

    /// How long a stopping server keeps sending what it has queued (inside the drain's budget).
    static let finalFlush = Duration.seconds(2)

    /// Sends the first batch of the queue; returns how many writes it sent (0 when there was nothing to send,
    /// the circuit is open, or the batch failed and stays queued).
    @discardableResult
    func flush() async -> Int {
        let batch = state.withLock { state -> [Write] in
            guard !state.queue.isEmpty, state.breaker.allowsRequest(at: .now) else { return [] }
            return Self.batch(Array(state.queue.prefix(FallbackConfiguration.maxBatch)))
        }
        metrics.circuitState.record(state.withLock { $0.breaker.state.gauge })
        guard !batch.isEmpty else { return 0 }
        do {
            try await client.update(Self.merged(batch))
        } catch let failure as RTDBClient.Failure where failure.status == 400 || failure.status == 413 {
            // The database answered and refused the batch itself: sending it again would be refused again, and
            // would block everything queued behind it.
            state.withLock { state in
                state.queue.removeFirst(batch.count)
                state.breaker.succeeded()
            }
            metrics.batchesFailed.increment()
            metrics.droppedRejected.increment(by: Int64(batch.count))
            logger.error(
                "the Realtime Database refused a batch of the fallback mirror; it is dropped",
                metadata: ["error": "\(failure)", "writes": "\(batch.count)"])
            return 0
        } catch {
            // A token the database no longer takes is fetched again for the next try.
            if let failure = error as? RTDBClient.Failure, failure.status == 401 || failure.status == 403 {
                await client.tokens.invalidate()
            }
            let opened = state.withLock { $0.breaker.failed(at: .now) }
            metrics.batchesFailed.increment()
            if opened {
                metrics.circuitOpened.increment()
                metrics.circuitState.record(CircuitBreaker.State.open(until: .now).gauge)
                logger.warning(
                    "the Realtime Database fails: the fallback mirror waits before its next try",
                    metadata: ["error": "\(error)", "queued": "\(state.withLock { $0.queue.count })"])
            }
            return 0
        }
        let depth = state.withLock { state in
            state.queue.removeFirst(batch.count)
            state.breaker.succeeded()
            return state.queue.count
        }
        metrics.batchesWritten.increment()
        metrics.queueDepth.record(depth)
        metrics.circuitState.record(CircuitBreaker.State.closed.gauge)
        for write in batch {
            switch write.kind {
            case .event: metrics.eventsWritten.increment()
            case .presence: metrics.presenceWritten.increment()
            case .prune: metrics.pruned.increment()
            }
        }
        return batch.count
    }

    /// The writes at the head of `queue` that one request carries: at most `maxBatch`, and `maxBatchBytes` unless
    /// the first alone is larger.
    static func batch(_ queue: [Write]) -> [Write] {
        var bytes = 0
        var count = 0
        for write in queue.prefix(FallbackConfiguration.maxBatch) {
            bytes += write.bytes
            if count > 0, bytes > FallbackConfiguration.maxBatchBytes { break }
            count += 1
        }
        return Array(queue.prefix(count))
    }

    /// One update per batch: a path written twice keeps its last value (what applying them in order would
    /// leave), and no path appears twice, which Firebase refuses.
    static func merged(_ batch: [Write]) -> [(path: String, value: JSONValue)] {
        var index: [String: Int] = [:]
        var writes: [(path: String, value: JSONValue)] = []
        for write in batch {
            if let at = index[write.path] {
                writes[at].value = write.value
            } else {
                index[write.path] = writes.count
                writes.append((write.path, write.value))
            }
        }
        return writes
    }

    // MARK: Retention

    /// A quarter of the retention, between one and thirty seconds.
    var pruneInterval: Duration { min(max(configuration.retention / 4, .seconds(1)), .seconds(30)) }

    /// Deletes, for every target this instance wrote to lately, the events older than the retention and the
    /// oldest beyond `maxEvents`.
    func prune() async {
        let horizon = ContinuousClock.now - configuration.retention - pruneInterval * 2
        let (targets, closed) = state.withLock { state in
            state.written = state.written.filter { $0.value > horizon }
            return (state.written.keys.sorted(), state.breaker.state == .closed)
        }
        guard closed else { return }
        for target in targets {
            let keys: [String]
            do {
                keys = try await client.childKeys(target.eventsPath)
            } catch {
                logger.debug("pruning the fallback mirror failed", metadata: ["error": "\(error)"])
                continue
            }
            let cutoff = EventIDs.wallClockMilliseconds() - UInt64(configuration.retention / .milliseconds(1))
            for key in Self.expired(keys, before: cutoff, keep: configuration.maxEvents) {
                enqueue(Write(path: "\(target.eventsPath)/\(key)", value: .null, kind: .prune))
            }
        }
    }

    /// Of `keys` (event ids), the ones to delete: those of events accepted before `cutoff` (milliseconds), then
    /// the oldest of the rest beyond `keep`.
    static func expired(_ keys: [String], before cutoff: UInt64, keep: Int) -> [String] {
        let sorted = keys.sorted()
        let prefix = EventIDs.prefix(before: cutoff)
        let old = sorted.prefix { $0 < prefix }
        let over = max(0, sorted.count - old.count - keep)
        return Array(old) + sorted.dropFirst(old.count).prefix(over)
    }
}
