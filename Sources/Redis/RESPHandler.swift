import NIOCore

/// What a connection writes: commands in order, each with the promise of its reply (none for the pub/sub
/// commands, whose confirmations come as pushes).
struct RESPRequest: Sendable {
    var commands: [RESPCommand]
    var promises: [EventLoopPromise<RESPValue>?]
}

/// Pipelining on one channel: commands are written as they come and replies are matched to them in order,
/// as Redis answers in order. Pub/sub traffic (RESP3 pushes; on RESP2, the arrays of a connection in subscribe
/// mode) goes to `onPush` instead. Everything here runs on the channel's event loop.
final class RESPHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RESPRequest
    typealias OutboundOut = ByteBuffer

    private let parser: RESPParser
    /// Replies still owed, oldest first.
    private var pending = CircularBuffer<EventLoopPromise<RESPValue>>()
    private let maxPending: Int
    private var received: ByteBuffer?
    /// A RESP2 connection that sent SUBSCRIBE gets its pub/sub traffic as plain arrays.
    private var subscribeMode = false
    private let onPush: @Sendable (RESPValue) -> Void

    init(parser: RESPParser, maxPending: Int, onPush: @escaping @Sendable (RESPValue) -> Void) {
        self.parser = parser
        self.maxPending = maxPending
        self.onPush = onPush
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard pending.count + request.promises.count <= maxPending else {
            let error = RedisError(.tooManyPending(maxPending))
            for reply in request.promises { reply?.fail(error) }
            promise?.fail(error)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 64 * request.commands.count)
        for (command, reply) in zip(request.commands, request.promises) {
            command.encode(into: &buffer)
            if let reply { pending.append(reply) } else { subscribeMode = true }
        }
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if received == nil || received!.readableBytes == 0 {
            received = bytes
        } else {
            received!.writeBuffer(&bytes)
        }
        do {
            while var buffer = received, let value = try parser.parse(&buffer) {
                received = buffer
                dispatch(value)
            }
            received?.discardReadBytes()
        } catch {
            context.fireErrorCaught(RedisError(.protocolViolation("\(error)")))
            context.close(promise: nil)
        }
    }

    private func dispatch(_ value: RESPValue) {
        if case .push = value { return onPush(value) }
        if subscribeMode, case .array(let elements?) = value, let kind = elements.first?.string?.lowercased(),
            Self.pubSubKinds.contains(kind)
        {
            return onPush(.push(elements))
        }
        guard let reply = pending.popFirst() else {
            // A reply to nothing: the stream is out of step, and every later reply would go to the wrong caller.
            onPush(.error("unexpected reply"))
            return
        }
        reply.succeed(value)
    }

    private static let pubSubKinds: Set<String> = [
        "message", "pmessage", "smessage", "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe",
        "sunsubscribe",
    ]

    func channelInactive(context: ChannelHandlerContext) {
        failPending(RedisError(.connectionClosed))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failPending(error as? RedisError ?? RedisError(.connectionFailed("\(error)")))
        context.close(promise: nil)
    }

    private func failPending(_ error: RedisError) {
        while let reply = pending.popFirst() { reply.fail(error) }
    }
}
