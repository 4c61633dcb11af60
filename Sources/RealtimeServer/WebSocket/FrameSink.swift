import NIOCore
import Synchronization

/// A WebSocket's outbound side: a handler at the head of the channel's pipeline whose context writes frames,
/// already encoded, straight to the socket, on the channel's event loop, in the order they are handed over; no
/// queue and no task between a broadcast and the socket. A broadcast is one event-loop task per loop
/// (`broadcast`) that writes the same bytes to all of that loop's sockets, and one more that flushes them: it
/// runs after whatever else waits on the loop, so broadcasts that queued up while the loop was busy leave in one
/// write per socket. A client that stops reading makes the channel unwritable; volatile frames are dropped for
/// it then, and once more than `limit` frames went out while it was unwritable, the overflow handler runs (once)
/// and the session closes it as too slow. It also runs the close handshake (RFC 6455 §7): the first close frame
/// either side sends ends the writing, and a client that does not answer ours within `closeTimeout` is cut off.
final class FrameSink: ChannelOutboundHandler, @unchecked Sendable {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let channel: any Channel
    var eventLoop: any EventLoop { channel.eventLoop }
    private let limit: Int
    private let closeTimeout: TimeAmount
    private let metrics: ServerMetrics
    private let closeRequested = Atomic<Bool>(false)
    private let overflowHandler = Mutex<(@Sendable () -> Void)?>(nil)
    // Touched on the channel's event loop only.
    private var backlog = 0
    private var overflowReported = false
    private var closeSent = false
    private var closeDeadline: Scheduled<Void>?
    /// Set while the sink is in the pipeline, first after the head: writes from it go nowhere else.
    private var context: ChannelHandlerContext?

    init(channel: any Channel, limit: Int, closeTimeout: Duration, metrics: ServerMetrics) {
        self.channel = channel
        self.limit = limit
        self.closeTimeout = TimeAmount(closeTimeout)
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// What to do when the client is too far behind (the session closes it).
    func onOverflow(_ handler: @escaping @Sendable () -> Void) { overflowHandler.withLock { $0 = handler } }

    func write(_ frames: WireFrames, volatile: Bool = false) {
        eventLoop.execute {
            self.writeOnLoop(frames, volatile: volatile)
            self.context?.flush()
        }
    }

    /// The same frames to many sockets: on each event loop, one task writes them to all of that loop's sockets
    /// and a later one flushes those.
    static func broadcast(_ frames: WireFrames, to sinks: [FrameSink], volatile: Bool) {
        var byLoop: [ObjectIdentifier: [FrameSink]] = [:]
        for sink in sinks { byLoop[ObjectIdentifier(sink.eventLoop), default: []].append(sink) }
        for group in byLoop.values {
            let loop = group[0].eventLoop
            loop.execute {
                for sink in group { sink.writeOnLoop(frames, volatile: volatile) }
                loop.execute {
                    for sink in group { sink.context?.flush() }
                }
            }
        }
    }

    private func writeOnLoop(_ frames: WireFrames, volatile: Bool) {
        guard !closeSent, let context else { return }
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
        context.write(wrapOutboundOut(frames.bytes), promise: nil)
    }

    /// Sends a normal-closure frame after everything written before, and ends the socket when the client
    /// answers (`closeReceived`) or `closeTimeout` passes.
    func close() {
        guard !closeRequested.exchange(true, ordering: .relaxed) else { return }
        eventLoop.execute { self.sendClose(1000) }
    }

    /// A protocol error from the client (`code`: 1002, 1007, 1009): say so in a close frame and end the socket
    /// without waiting. On the event loop.
    func fail(_ code: UInt16) {
        closeRequested.store(true, ordering: .relaxed)
        if !closeSent {
            closeSent = true
            channel.writeAndFlush(WireFrames.close(code).bytes).whenComplete { [channel] _ in
                channel.close(promise: nil)
            }
        } else {
            channel.close(promise: nil)
        }
    }

    /// The client's close frame: the answer to ours ends the socket; otherwise ours echoes its status code
    /// first. On the event loop.
    func closeReceived(code: UInt16?) {
        guard closeSent else { return fail(code.map(Self.echoable) ?? 1000) }
        channel.close(promise: nil)
    }

    /// The socket is gone: nothing left to wait for. On the event loop.
    func closed() {
        closeSent = true
        closeDeadline?.cancel()
        closeDeadline = nil
    }

    private func sendClose(_ code: UInt16) {
        guard !closeSent, channel.isActive else { return }
        closeSent = true
        channel.writeAndFlush(WireFrames.close(code).bytes, promise: nil)
        closeDeadline = eventLoop.scheduleTask(in: closeTimeout) { [channel] in channel.close(promise: nil) }
    }

    /// Codes a peer may send (RFC 6455 §7.4.1: 1004–1006 and 1015 are reserved for reporting, never for the
    /// wire); anything else is answered with a protocol error.
    private static func echoable(_ code: UInt16) -> UInt16 {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: code
        default: 1002
        }
    }
}
