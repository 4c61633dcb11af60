import NIOCore
import NIOHTTP1
import Synchronization

/// The HTTP connection a request came on, watched for its end: a polling GET held on it is answered by nobody
/// once the client is gone, so the session must learn it then, not at the next missed ping. One per connection
/// (a polling client sends many GETs on one kept-alive connection), handed to the request handlers as a task
/// local by `RealtimeChildChannel`.
final class ConnectionWatch: Sendable {
    @TaskLocal static var current: ConnectionWatch?

    private let state = Mutex<(closed: Bool, onClose: (@Sendable () -> Void)?)>((false, nil))

    convenience init(_ channel: any Channel) { self.init(closeFuture: channel.closeFuture) }

    init(closeFuture: EventLoopFuture<Void>) {
        closeFuture.whenComplete { [self] _ in
            let handler = state.withLock { state in
                state.closed = true
                defer { state.onClose = nil }
                return state.onClose
            }
            handler?()
        }
    }

    /// Runs `handler` when the connection closes, or at once if it has; replaces the previous handler.
    func onClose(_ handler: @escaping @Sendable () -> Void) {
        let closed = state.withLock { state in
            if !state.closed { state.onClose = handler }
            return state.closed
        }
        if closed { handler() }
    }

    /// The request that installed a handler is answered: its end no longer matters.
    func clear() { state.withLock { $0.onClose = nil } }

    /// Whether a request waits on this connection for something to answer with (a held polling GET).
    var isHolding: Bool { state.withLock { $0.onClose != nil } }
}

/// Closes a connection whose client has ended its side while a polling GET is held on it. The server's child
/// channels allow half closure, so a client that goes away is an `inputClosed` event, and NIO's HTTP pipeline
/// keeps the connection open until the response in flight is written: for a held GET that is up to a ping
/// interval of a connection in CLOSE-WAIT and a session nobody polls. (The reference server's Node HTTP server
/// treats the end as an aborted request.) Any other request in flight gets its response first, as NIO does; on
/// a WebSocket the event goes on to the `WebSocketReader`, which closes.
final class PeerClosedHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    private let watch: ConnectionWatch

    init(watch: ConnectionWatch) { self.watch = watch }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed, watch.isHolding {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// Ends a connection that has not yet made its first request when nothing else would, and leaves the pipeline
/// once it has made it (`RealtimeChildChannel` removes it then).
/// - At graceful shutdown: NIO's server quiescing asks every connection to close once it is idle
///   (`ChannelShouldQuiesceEvent`), and Hummingbird's connection handler does so for HTTP connections; but that
///   handler joins the pipeline with the first request, and a connection that never sends one (browsers open
///   spare, preconnected connections all the time) or sends only part of its head would keep the server, and
///   the process, alive until the client closes it: past Cloud Run's ten seconds, after which the instance is
///   killed.
/// - On a first request the HTTP decoder cannot parse (headers over SwiftNIO's 80 KiB, garbage): no responder
///   exists yet to answer it, and the connection would stay open as long as the client keeps it.
/// - After `timeout` without a whole request head: a silent or slow-loris connection holds a descriptor and a
///   slot of the instance's concurrency for nothing (Node's HTTP server gives a request's headers 60 s).
final class SilentConnectionCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Only the parser's errors: a refused WebSocket upgrade is reported as an error too, and is answered.
        if error is HTTPParserError {
            context.close(promise: nil)
        } else {
            context.fireErrorCaught(error)
        }
    }
}
