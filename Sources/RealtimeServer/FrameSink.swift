import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Synchronization

/// The WebSocket route's request context: Hummingbird's, plus the connection's channel, which `FrameSink`
/// writes to.
struct RealtimeWebSocketContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}

/// A WebSocket session's frames, written straight onto its channel on the channel's event loop, in the order
/// they are handed over: no queue and no task between a broadcast and the socket, and one event-loop task per
/// loop for a whole broadcast (`broadcast`). A client that stops reading makes the channel unwritable;
/// volatile frames are dropped for it then, and once more than `limit` frames went out while it was
/// unwritable, the session's overflow handler runs (once) and closes it as too slow. The close frame goes
/// through the WebSocket library's own writer (`closer`), which runs the handshake.
final class FrameSink: @unchecked Sendable {
    private let channel: any Channel
    var eventLoop: any EventLoop { channel.eventLoop }
    private let limit: Int
    private let metrics: ServerMetrics
    private let closer: @Sendable () -> Void
    private let closed = Atomic<Bool>(false)
    private let overflowHandler = Mutex<(@Sendable () -> Void)?>(nil)
    // Touched on the channel's event loop only.
    private var backlog = 0
    private var overflowReported = false

    /// `closer`: sends the close frame and ends the socket; runs once, at the first `close`.
    init(channel: any Channel, limit: Int, metrics: ServerMetrics, closer: @escaping @Sendable () -> Void) {
        self.channel = channel
        self.limit = limit
        self.metrics = metrics
        self.closer = closer
    }

    /// What to do when the client is too far behind (the session closes it).
    func onOverflow(_ handler: @escaping @Sendable () -> Void) { overflowHandler.withLock { $0 = handler } }

    func write(_ frames: [OutboundFrame], volatile: Bool = false) {
        eventLoop.execute { self.writeOnLoop(frames, volatile: volatile) }
    }

    /// The same frames to many sockets: one task on each event loop writes them to all of that loop's sockets.
    static func broadcast(_ frames: [OutboundFrame], to sinks: [FrameSink], volatile: Bool) {
        var byLoop: [ObjectIdentifier: [FrameSink]] = [:]
        for sink in sinks { byLoop[ObjectIdentifier(sink.eventLoop), default: []].append(sink) }
        for group in byLoop.values {
            group[0].eventLoop.execute {
                for sink in group { sink.writeOnLoop(frames, volatile: volatile) }
            }
        }
    }

    private func writeOnLoop(_ frames: [OutboundFrame], volatile: Bool) {
        if channel.isWritable {
            backlog = 0
        } else {
            if volatile { return metrics.droppedVolatile.increment() }
            backlog += frames.count
            if backlog > limit, !overflowReported {
                overflowReported = true
                overflowHandler.withLock { $0 }?()
            }
        }
        for frame in frames {
            switch frame {
            case .text(let bytes):
                channel.write(WebSocketFrame(fin: true, opcode: .text, data: bytes), promise: nil)
            case .binary(let bytes):
                channel.write(WebSocketFrame(fin: true, opcode: .binary, data: bytes), promise: nil)
            }
        }
        channel.flush()
    }

    /// Sends the close frame (after everything written before) and ends the socket.
    func close() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        closer()
    }
}
