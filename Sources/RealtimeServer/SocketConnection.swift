import EngineIO
import JSON
import NIOCore
import SocketIO

/// The Socket.IO side of one Engine.IO session: decodes packets, connects namespaces, dispatches events.
actor SocketConnection {
    let session: EngineSession
    private let server: SocketServer
    private var decoder = SocketDecoder()
    private var bucket: TokenBucket
    private var excess = 0
    /// Server → client events waiting for their acknowledgement, by ack id.
    private var pendingAcks: [Int: CheckedContinuation<[JSONValue], any Error>] = [:]
    private var nextAckID = 0
    /// Packets waiting for their handler, oldest first; a task works through them while there are any.
    private var inbox: [SocketPacket] = []
    private var processor: Task<Void, Never>?
    private var isClosed = false
    /// Connected sockets by namespace.
    private var sockets: [String: Socket] = [:]
    private var connectDeadline: Scheduled<Void>?
    private var connectTimeout = 0

    nonisolated var rooms: Rooms { server.rooms }
    nonisolated var limits: SocketLimits { server.limits }
    /// The namespaces this connection's sockets may be in.
    nonisolated var namespaces: [String: Namespace] { server.namespaces }
    nonisolated var metrics: ServerMetrics { server.metrics }

    init(session: EngineSession, server: SocketServer) {
        self.session = session
        self.server = server
        self.bucket = TokenBucket(rate: server.limits.eventsPerSecond, burst: server.limits.eventBurst)
    }

    /// A client must CONNECT to a namespace within `milliseconds`, or the connection is closed; the same holds
    /// again whenever it has disconnected from every namespace.
    func start(connectTimeout milliseconds: Int) {
        connectTimeout = milliseconds
        connectDeadline = Timers.after(.milliseconds(milliseconds)) { [weak self] in
            guard let self else { return }
            Task { await self.closeIfNotConnected() }
        }
    }

    private func closeIfNotConnected() async {
        if sockets.isEmpty { await session.close(reason: .connectTimeout) }
    }

    func received(_ payload: EnginePacket.Payload) async {
        do {
            let packet: SocketPacket?
            switch payload {
            case .text(let text): packet = try decoder.receive(text: text)
            case .binary(let bytes): packet = try decoder.receive(binary: bytes)
            }
            guard let packet else { return }
            switch packet.type {
            case .ack, .binaryAck:
                // Answers go straight to the handler waiting for them, past the queue it may be blocking.
                if let id = packet.id, let continuation = pendingAcks.removeValue(forKey: id) {
                    continuation.resume(returning: packet.data?.arrayValue ?? [])
                }
            case .event, .binaryEvent:
                guard bucket.take() else { return await overLimit(packet.namespace) }
                enqueue(packet)
            default:
                enqueue(packet)
            }
        } catch {
            // An invalid packet closes the whole connection (socket.io-protocol test suite).
            await session.close(reason: .invalidPacket("\(error)"))
        }
    }

    /// Packets are handled one at a time, in arrival order, by a task of the connection's that runs while
    /// packets wait: the transport keeps reading while a handler waits (for an acknowledgement, say), and
    /// handlers never overlap.
    private func enqueue(_ packet: SocketPacket) {
        guard inbox.count < server.limits.inboxLimit else {
            Task { await self.session.close(reason: .inboxFull) }
            return
        }
        inbox.append(packet)
        // An idle connection has no task of its own: one starts with the first packet and ends with the last.
        guard processor == nil else { return }
        processor = Task { await self.processInbox() }
    }

    private func processInbox() async {
        while !inbox.isEmpty, !isClosed {
            await handle(inbox.removeFirst())
        }
        processor = nil
    }

    private func handle(_ packet: SocketPacket) async {
        switch packet.type {
        case .connect:
            await connect(packet)
        case .disconnect:
            // The Engine.IO connection stays open, even with no namespace left: the client may connect again
            // (socket.io-protocol test suite: after `41` the next packet is a ping), within the connect timeout.
            if let socket = sockets.removeValue(forKey: packet.namespace) { await left(socket) }
            if sockets.isEmpty, connectDeadline == nil { start(connectTimeout: connectTimeout) }
        case .event, .binaryEvent:
            let metrics = server.metrics.namespace(packet.namespace)
            metrics?.eventsReceived.increment()
            guard let socket = sockets[packet.namespace], let (name, arguments) = packet.event,
                let handler = server.namespaces[packet.namespace]?.handlers[name]
            else { return }
            let ack = packet.id.map { Acknowledgement(id: $0, namespace: packet.namespace, connection: self) }
            let started = ContinuousClock.now
            await handler(socket, arguments, ack)
            metrics?.handlerDuration.record(duration: ContinuousClock.now - started)
        case .ack, .binaryAck:
            break  // resolved on arrival, in `received`
        case .connectError:
            // Only servers send CONNECT_ERROR.
            await session.close(reason: .invalidPacket("CONNECT_ERROR from client"))
        }
    }

    /// An event over the rate limit is dropped with a `rate-limited` event; a client that keeps going is
    /// disconnected.
    private func overLimit(_ namespace: String) async {
        excess += 1
        server.metrics.rateLimited.increment()
        if excess > server.limits.excessBeforeDisconnect {
            await session.close(reason: .rateLimited)
        } else if sockets[namespace] != nil {
            let retry = Int((1000 / max(server.limits.eventsPerSecond, 0.001)).rounded(.up))
            await send(
                .event("rate-limited", [.object([("retryAfterMs", .number(Double(retry)))])], namespace: namespace))
        }
    }

    /// Logs the CONNECT of `namespace` as accepted or refused (`ConnectionAudit`).
    private func audit(
        _ outcome: ConnectionAudit.Outcome, _ namespace: String, user: String?, socket: String? = nil,
        reason: String? = nil
    ) async {
        guard let audit = server.audit else { return }
        let transport = await session.state == .webSocket ? "websocket" : "polling"
        audit.record(
            outcome, user: user, namespace: namespace, client: session.clientAddress, transport: transport,
            socket: socket, reason: reason)
    }

    private func connect(_ packet: SocketPacket) async {
        guard let namespace = server.namespaces[packet.namespace] else {
            server.metrics.connect(refused: .invalidNamespace)
            await audit(.refused, packet.namespace, user: nil, reason: "invalid namespace")
            await send(
                SocketPacket(
                    .connectError, namespace: packet.namespace, data: .object([("message", "Invalid namespace")])))
            return
        }
        if sockets[packet.namespace] != nil { return }
        connectDeadline?.cancel()
        connectDeadline = nil
        let auth = packet.data ?? .object([])
        let socketID = SessionRegistry.newID()
        let identity: Identity
        if let authenticator = server.authenticator {
            do {
                identity = try await authenticator.authenticate(auth)
            } catch {
                let reason = (error as? Authenticator.Refusal)?.reason ?? "unauthorized"
                server.metrics.authFailures.increment()
                server.metrics.connect(refused: .unauthorized)
                await audit(.refused, packet.namespace, user: nil, reason: "unauthorized: \(reason)")
                await send(
                    SocketPacket(
                        .connectError, namespace: packet.namespace,
                        data: .object([("message", "unauthorized"), ("data", .object([("reason", .string(reason))]))])))
                return
            }
        } else {
            identity = Identity(user: auth["user"]?.stringValue ?? socketID, tenders: nil, isAdmin: false)
        }
        guard NameLimits.fits(identity.user) else {
            server.metrics.connect(refused: .userIDTooLong)
            await audit(.refused, packet.namespace, user: nil, reason: "user id too long")
            await send(
                SocketPacket(
                    .connectError, namespace: packet.namespace,
                    data: .object([("message", .string("user id longer than \(NameLimits.maxBytes) bytes"))])))
            return
        }
        guard await server.users.open(identity.user, limit: server.limits.maxConnectionsPerUser) else {
            server.metrics.connect(refused: .tooManyConnections)
            await audit(.refused, packet.namespace, user: identity.user, reason: "too many connections")
            await send(
                SocketPacket(
                    .connectError, namespace: packet.namespace,
                    data: .object([
                        ("message", "too many connections"), ("data", .object([("user", .string(identity.user))])),
                    ])))
            return
        }
        let recovery = await recover(auth, namespace: packet.namespace, identity: identity)
        // The connection may have closed while this CONNECT waited (for the token check, the user count, Redis):
        // then nothing of the socket may stay behind, and a claimed session goes back.
        guard !isClosed else {
            await server.users.close(identity.user)
            if let recovery, let pid = recovery.socket.pid {
                await rooms.abandonRecovery(recovery.socket)
                server.cluster?.giveBack(pid: pid, recovery.session)
            }
            return
        }
        let socket =
            recovery?.socket
            ?? Socket(
                id: socketID, pid: server.cluster?.recovery.map { _ in SessionRegistry.newID() }, recovered: false,
                namespace: packet.namespace, auth: auth, identity: identity, connection: self)
        sockets[packet.namespace] = socket
        // Held from now on, so a close before the recovery ends releases the session instead of losing it.
        if let recovery, let pid = socket.pid { server.cluster?.track(pid: pid, recovery.session) }
        server.metrics.namespace(packet.namespace)?.sockets.increment(by: 1.0)
        await rooms.connected(socket)
        // Not counted against the socket's room limit, which is the client's to spend.
        if recovery == nil {
            for room in namespace.joinOnConnect(socket) where NameLimits.fits(room) {
                _ = await rooms.join(socket, room, limit: .max)
            }
        }
        var reply: [(String, JSONValue)] = [("sid", .string(socket.id))]
        if let pid = socket.pid { reply.append(("pid", .string(pid))) }
        await send(SocketPacket(.connect, namespace: packet.namespace, data: .object(reply)))
        server.metrics.connect(refused: nil)
        await audit(.accepted, packet.namespace, user: identity.user, socket: socket.id)
        if let recovery { await rooms.endRecovery(socket, replay: recovery.replay) }
        await namespace.onConnection(socket)
    }

    /// A client that presents the private id and offset of a socket that dropped gets that socket back (same id,
    /// same rooms) with the events it missed, when its session is still kept, belongs to the same user and
    /// namespace, and the stream still holds its offset; otherwise nil: a new socket, and a new private id
    /// that tells the client it was not recovered.
    private func recover(_ auth: JSONValue, namespace: String, identity: Identity) async -> Recovery? {
        guard let cluster = server.cluster, let recovery = cluster.recovery, let pid = auth["pid"]?.stringValue,
            let offset = auth["offset"]?.stringValue.flatMap(StreamOffset.init)
        else { return nil }
        let failed = server.metrics.recoveries(succeeded: false)
        guard let session = try? await cluster.claim(pid: pid, user: identity.user, namespace: namespace) else {
            failed.increment()
            return nil
        }
        // From here a session that is not used goes back (the client gets a new private id and resyncs).
        guard (try? await recovery.holds(offset, namespace: namespace)) == true else {
            cluster.giveBack(pid: pid, session)
            failed.increment()
            return nil
        }
        let socket = Socket(
            id: session.socketID, pid: pid, recovered: true, namespace: namespace, auth: auth, identity: identity,
            connection: self)
        await rooms.beginRecovery(socket, rooms: session.rooms)
        // Read after the socket is back in its rooms: whatever comes later is held for it, nothing falls between.
        guard let replay = try? await recovery.events(after: offset, namespace: namespace) else {
            await rooms.abandonRecovery(socket)
            cluster.giveBack(pid: pid, session)
            failed.increment()
            return nil
        }
        server.metrics.recoveries(succeeded: true).increment()
        return Recovery(socket: socket, session: session, replay: replay)
    }

    /// A socket got back by `recover`, with the session it was claimed from and the events it missed.
    private struct Recovery {
        let socket: Socket
        let session: ClusterRecovery.Session
        let replay: [ClusterMessage]
    }

    /// `recoverable`: the client may come back for this socket (it dropped; it did not leave).
    private func left(_ socket: Socket, recoverable: Bool = false) async {
        server.metrics.namespace(socket.namespace)?.sockets.decrement(by: 1.0)
        await server.users.close(socket.identity.user)
        let rooms = await self.rooms.disconnected(socket)
        if let pid = socket.pid { server.cluster?.untrack(pid: pid, recoverable: recoverable) }
        await server.namespaces[socket.namespace]?.onDisconnect(socket, rooms)
    }

    /// Sends `packet` with a fresh ack id and waits for the client's ACK, at most `timeout`.
    func request(_ packet: SocketPacket, timeout: Duration) async throws -> [JSONValue] {
        nextAckID += 1
        let id = nextAckID
        var packet = packet
        packet.id = id
        let deadline = Timers.after(timeout) { [weak self] in
            Task { await self?.expire(id) }
        }
        defer { deadline.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            pendingAcks[id] = continuation
            Task { await self.send(packet) }
        }
    }

    private func expire(_ id: Int) {
        pendingAcks.removeValue(forKey: id)?.resume(throwing: AcknowledgementTimeout())
    }

    func closed(reason: CloseReason) async {
        connectDeadline?.cancel()
        connectDeadline = nil
        isClosed = true
        inbox.removeAll()
        processor?.cancel()
        let waiting = pendingAcks.values
        pendingAcks.removeAll()
        for continuation in waiting { continuation.resume(throwing: AcknowledgementTimeout()) }
        let remaining = sockets.values.sorted { $0.namespace < $1.namespace }
        sockets.removeAll()
        for socket in remaining { await left(socket, recoverable: reason.isRecoverable) }
    }

    func closeConnection(reason: CloseReason) async { await session.close(reason: reason) }

    func send(_ packet: SocketPacket) async {
        let (text, attachments) = SocketCodec.encode(packet)
        await session.send([.message(text)] + attachments.map(EnginePacket.binary))
    }
}
