import EngineIO
import NIOCore
import NIOWebSocket
import Synchronization

/// The inbound side of one WebSocket, on its event loop: client frames become Engine.IO packets for its
/// `WebSocketTransport`; pings, fragments and the close handshake (RFC 6455 §5.4, §5.5, §7) are handled here.
/// A protocol violation is answered with a close frame carrying its status code, and the socket ends.
final class WebSocketReader: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame

    private let sink: FrameSink
    private let transport: WebSocketTransport
    private let maxPayload: Int
    /// A fragmented message being put together (§5.4).
    private var partial: (opcode: WebSocketOpcode, data: ByteBuffer)?
    /// Set once the client's close frame or a protocol error ended the reading.
    private var stopped = false

    init(sink: FrameSink, transport: WebSocketTransport, maxPayload: Int) {
        self.sink = sink
        self.transport = transport
        self.maxPayload = maxPayload
    }

    func handlerAdded(context: ChannelHandlerContext) {
        transport.post(.opened)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !stopped else { return }
        let frame = unwrapInboundIn(data)
        // Client frames are masked, and no extension that would give the reserved bits a meaning is offered.
        guard frame.maskKey != nil, !frame.rsv1, !frame.rsv2, !frame.rsv3 else { return fail(1002) }
        switch frame.opcode {
        case .ping:
            sink.write(.pong(frame.unmaskedData))
        case .pong:
            break
        case .connectionClose:
            stopped = true
            var payload = frame.unmaskedData
            sink.closeReceived(code: payload.readInteger(as: UInt16.self))
        case .text, .binary:
            guard partial == nil else { return fail(1002) }
            if frame.fin {
                received(frame.opcode, frame.unmaskedData)
            } else {
                partial = (frame.opcode, frame.unmaskedData)
            }
        case .continuation:
            guard var message = partial else { return fail(1002) }
            partial = nil
            var fragment = frame.unmaskedData
            guard message.data.readableBytes + fragment.readableBytes <= maxPayload else { return fail(1009) }
            message.data.writeBuffer(&fragment)
            if frame.fin {
                received(message.opcode, message.data)
            } else {
                partial = message
            }
        default:
            fail(1002)
        }
    }

    private func received(_ opcode: WebSocketOpcode, _ data: ByteBuffer) {
        let packet: EnginePacket
        if opcode == .text {
            guard let text = String(validating: data.readableBytesView, as: UTF8.self) else { return fail(1007) }
            guard let decoded = try? EngineCodec.decode(text) else {
                // Not an Engine.IO packet: the session ends, as in the reference server, and the socket with it.
                transport.post(.ended(.invalidPacket("not an Engine.IO packet")))
                return
            }
            packet = decoded
        } else {
            packet = .binary(Array(data.readableBytesView))
        }
        transport.post(.packet(packet))
    }

    private func fail(_ code: UInt16) {
        stopped = true
        partial = nil
        transport.post(.ended(.transportError))
        sink.fail(code)
    }

    func channelInactive(context: ChannelHandlerContext) {
        sink.closed()
        transport.post(.ended(.transportClose))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !stopped else { return }
        if let error = error as? NIOWebSocketError {
            fail(error == .invalidFrameLength ? 1009 : 1002)
        } else {
            stopped = true
            transport.post(.ended(.transportError))
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            transport.post(.ended(.serverShuttingDown))
        } else if let event = event as? ChannelEvent, event == .inputClosed {
            // The client's TCP connection ended without a close frame (the server's child channels allow half
            // closure, so this is an event, not a close): the socket is gone now, not at the next missed ping.
            stopped = true
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// One WebSocket's Engine.IO side: a new session, or the upgrade of a polling one (`2probe` → `3probe`, then `5`),
/// fed in order with what the `WebSocketReader` decoded. A task works through the events while there are any,
/// so an idle WebSocket holds no task; the channel stops reading while `pendingLimit` of them wait, so a client
/// cannot queue without bound.
final class WebSocketTransport: @unchecked Sendable {
    enum Event: Sendable {
        /// The socket is open: create the session, or find the one being upgraded.
        case opened
        case packet(EnginePacket)
        /// The socket is closing or gone, with the reason the session is closed with.
        case ended(CloseReason)
        /// The upgrade of a polling session has had its `upgradeTimeout`.
        case upgradeTimedOut
    }

    private let engine: EngineServer
    private let sink: FrameSink
    private let channel: any Channel
    /// The polling session this WebSocket upgrades, if the request named one.
    private let upgradingSID: String?
    static let pendingLimit = 16

    private let inbox = Mutex<(events: [Event], running: Bool)>(([], false))
    // Touched only by the running processor: one at a time, handed over through `inbox`'s lock.
    private var session: EngineSession?
    private var upgrading: EngineSession?
    private var upgradeDeadline: Scheduled<Void>?
    private var finished = false

    /// The client's address, for a session this WebSocket opens.
    private let clientAddress: String?

    init(engine: EngineServer, sink: FrameSink, channel: any Channel, upgradingSID: String?, clientAddress: String?) {
        self.engine = engine
        self.clientAddress = clientAddress
        self.sink = sink
        self.channel = channel
        self.upgradingSID = upgradingSID
    }

    /// Queues `event`. On the channel's event loop (the reader posts).
    func post(_ event: Event) {
        let (waiting, start) = inbox.withLock { inbox in
            inbox.events.append(event)
            defer { inbox.running = true }
            return (inbox.events.count, !inbox.running)
        }
        if start { Task { await self.process() } }
        if waiting >= Self.pendingLimit {
            channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        }
    }

    private func process() async {
        while true {
            let events = inbox.withLock { inbox in
                defer { inbox.events.removeAll(keepingCapacity: false) }
                if inbox.events.isEmpty { inbox.running = false }
                return inbox.events
            }
            if events.isEmpty { return }
            for event in events { await handle(event) }
            if events.count >= Self.pendingLimit {
                // `post` paused reading for this backlog, which is now handled.
                channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            }
        }
    }

    private func handle(_ event: Event) async {
        guard !finished else { return }
        switch event {
        case .opened:
            if let sid = upgradingSID {
                upgrading = await engine.registry.session(sid)
                guard upgrading != nil else { return await end(reason: .failedUpgrade("unknown session")) }
                // An upgrade that is not completed in time is given up, as in the reference server (its
                // `upgradeTimeout`, 10 s by default): without it a WebSocket that sent a probe and nothing more
                // (or not even that) would stay open, and hold its descriptor, after its session had long ended.
                let timeout = TimeAmount.milliseconds(Int64(engine.configuration.engine.upgradeTimeout))
                upgradeDeadline = channel.eventLoop.scheduleTask(in: timeout) { [self] in post(.upgradeTimedOut) }
            } else {
                let created = await engine.open(webSocket: sink, clientAddress: clientAddress)
                sink.write(WireFrames(engine.configuration.engine.openPacket(sid: created.id, upgrades: [])))
                session = created
            }
        case .packet(let packet):
            guard let candidate = upgrading else { return await session?.receive(packet) ?? () }
            // Upgrade handshake: only probes and the final upgrade packet are expected here.
            if packet.type == .ping, packet.text == "probe", await candidate.beginUpgrade() {
                sink.write(WireFrames(EnginePacket(.pong, .text("probe"))))
            } else if packet.type == .upgrade, await candidate.state == .upgrading {
                await candidate.completeUpgrade(sink)
                session = candidate
                upgrading = nil
                upgradeDeadline?.cancel()
            } else {
                await end(reason: .failedUpgrade("unexpected packet during upgrade"))
            }
        case .ended(let reason):
            await end(reason: reason)
        case .upgradeTimedOut:
            if upgrading != nil { await end(reason: .failedUpgrade("not completed within the upgrade timeout")) }
        }
    }

    private func end(reason: CloseReason) async {
        finished = true
        upgradeDeadline?.cancel()
        if let upgrading { await upgrading.abortUpgrade() }
        if let session, await session.isCarried(by: sink) { await session.close(reason: reason) }
        sink.close()
    }
}
