import EngineIO
import NIOCore
import Synchronization

/// Packets for one or many sessions: as Engine.IO packets for polling, as frames for WebSockets.
struct PreparedPackets: Sendable {
    let packets: [EnginePacket]
    private let encoded: WireFrames?

    /// `shared`: the packets go to many sessions, so their frames are encoded now, once for all of them;
    /// otherwise only when a WebSocket needs them (a polling session never does).
    init(_ packets: [EnginePacket], shared: Bool = false) {
        self.packets = packets
        self.encoded = shared ? WireFrames(packets) : nil
    }

    var frames: WireFrames { encoded ?? WireFrames(packets) }
}

/// One Engine.IO session: its transport (long-polling, upgrading, WebSocket), what is queued for the client,
/// and the heartbeat. Everything that touches the session goes through this actor, so a held polling GET,
/// POSTs, WebSocket frames and timers never race.
actor EngineSession {
    enum State: Sendable, Equatable {
        case polling
        case upgrading
        case webSocket
        case closed
    }

    nonisolated let id: String
    private let configuration: EngineConfiguration
    private let queueLimit: Int
    private(set) var state: State
    private var outbox: [EnginePacket] = []
    /// The held polling GET, waiting for packets.
    private var waiter: CheckedContinuation<[EnginePacket], Never>?
    /// Counts held GETs, so the end of an old GET's connection cannot close the session of a newer one.
    private var pollRound = 0
    /// Whether the held GET came through another instance (`poll(forwarded:)`): its client's connection is not
    /// watched here, so a lost one cannot be told apart from a live one.
    private var heldGetForwarded = false
    private var posting = false
    private var sink: FrameSink?
    /// `sink` while the session is on a WebSocket, readable without entering the actor: broadcasts write their
    /// frames straight to the socket instead of hopping onto every recipient's actor.
    private nonisolated let directSink = Mutex<FrameSink?>(nil)
    /// A ping is out and its pong has not come yet.
    private var awaitingPong = false
    private var heartbeat: Scheduled<Void>?
    private var heartbeatRound = 0
    private var messageHandler: (@Sendable (EnginePacket.Payload) async -> Void)?
    /// Why the session closed, once it has.
    private var closedBy: CloseReason?
    private var closeHandler: (@Sendable (CloseReason) async -> Void)?
    private let removeFromRegistry: @Sendable (String) async -> Void
    private let metrics: ServerMetrics

    /// The client's address, from the request that opened the session (`ConnectionAudit.clientAddress`).
    nonisolated let clientAddress: String?

    init(
        id: String, configuration: EngineConfiguration, queueLimit: Int,
        webSocket: FrameSink?, metrics: ServerMetrics, clientAddress: String? = nil,
        removeFromRegistry: @escaping @Sendable (String) async -> Void
    ) {
        self.id = id
        self.clientAddress = clientAddress
        self.configuration = configuration
        self.queueLimit = queueLimit
        self.sink = webSocket
        self.state = webSocket == nil ? .polling : .webSocket
        self.directSink.withLock { $0 = webSocket }
        self.metrics = metrics
        self.removeFromRegistry = removeFromRegistry
        metrics.connections(state)?.increment(by: 1.0)
        if let webSocket { adopt(webSocket) }
    }

    /// Installs the layer above and starts the heartbeat. A session closed before it started (a drain that
    /// came in between its registration and this call) tells the layer above at once, and keeps nothing.
    func start(
        onMessage: @escaping @Sendable (EnginePacket.Payload) async -> Void,
        onClose: @escaping @Sendable (CloseReason) async -> Void
    ) async {
        if state == .closed {
            await onClose(closedBy ?? .serverShuttingDown)
            return
        }
        messageHandler = onMessage
        closeHandler = onClose
        scheduleHeartbeat()
    }

    /// The reference server's heartbeat: a ping `pingInterval` after the session opened or the last pong, and
    /// the session closed when that ping goes `pingTimeout` without a pong. A ping therefore comes at most
    /// `pingInterval` plus the round trip after the previous one, well inside the `pingInterval + pingTimeout`
    /// that clients wait before they give up on the server.
    private func scheduleHeartbeat() {
        heartbeat?.cancel()
        awaitingPong = false
        heartbeatRound += 1
        let round = heartbeatRound
        heartbeat = Timers.after(.milliseconds(configuration.pingInterval)) {
            [weak self] in
            guard let self else { return }
            Task { await self.sendPing(round) }
        }
    }

    /// `round`: the heartbeat that asked; a pong since then has started another, and this one is void.
    private func sendPing(_ round: Int) {
        guard state != .closed, round == heartbeatRound else { return }
        awaitingPong = true
        enqueue([EnginePacket(.ping)])
        heartbeat = Timers.after(.milliseconds(configuration.pingTimeout)) {
            [weak self] in
            guard let self else { return }
            Task { await self.pingTimedOut(round) }
        }
    }

    private func pingTimedOut(_ round: Int) async {
        // A pong that came meanwhile has already cleared the flag and scheduled the next ping.
        guard state != .closed, round == heartbeatRound, awaitingPong else { return }
        await close(reason: .pingTimeout)
    }

    // MARK: Sending

    /// Queues packets for the client: written to the WebSocket, or held for the next polling GET. A client that
    /// lets more than the queue limit pile up is closed rather than buffered without bound.
    /// Volatile packets (typing indicators) are dropped instead when the client is behind: something already
    /// waits for a polling client, or the WebSocket queue is full.
    func send(_ packets: [EnginePacket], volatile: Bool = false) async {
        await send(PreparedPackets(packets), volatile: volatile)
    }

    func send(_ prepared: PreparedPackets, volatile: Bool = false) async {
        guard state != .closed else { return }
        if volatile {
            if state != .webSocket, !outbox.isEmpty {
                // A polling client with a backlog would get it late: drop it.
                metrics.droppedVolatile.increment()
                return
            }
            if enqueue(prepared, volatile: true) == .full { metrics.droppedVolatile.increment() }
            return
        }
        if enqueue(prepared) == .full { await closeSlowConsumer() }
    }

    /// `send` for a broadcast: a session on a WebSocket takes the frames without entering the actor, so a
    /// broadcast does not hop onto every recipient's actor (it runs on the caller's); the others go through
    /// `send`.
    func deliver(
        _ prepared: PreparedPackets, volatile: Bool, isolation: isolated (any Actor)? = #isolation
    ) async {
        guard let sink = directSink.withLock({ $0 }) else {
            await send(prepared, volatile: volatile)
            return
        }
        sink.write(prepared.frames, volatile: volatile)
    }

    private func closeSlowConsumer() async {
        metrics.slowConsumersClosed.increment()
        await close(reason: .slowConsumer)
    }

    private enum Enqueued {
        case queued
        /// The polling queue is over its limit (a WebSocket's sink reports that on its own).
        case full
    }

    @discardableResult
    private func enqueue(_ packets: [EnginePacket]) -> Enqueued { enqueue(PreparedPackets(packets)) }

    private func enqueue(_ prepared: PreparedPackets, volatile: Bool = false) -> Enqueued {
        if state == .webSocket, let sink {
            sink.write(prepared.frames, volatile: volatile)
            return .queued
        }
        outbox.append(contentsOf: prepared.packets)
        answerHeldGet(with: drain())
        return outbox.count <= queueLimit ? .queued : .full
    }

    /// The session's socket when broadcasts may write to it directly (see `deliver`).
    nonisolated var directWriter: FrameSink? { directSink.withLock { $0 } }

    /// A client too far behind on `sink` is closed as a slow consumer.
    private nonisolated func adopt(_ sink: FrameSink) {
        sink.onOverflow { [weak self] in
            Task { await self?.closeSlowConsumer() }
        }
    }

    private func drain() -> [EnginePacket] {
        defer { outbox.removeAll(keepingCapacity: true) }
        return outbox
    }

    // MARK: Long-polling

    /// A polling GET: returns queued packets at once, or waits for some. A GET held on `connection` that ends with
    /// it (the client aborted the request, or its TCP connection dropped) closes the session as a transport close,
    /// at once (engine.io protocol test suite: "closes the session upon cancelled polling request"). A second
    /// concurrent GET is a protocol violation that closes the session, unless the held one was `forwarded` by
    /// another instance: its client's connection is not watched here, and the client polls again when it is lost
    /// (or when the instance that forwarded it drains), so the new GET takes its place and the old one is
    /// answered with a noop.
    func poll(connection: ConnectionWatch? = nil, forwarded: Bool = false) async throws -> [EnginePacket] {
        switch state {
        case .closed: return [EnginePacket(.close)]
        case .webSocket: throw EngineError(.badRequest)
        case .upgrading: return [EnginePacket(.noop)]
        case .polling: break
        }
        if waiter != nil {
            guard heldGetForwarded else {
                await close(reason: .overlappingPolls)
                throw EngineError(.badRequest)
            }
            answerHeldGet(with: [EnginePacket(.noop)])
        }
        if !outbox.isEmpty { return drain() }
        pollRound += 1
        let round = pollRound
        heldGetForwarded = forwarded
        connection?.onClose { [weak self] in
            Task { await self?.pollLost(round) }
        }
        defer { connection?.clear() }
        return await withCheckedContinuation { continuation in waiter = continuation }
    }

    /// The instance that forwarded the held GET gave it up: it is answered with a noop, and what is sent next
    /// waits for the client's next GET.
    func releaseForwardedPoll() {
        guard heldGetForwarded else { return }
        answerHeldGet(with: [EnginePacket(.noop)])
    }

    /// Answers the held GET, if one is held, with `packets` (evaluated only then); returns whether one was.
    @discardableResult
    private func answerHeldGet(with packets: @autoclosure () -> [EnginePacket]) -> Bool {
        guard let waiter else { return false }
        self.waiter = nil
        waiter.resume(returning: packets())
        return true
    }

    /// Whether a polling GET is waiting for packets.
    var isHoldingPoll: Bool { waiter != nil }

    /// The connection of held GET number `round` ended before the GET was answered.
    private func pollLost(_ round: Int) async {
        guard round == pollRound, answerHeldGet(with: []) else { return }
        await close(reason: .transportClose)
    }

    /// A polling POST's packets, in order.
    func post(_ packets: [EnginePacket]) async throws {
        guard state == .polling || state == .upgrading else { throw EngineError(.badRequest) }
        guard !posting else {
            await close(reason: .overlappingPolls)
            throw EngineError(.badRequest)
        }
        posting = true
        defer { posting = false }
        for packet in packets { await receive(packet) }
    }

    // MARK: Receiving

    func receive(_ packet: EnginePacket) async {
        guard state != .closed else { return }
        switch packet.type {
        case .pong: if awaitingPong { scheduleHeartbeat() }
        case .message: await messageHandler?(packet.payload)
        case .close: await close(reason: .clientClose)
        default: break
        }
    }

    // MARK: Upgrade

    /// `2probe` arrived on a new WebSocket: polling pauses, and a held GET is answered with a noop.
    func beginUpgrade() -> Bool {
        guard state == .polling else { return false }
        state = .upgrading
        answerHeldGet(with: [EnginePacket(.noop)])
        return true
    }

    /// `5` arrived: the WebSocket is the transport from now on; what was queued for polling goes out on it.
    func completeUpgrade(_ webSocket: FrameSink) async {
        guard state == .upgrading else { return }
        state = .webSocket
        metrics.pollingConnections.decrement(by: 1.0)
        metrics.webSocketConnections.increment(by: 1.0)
        sink = webSocket
        adopt(webSocket)
        let pending = drain()
        if enqueue(pending) == .full {
            await closeSlowConsumer()
            return
        }
        // Only now, with the polling backlog ahead of them on the socket, may broadcasts bypass the actor.
        directSink.withLock { $0 = webSocket }
    }

    /// The upgrading WebSocket went away before `5`: polling resumes.
    func abortUpgrade() {
        guard state == .upgrading else { return }
        state = .polling
        metrics.upgradeFailures.increment()
    }

    // MARK: Closing

    func close(reason: CloseReason) async {
        guard state != .closed else { return }
        metrics.connections(state)?.decrement(by: 1.0)
        metrics.sessionClosed(reason)
        state = .closed
        closedBy = reason
        directSink.withLock { $0 = nil }
        heartbeat?.cancel()
        // A client's own close packet answers its held GET with a noop, as the reference server's polling
        // transport does; a close of the server's tells the GET so.
        answerHeldGet(with: [EnginePacket(reason == .clientClose ? .noop : .close)])
        sink?.close()
        sink = nil
        await removeFromRegistry(id)
        // The handlers hold the layer above (the Socket.IO connection), which holds this session: let go of
        // them, or every session and its connection would stay in memory for the life of the process.
        let closeHandler = self.closeHandler
        self.closeHandler = nil
        messageHandler = nil
        await closeHandler?(reason)
    }

    /// Whether the WebSocket that `webSocket` writes to carries this session (an upgrade WebSocket that never
    /// completed does not).
    func isCarried(by webSocket: FrameSink) -> Bool { state == .webSocket && sink === webSocket }
}
