import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// The server's connections. HTTP/1.1 requests go to Hummingbird's router; a WebSocket upgrade of the Engine.IO
/// path gets the frame decoder, a `WebSocketReader` and a `FrameSink` on bare SwiftNIO instead, with no task and
/// no async channel of its own: an idle WebSocket is its channel and its session, nothing more.
struct RealtimeChildChannel: ServerChildChannel, HTTPChannelHandler {
    enum Connection: Sendable {
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade that `EngineServer.shouldUpgrade` refused: answered with 400.
        case refusedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// Carried by its channel handlers from here on.
        case webSocket
    }

    struct Value: ServerChildChannelValue {
        let connection: EventLoopFuture<Connection>
        let channel: any Channel
        /// Watches the connection's end for the polling GETs held on it.
        let watch: ConnectionWatch
    }

    let responder: HTTPChannelHandler.Responder
    let engine: EngineServer

    /// `responder`: Hummingbird's router.
    init(responder: @escaping HTTPChannelHandler.Responder, engine: EngineServer) {
        self.engine = engine
        self.responder = { request, writer, channel in
            // NIO upgrades only a connection's first request. A client that reuses a kept-alive connection for
            // its upgrade (aiohttp, for one) is sent to the same address again, on a new connection.
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                return try await responder(request, writer, channel)
            }
            var location = request.uri.path
            if let query = request.uri.query { location += "?" + query }
            try await writer.writeResponse(
                HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: location]))
            channel.close(promise: nil)
        }
    }

    /// How long a new connection may take to send its first request's head.
    static let firstRequestTimeout = TimeAmount.seconds(30)

    /// A channel keeps its last receive buffer for the next read: NIO's default first size, 2 KiB, is most of an
    /// idle WebSocket's memory. Engine.IO packets from clients are small; the size still grows for large reads.
    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 256, initial: 512, maximum: 65_536)

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveBuffers)
            let watch = ConnectionWatch(channel)
            try channel.pipeline.syncOperations.addHandler(PeerClosedHandler(watch: watch))
            let upgradeAttempted = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            let upgrader = EngineWebSocketUpgrader(engine: engine) { channel, head in
                upgradeAttempted.value = true
                let promise = channel.eventLoop.makePromise(of: HTTPHeaders?.self)
                promise.completeWithTask { [engine] in await engine.shouldUpgrade(uri: head.uri) ? [:] : nil }
                return promise.futureResult
            }
            let upgrades = NIOTypedHTTPServerUpgradeConfiguration<Connection>(upgraders: [upgrader]) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                    try channel.pipeline.syncOperations.addHandler(
                        HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
                    let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                        wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                    return upgradeAttempted.value ? .refusedUpgrade(http) : .http(http)
                }
            }
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgrades)
            configuration.enablePipelining = false  // the async channel takes one request at a time
            configuration.enableErrorHandling = false  // Hummingbird answers malformed requests
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validates them already
            let connection = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(
                configuration: configuration)
            // After the HTTP decoder, so it sees the decoder's errors as well as the shutdown's quiesce event; gone
            // once the first request has made the connection HTTP or WebSocket, whose handlers take over.
            let closer = SilentConnectionCloser(timeout: Self.firstRequestTimeout)
            try channel.pipeline.syncOperations.addHandler(closer)
            let removable = NIOLoopBound(closer, eventLoop: channel.eventLoop)
            connection.whenComplete { _ in  // on the channel's event loop
                channel.pipeline.syncOperations.removeHandler(removable.value, promise: nil)
            }
            return Value(connection: connection, channel: channel, watch: watch)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.connection.get() {
            case .http(let http):
                await ConnectionWatch.$current.withValue(value.watch) {
                    await handleHTTP(asyncChannel: http, logger: logger)
                }
            case .refusedUpgrade(let http):
                try await http.executeThenClose { _, outbound in
                    let head = HTTPResponse(
                        status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])
                    try await outbound.write(contentsOf: [.head(head), .end(nil)])
                }
            case .webSocket:
                break
            }
        } catch {
            logger.debug("connection ended before its first request", metadata: ["error": "\(error)"])
        }
    }
}

/// The WebSocket upgrade (RFC 6455 §4.2) of the Engine.IO path: NIO's upgrader checks the request and computes
/// the accept key; the pipeline after it is ours. NIO's frame encoder is left out, since `FrameSink` writes frames
/// already encoded, once per broadcast for all recipients.
struct EngineWebSocketUpgrader: NIOTypedHTTPServerProtocolUpgrader {
    typealias UpgradeResult = RealtimeChildChannel.Connection

    private let handshake: NIOTypedWebSocketServerUpgrader<UpgradeResult>
    private let engine: EngineServer

    init(
        engine: EngineServer,
        shouldUpgrade: @escaping @Sendable (any Channel, HTTPRequestHead) -> EventLoopFuture<HTTPHeaders?>
    ) {
        self.engine = engine
        // Only its handshake is used; `upgrade` below builds the pipeline.
        handshake = NIOTypedWebSocketServerUpgrader(
            shouldUpgrade: shouldUpgrade,
            upgradePipelineHandler: { channel, _ in channel.eventLoop.makeSucceededFuture(.webSocket) })
    }

    var supportedProtocol: String { handshake.supportedProtocol }
    var requiredUpgradeHeaders: [String] { handshake.requiredUpgradeHeaders }

    func buildUpgradeResponse(
        channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        handshake.buildUpgradeResponse(
            channel: channel, upgradeRequest: upgradeRequest, initialResponseHeaders: initialResponseHeaders)
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<UpgradeResult> {
        channel.eventLoop.makeCompletedFuture {
            let maxPayload = engine.configuration.engine.maxPayload
            let (sink, reader) = engine.webSocketHandlers(
                channel: channel, uri: upgradeRequest.uri,
                clientAddress: ConnectionAudit.clientAddress(forwardedFor: upgradeRequest.headers["X-Forwarded-For"]))
            try channel.pipeline.syncOperations.addHandler(sink, position: .first)
            try channel.pipeline.syncOperations.addHandler(
                ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxPayload)))
            try channel.pipeline.syncOperations.addHandler(reader)
            return .webSocket
        }
    }
}
