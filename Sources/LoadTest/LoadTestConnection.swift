import NIOCore
import NIOHTTP1
import NIOPosix

/// The load tester's TCP connections, whatever speaks over them: TCP_NODELAY (a small frame or request leaves at
/// once, as a browser's does), the HTTP/1.1 client codec when the handler speaks HTTP, then the handler.
enum LoadTestConnection {
    static func open(
        on loop: EventLoop, host: String, port: Int, http: Bool,
        handler: @escaping @Sendable () -> ChannelHandler
    ) -> EventLoopFuture<Channel> {
        ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if http { try channel.pipeline.syncOperations.addHTTPClientHandlers() }
                    try channel.pipeline.syncOperations.addHandler(handler())
                }
            }
            .connect(host: host, port: port)
    }
}
