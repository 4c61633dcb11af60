import EngineIO
import NIOCore
import NIOEmbedded
import Testing

@testable import RealtimeServer

/// Counts what reaches the socket: the bytes of each flush that had something to send.
private final class SocketSpy: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var pending: [String] = []
    var flushes: [[String]] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var buffer = unwrapOutboundIn(data)
        pending.append(String(decoding: buffer.readBytes(length: buffer.readableBytes) ?? [], as: UTF8.self))
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        if !pending.isEmpty { flushes.append(pending) }
        pending = []
        context.flush()
    }
}

@Suite struct FrameSinkTests {
    private func sink(on channel: EmbeddedChannel) throws -> (FrameSink, SocketSpy) {
        let sink = FrameSink(
            channel: channel, limit: 10, closeTimeout: .seconds(2), metrics: ServerMetrics(namespaces: []))
        let spy = SocketSpy()
        try channel.pipeline.syncOperations.addHandler(sink, position: .first)
        try channel.pipeline.syncOperations.addHandler(spy, position: .first)
        return (sink, spy)
    }

    private func frame(_ text: String) -> WireFrames { WireFrames(EnginePacket(.message, .text(text))) }

    @Test("broadcasts that queue up on a busy loop leave in one write per socket, in order")
    func coalescing() throws {
        let loop = EmbeddedEventLoop()
        let channels = [EmbeddedChannel(loop: loop), EmbeddedChannel(loop: loop)]
        let sinks = try channels.map { try sink(on: $0) }
        // Both broadcasts are queued before the loop gets to run either.
        FrameSink.broadcast(frame("a"), to: sinks.map(\.0), volatile: false)
        FrameSink.broadcast(frame("b"), to: sinks.map(\.0), volatile: false)
        loop.run()
        for (_, spy) in sinks {
            #expect(spy.flushes.count == 1)
            #expect(spy.flushes.first?.map { String($0.dropFirst(2)) } == ["4a", "4b"])
        }
    }

    @Test("a broadcast on an idle loop is flushed at once")
    func idleLoop() throws {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        let (sink, spy) = try sink(on: channel)
        FrameSink.broadcast(frame("a"), to: [sink], volatile: false)
        loop.run()
        sink.write(frame("b"))
        loop.run()
        #expect(spy.flushes.count == 2)
    }
}
