import EngineIO
import Logging
import NIOCore
import Redis
import SocketIO
import Synchronization

/// Broadcasts between instances through Redis pub/sub (Memorystore): each room and each namespace has its own
/// channel, and an instance subscribes only to the rooms it has members in, so it receives only traffic it
/// delivers. The sending instance delivers to its own sockets at once and ignores its own message when Redis
/// echoes it, so every socket gets a broadcast exactly once; Redis keeps each channel in order, and one
/// instance publishes in the order it broadcasts, so a room's events from one sender arrive in order everywhere.
///
/// Redis down: local delivery goes on, cross-instance messages are counted as dropped (nothing is queued for
/// later, which would deliver stale updates), and every subscription is made again when Redis is back.
final class ClusterAdapter: Sendable {
    let instanceID: String
    let keys: RedisKeys
    let publisher: RedisClient
    private let subscriber: RedisClient
    /// Publishers to the Redis of every other region: what is broadcast here is published there too, and
    /// that region's instances deliver it as if one of theirs had sent it.
    let relays: RegionRelays
    private let subscriptions: Mutex<Subscriptions>
    private let inbound: AsyncStream<ClusterMessage>
    private let inboundSink: AsyncStream<ClusterMessage>.Continuation
    let metrics: ServerMetrics
    let logger: Logger
    /// Questions this instance asked the others, and how it answers theirs (see `ClusterQueries`).
    let queries = PendingQueries()
    /// The channel every instance hears questions on.
    var queryChannel: String { keys.queryChannel }

    /// The channel an instance hears forwarded polls and answers on.
    func instanceChannel(_ instance: String) -> String { keys.instanceChannel(instance) }
    /// Presence entries of every instance, in Redis.
    let presence: ClusterPresence
    /// Connection state recovery; nil when it is off.
    let recovery: ClusterRecovery?
    /// What to do with what other instances send, while `run` runs.
    let handlers = Mutex<ClusterInbound?>(nil)
    /// Polling requests forwarded from here, waiting for their owner's answer.
    /// The polls this instance forwarded and waits on (`ClusterAdapter+Forwarding.swift`).
    let forwards = PendingForwards()
    /// Sessions of the sockets connected here, by private id: written again every heartbeat.
    let liveSessions = Mutex<[String: ClusterRecovery.Session]>([:])
    /// A third of the presence TTL: how often presence and recovery sessions are refreshed.
    let heartbeatInterval: Duration

    struct Subscriptions {
        /// Channels this instance needs, with how many local rooms or namespaces want each.
        var wanted: [String: Int] = [:]
        /// Channels Redis confirmed on the current subscriber connection.
        var confirmed: Set<String> = []
        var waiters: [String: [Int: CheckedContinuation<Void, Never>]] = [:]
        var nextWaiter = 0
    }

    /// How long a join waits for Redis to confirm the room's subscription before it goes on without it.
    static let subscribeTimeout = Duration.seconds(1)
    /// Messages from other instances waiting to be delivered here; more are dropped and counted.
    static let inboundLimit = 65_536

    init(
        redis: RedisConfiguration, region: String = "local", instanceID: String, keys: RedisKeys = RedisKeys(),
        presenceTTL: Duration = .seconds(30), recoveryWindow: Duration? = .seconds(120),
        recoveryMaxEvents: Int = 10_000, relayEndpointsFile: String? = nil, relayRefresh: Duration = .seconds(60),
        metrics: ServerMetrics, logger: Logger
    ) {
        self.instanceID = instanceID
        heartbeatInterval = presenceTTL / 3
        self.keys = keys
        self.metrics = metrics
        self.logger = logger
        subscriptions = Mutex(Subscriptions())
        (inbound, inboundSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(Self.inboundLimit))
        var commands = redis
        commands.clientName = "tfctl-rt-\(instanceID)"
        publisher = RedisClient(
            configuration: commands, logger: logger,
            onConnect: { _ in metrics.redisConnected.record(1) }, onDisconnect: { metrics.redisConnected.record(0) })
        relays = RegionRelays(
            file: relayEndpointsFile, ownRegion: region, instanceID: instanceID, refresh: relayRefresh,
            metrics: metrics, logger: logger)
        var pubSub = redis
        pubSub.clientName = "tfctl-rt-\(instanceID)-sub"
        // The subscriber's callbacks reach the adapter through a box filled in below: the adapter owns the
        // subscriber, so the subscriber must not own the adapter.
        let callbacks = Callbacks()
        subscriber = RedisClient(
            configuration: pubSub, logger: logger, onPush: { callbacks.adapter?.received($0) },
            onConnect: { client in callbacks.adapter?.resubscribe(client) },
            onDisconnect: { callbacks.adapter?.subscriptionsLost() })
        presence = ClusterPresence(
            client: publisher, relays: relays, region: region, instanceID: instanceID,
            keys: keys, ttl: presenceTTL)
        if let recoveryWindow {
            recovery = ClusterRecovery(
                client: publisher, keys: keys, window: recoveryWindow, maxEvents: recoveryMaxEvents)
        } else {
            recovery = nil
        }
        callbacks.set(self)
    }

    private final class Callbacks: Sendable {
        private let box = Mutex<ClusterAdapterReference?>(nil)
        var adapter: ClusterAdapter? { box.withLock { $0?.adapter } }
        func set(_ adapter: ClusterAdapter) { box.withLock { $0 = ClusterAdapterReference(adapter: adapter) } }
    }

    private struct ClusterAdapterReference: Sendable {
        weak var adapter: ClusterAdapter?
    }

    /// A new subscriber connection has no subscriptions: every wanted channel is subscribed again.
    private func resubscribe(_ client: RedisClient) {
        let channels = subscriptions.withLock { $0.wanted.keys.sorted() }
        for chunk in stride(from: 0, to: channels.count, by: 512) {
            let slice = channels[chunk..<min(chunk + 512, channels.count)]
            client.sendPubSub(RESPCommand(["SUBSCRIBE"] + slice.map { RESPArgument($0) }))
        }
    }

    private func subscriptionsLost() {
        subscriptions.withLock { $0.confirmed.removeAll() }
    }

    var isConnected: Bool { publisher.isConnected && subscriber.isConnected }

    /// The region this instance runs in.
    var region: String { presence.region }

    /// Keeps both Redis connections up and hands what other instances send to `inbound` (broadcasts,
    /// questions, forwarded polls), and runs its heartbeat jobs, until cancelled.
    func run(_ inbound: ClusterInbound) async {
        handlers.withLock { $0 = inbound }
        want(instanceChannel(instanceID))
        want(queryChannel)
        defer {
            forwards.cancelAll()
            handlers.withLock { $0 = nil }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.publisher.run() }
            group.addTask { await self.subscriber.run() }
            // Every task here runs until cancelled: the first to end ends the adapter.
            if relays.isConfigured { group.addTask { await self.relays.run() } }
            group.addTask {
                for await message in self.inbound { await inbound.deliver(message) }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.heartbeatInterval)
                    guard self.publisher.isConnected else { continue }
                    self.refreshSessions()
                    await self.closeTakenOverSockets(inbound)
                    for job in inbound.heartbeat { await job() }
                }
            }
            await withTaskCancellationHandler {
                await group.next()
            } onCancel: {
                self.inboundSink.finish()
            }
            group.cancelAll()
        }
        subscriptions.withLock { state in
            for waiters in state.waiters.values { for waiter in waiters.values { waiter.resume() } }
            state.waiters.removeAll()
        }
    }

    // MARK: Channels

    /// The channel of a room, or of a whole namespace. The braces are a Redis Cluster hash tag: one room's
    /// messages stay on one shard, different rooms spread over the shards.
    func channel(namespace: String, room: String?) -> String {
        keys.broadcastChannel(namespace: namespace, room: room)
    }

    /// One more local room or namespace wants `channel`; the first one subscribes.
    func want(_ channel: String) {
        let first = subscriptions.withLock { state in
            state.wanted[channel, default: 0] += 1
            return state.wanted[channel] == 1
        }
        if first { subscriber.sendPubSub(RESPCommand("SUBSCRIBE", RESPArgument(channel))) }
    }

    /// Waits until Redis confirms the subscription to `channel`, so that a client told it joined a room gets
    /// every later broadcast, from any instance. Without Redis it returns at once; a confirmation that does
    /// not come in `subscribeTimeout` is not waited for either.
    func waitUntilSubscribed(_ channel: String) async {
        guard subscriber.isConnected else { return }
        let id = subscriptions.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiting = subscriptions.withLock { state in
                guard !state.confirmed.contains(channel), state.wanted[channel] != nil else { return false }
                state.waiters[channel, default: [:]][id] = continuation
                return true
            }
            guard waiting else { return continuation.resume() }
            Task {
                try? await Task.sleep(for: Self.subscribeTimeout)
                self.subscriptions.withLock { $0.waiters[channel]?.removeValue(forKey: id) }?.resume()
            }
        }
    }

    /// One fewer local room or namespace wants `channel`; the last one unsubscribes.
    func unsubscribe(_ channel: String) {
        let last = subscriptions.withLock { state in
            guard let count = state.wanted[channel] else { return false }
            if count > 1 {
                state.wanted[channel] = count - 1
                return false
            }
            state.wanted[channel] = nil
            return true
        }
        if last { subscriber.sendPubSub(RESPCommand("UNSUBSCRIBE", RESPArgument(channel))) }
    }

    // MARK: Messages

    enum Published {
        /// Kept for recovery and published through Redis, which sends it back here too: it is delivered with
        /// its offset when it comes back, not now.
        case echoed
        /// Published to the other instances; deliver it here now.
        case sent
        /// Redis is unreachable; deliver it here now.
        case dropped
    }

    /// Sends a broadcast to the other instances, in this region and the others; returns at once, in call order.
    func publish(_ message: ClusterMessage) -> Published {
        let channel = channel(namespace: message.namespace, room: message.room)
        // Encoded once, whichever command carries it.
        let envelope: ByteBuffer
        do {
            envelope = try message.encoded()
        } catch {
            // The edges bound names well below the envelope's limits; this is the last line, not the check.
            logger.error(
                "a broadcast too large for the cluster was delivered here only", metadata: ["error": "\(error)"])
            return .dropped
        }
        let plain = RESPCommand("PUBLISH", RESPArgument(channel), RESPArgument(envelope))
        let recoverable = recovery.flatMap {
            message.isRecoverable
                ? $0.publishCommand(envelope: envelope, namespace: message.namespace, channel: channel) : nil
        }
        // Each region keeps its own stream: offsets are only good within the region that gave them.
        for relay in relays.clients where !relay.sendAndForget(recoverable ?? plain) {
            metrics.clusterDroppedRelay.increment()
            // The region's endpoint may have moved (a recreated instance): the document says where it is now.
            relays.reread()
        }
        if let recoverable, subscriber.isConnected, publisher.sendAndForget(recoverable) {
            metrics.clusterPublished.increment()
            return .echoed
        }
        if publisher.sendAndForget(plain) {
            metrics.clusterPublished.increment()
            return .sent
        }
        metrics.clusterDroppedUnavailable.increment()
        return .dropped
    }

    /// A push from the subscriber connection, on its event loop.
    private func received(_ push: RESPValue) {
        guard let elements = push.elements, let kind = elements.first?.string, elements.count >= 2,
            let channel = elements[1].string
        else { return }
        switch kind {
        case "subscribe":
            let waiters = subscriptions.withLock { state in
                state.confirmed.insert(channel)
                return state.waiters.removeValue(forKey: channel)
            }
            for waiter in (waiters ?? [:]).values { waiter.resume() }
        case "unsubscribe":
            _ = subscriptions.withLock { $0.confirmed.remove(channel) }
        case "message":
            guard elements.count == 3, let payload = elements[2].bytes else { return }
            let message: ClusterMessage
            do {
                switch ClusterPayloadKind(payload) {
                case .forwardedPolling:
                    return received(forwarded: payload)
                case .query:
                    return received(query: payload)
                case .recoverableBroadcast:
                    // Delivered here too, now that it has its offset.
                    guard let recoverable = try ClusterRecovery.recoverable(payload) else { return }
                    message = recoverable
                case .broadcast:
                    message = try ClusterMessage(decoding: payload)
                    guard message.origin != instanceID else { return }  // delivered here already
                case nil:
                    throw ClusterMessage.Malformed()
                }
            } catch {
                logger.warning("ignored a malformed cluster message", metadata: ["channel": "\(channel)"])
                return
            }
            metrics.clusterReceived.increment()
            if case .dropped = inboundSink.yield(message) { metrics.clusterDroppedBacklog.increment() }
        default:
            break
        }
    }
}
