import NIOCore
import Synchronization

/// A WebSocket's outbound side: frames written straight onto its channel, on the channel's event loop, in the
/// order they are handed over; no queue and no task between a broadcast and the socket, and one event-loop task
/// per loop for a whole broadcast (`broadcast`), which writes the same bytes to all of that loop's sockets.
/// A client that stops reading makes the channel unwritable; volatile frames are dropped for it then, and once
/// more than `limit` frames went out while it was unwritable, the overflow handler runs (once) and the session
/// closes it as too slow. It also runs the close handshake (RFC 6455 §7): the first close frame either side
/// sends ends the writing, and a client that does not answer ours within `closeTimeout` is cut off.
final class FrameSink: @unchecked Sendable {
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

    init(channel: any Channel, limit: Int, closeTimeout: Duration, metrics: ServerMetrics) {
        self.channel = channel
        self.limit = limit
        self.closeTimeout = TimeAmount(closeTimeout)
        self.metrics = metrics
    }

    /// What to do when the client is too far behind (the session closes it).
    func onOverflow(_ handler: @escaping @Sendable () -> Void) { overflowHandler.withLock { $0 = handler } }

    func write(_ frames: WireFrames, volatile: Bool = false) {
        eventLoop.execute { self.writeOnLoop(frames, volatile: volatile) }
    }

    /// The same frames to many sockets: one task on each event loop writes them to all of that loop's sockets.
    static func broadcast(_ frames: WireFrames, to sinks: [FrameSink], volatile: Bool) {
        var byLoop: [ObjectIdentifier: [FrameSink]] = [:]
        for sink in sinks { byLoop[ObjectIdentifier(sink.eventLoop), default: []].append(sink) }
        for group in byLoop.values {
            group[0].eventLoop.execute {
                for sink in group { sink.writeOnLoop(frames, volatile: volatile) }
            }
        }
    }

    private func writeOnLoop(_ frames: WireFrames, volatile: Bool) {
        guard !closeSent else { return }
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
        channel.writeAndFlush(frames.bytes, promise: nil)
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
