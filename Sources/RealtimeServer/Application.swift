import EngineIO
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import SocketIO

/// Builds the real-time server: Engine.IO v4 under `/socket.io/` (HTTP long-polling, WebSocket, and the upgrade
/// between them), Socket.IO v5 on top, the publish API and `/healthz` / `/readyz`; and the service that drains
/// it on SIGTERM. Run both in one `ServiceGroup`, application first (`main` does).
/// Throws when a token key cannot be read.
public func buildServer(
    configuration: ServerConfiguration, logger: Logger = Logger(label: "realtime-server"),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> (application: some ApplicationProtocol, drain: DrainService) {
    var authenticator: Authenticator?
    if let tokens = configuration.tokens { authenticator = try await Authenticator(tokens) }
    let engine = EngineServer(
        configuration: configuration, sockets: socketServer(for: configuration, authenticator), logger: logger)

    let router = Router()
    router.get("/healthz") { _, _ in "ok" }
    router.get("/metrics") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: .init(byteBuffer: ByteBuffer(string: engine.metrics.exposition())))
    }
    router.get("/readyz") { _, _ in
        engine.isDraining
            ? Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "draining")))
            : Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok")))
    }
    router.get("/socket.io/") { request, context in await engine.pollingGet(request) }
    router.post("/socket.io/") { request, context in await engine.pollingPost(request) }
    router.on("/socket.io/", method: .options) { request, _ in engine.preflight(request) }
    let publish = PublishAPI(
        token: configuration.publishToken, sockets: engine.sockets, maxPayload: configuration.engine.maxPayload)
    router.post("/v1/publish") { request, _ in await publish.handle(request) }

    let webSockets = Router(context: BasicWebSocketRequestContext.self)
    webSockets.ws("/socket.io/") { request, _ in
        await engine.shouldUpgrade(request)
    } onUpgrade: { inbound, outbound, context in
        await engine.webSocket(inbound: inbound, outbound: outbound, request: context.request)
    }

    var serverLogger = logger
    serverLogger.logLevel = .warning
    let application = Application(
        router: router,
        server: .http1WebSocketUpgrade(
            webSocketRouter: webSockets,
            configuration: .init(
                ws: .init(
                    maxFrameSize: max(1 << 14, configuration.engine.maxPayload), autoPing: .disabled,
                    closeTimeout: EngineServer.closeHandshakeTimeout))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: serverLogger)
    return (application, DrainService(engine: engine, logger: logger))
}

/// The profile's namespaces and handlers.
func socketServer(for configuration: ServerConfiguration, _ authenticator: Authenticator?) -> SocketServer? {
    let limits = SocketLimits(
        maxRoomsPerSocket: configuration.maxRoomsPerSocket, eventsPerSecond: Double(configuration.eventsPerSecond),
        eventBurst: Double(2 * configuration.eventsPerSecond),
        excessBeforeDisconnect: 4 * configuration.eventsPerSecond,
        maxConnectionsPerUser: configuration.maxConnectionsPerUser)
    switch configuration.profile {
    case .tenderflow:
        return SocketServer(TenderFlow.namespaces(), limits: limits, authenticator: authenticator)
    case .engineEcho:
        return nil
    case .socketIOTestSuite:
        // The server the socket.io-protocol test suite runs against.
        let echoAuth: Namespace.ConnectionHandler = { socket in await socket.emit("auth", [socket.auth]) }
        return SocketServer(
            [
                Namespace(
                    "/", onConnection: echoAuth,
                    handlers: [
                        "message": { socket, arguments, _ in await socket.emit("message-back", arguments) },
                        "message-with-ack": { _, arguments, ack in await ack?(arguments) },
                        // Beyond the suite: asks the client a question with a server → client acknowledgement.
                        "ask-back": { socket, arguments, _ in
                            do {
                                let answer = try await socket.emitWithAck("question", arguments, timeout: .seconds(1))
                                await socket.emit("answer", answer)
                            } catch {
                                await socket.emit("answer-timeout", arguments)
                            }
                        },
                    ]),
                Namespace("/custom", onConnection: echoAuth),
            ], limits: limits, authenticator: authenticator)
    }
}
