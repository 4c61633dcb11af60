import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import RealtimeServer

/// A connection that has not made its first request is closed when nothing else would close it: at shutdown,
/// on a request the parser refuses, and after the first-request timeout; any other event goes on.
@Suite struct SilentConnectionCloserTests {
    private func channel(timeout: TimeAmount = .seconds(30)) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(SilentConnectionCloser(timeout: timeout))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    @Test("graceful shutdown's quiesce event closes it")
    func quiesce() throws {
        let channel = try channel()
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!channel.isActive)
    }

    @Test("a request the HTTP parser refuses closes it; other errors go on to the handlers after it")
    func parserError() throws {
        let refused = try channel()
        refused.pipeline.fireErrorCaught(HTTPParserError.headerOverflow)
        #expect(!refused.isActive)
        let other = try channel()
        other.pipeline.fireErrorCaught(ChannelError.ioOnClosedChannel)
        #expect(other.isActive)
        #expect(throws: ChannelError.self) { try other.throwIfErrorCaught() }
    }

    @Test("no whole request head within the timeout closes it; once removed, the timeout is gone")
    func firstRequestTimeout() throws {
        let silent = try channel(timeout: .seconds(30))
        silent.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(silent.isActive)
        silent.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!silent.isActive)

        let answered = try channel(timeout: .seconds(30))
        let closer = try answered.pipeline.syncOperations.handler(type: SilentConnectionCloser.self)
        try answered.pipeline.syncOperations.removeHandler(closer).wait()
        answered.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(answered.isActive)
        answered.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(answered.isActive, "after the first request, the connection's own handlers decide")
    }
}
