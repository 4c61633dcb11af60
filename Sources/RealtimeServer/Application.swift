import EngineIO
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import SocketIO

/// Builds the real-time server: Engine.IO v4 under `/socket.io/` (HTTP long-polling, WebSocket, and the upgrade
/// between them), Socket.IO v5 on top, the publish API and `/healthz` / `/readyz`; `/metrics` on a second
/// listener bound to 127.0.0.1 (`METRICS_PORT`), which nothing outside the instance reaches; the service that
/// drains the server on SIGTERM; with Redis configured, the service that connects the instance to the others. Run them in
/// one `ServiceGroup`, cluster first and drain last (`main` does): they shut down in reverse order.
/// Throws when a token key cannot be read.
public func buildServer(
    configuration: ServerConfiguration, logger: Logger = Logger(label: "realtime-server"),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
    onMetricsRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> (
    application: some ApplicationProtocol, metrics: some ApplicationProtocol, drain: DrainService,
    cluster: ClusterService?, fallback: FallbackService?
) {
    var authenticator: Authenticator?
    if let tokens = configuration.tokens { authenticator = try await Authenticator(tokens) }
    let presence = Presence()
    let collaboration = Collaboration(presence: presence)
    let namespaces = namespaces(for: configuration.profile, collaboration: collaboration)
    let metrics = ServerMetrics(namespaces: namespaces?.map(\.name) ?? [])
    // One id for the instance: its cluster channel, and the origin part of the event ids it gives.
    let instanceID = SessionRegistry.newID()
    let cluster = configuration.redis.map {
        ClusterAdapter(
            redis: $0, region: configuration.region, instanceID: instanceID,
            presenceTTL: .milliseconds(configuration.presenceTTL),
            recoveryWindow: configuration.recoveryWindow > 0 ? .milliseconds(configuration.recoveryWindow) : nil,
            recoveryMaxEvents: configuration.recoveryMaxEvents,
            relayEndpointsFile: configuration.relayEndpointsFile,
            relayRefresh: .milliseconds(configuration.relayRefresh),
            metrics: metrics, logger: logger)
    }
    // Presence is shared through the cluster: the adapter's presence store is Presence's.
    if let cluster, configuration.profile == .tenderflow {
        await presence.share(cluster.presence)
        collaboration.connect(
            TenderCoordination(
                keys: cluster.keys, local: cluster.publisher, relays: cluster.relays,
                coordinationRegion: configuration.coordinationRegion.flatMap { $0 == configuration.region ? nil : $0 },
                instanceID: instanceID, settings: configuration.coordination))
    }
    // The fallback mirrors TenderFlow's tender rooms, notices and presence; the test-suite profiles have none.
    let fallback = try configuration.fallback.flatMap { fallback in
        configuration.profile == .tenderflow
            ? try FallbackService(configuration: fallback, instance: instanceID, metrics: metrics, logger: logger)
            : nil
    }
    if let fallback { await presence.mirror(to: fallback.mirror) }
    let sockets = namespaces.map {
        SocketServer(
            $0, limits: limits(configuration), authenticator: authenticator, metrics: metrics, cluster: cluster,
            fallback: fallback?.mirror,
            audit: ConnectionAudit(logger: logger, sampleRate: configuration.auditSampleRate),
            journal: configuration.profile == .tenderflow ? TenderFlow.activityJournal(collaboration) : nil,
            publicationCheck: configuration.profile == .tenderflow ? TenderFlow.publicationCheck(collaboration) : nil)
    }
    let engine = EngineServer(configuration: configuration, sockets: sockets, logger: logger)

    let router = Router()
    router.get("/healthz") { _, _ in "ok" }
    router.get("/readyz") { _, _ in
        if engine.isDraining {
            return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "draining")))
        }
        if configuration.readyRequiresRedis, let cluster, !cluster.isConnected {
            return Response(
                status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "redis unavailable")))
        }
        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok")))
    }
    router.get(RouterPath(EngineServer.path)) { request, context in await engine.pollingGet(request) }
    router.post(RouterPath(EngineServer.path)) { request, context in await engine.pollingPost(request) }
    router.on(RouterPath(EngineServer.path), method: .options) { request, _ in engine.preflight(request) }
    // Engine.IO takes GET and POST; any other method is a bad handshake (engine.io protocol test suite: PUT → 400).
    for method in [HTTPRequest.Method.put, .patch, .delete] {
        router.on(RouterPath(EngineServer.path), method: method) { request, _ in engine.badMethod(request) }
    }
    let fallbackTokens = FallbackTokenAPI(
        tokens: fallback?.tokens, access: fallback?.mirror.configuration.clientAccess ?? [:],
        authenticator: authenticator, cors: { engine.corsHeaders($0) }, logger: logger)
    router.post("/fallback/v1/token") { request, _ in await fallbackTokens.handle(request) }
    let assets = ClientAssets()
    if !assets.missing.isEmpty {
        logger.warning(
            "the browser client's files are not beside the server; they answer 404",
            metadata: ["missing": "\(assets.missing.joined(separator: ", "))"])
    }
    for (name, _, _) in ClientAssets.files {
        router.get(RouterPath(ClientAssets.prefix + name)) { _, _ in assets.response(name) }
    }
    router.on("/fallback/v1/token", method: .options) { request, _ in fallbackTokens.preflight(request) }
    let publish = PublishAPI(
        token: configuration.publishToken, sockets: engine.sockets, maxPayload: configuration.engine.maxPayload)
    router.post("/v1/publish") { request, _ in await publish.handle(request) }
    router.get("/v1/rooms/count") { request, _ in await publish.roomCount(request) }
    router.get("/v1/instances") { request, _ in await publish.instances(request) }
    router.get("/v1/users/:user/sockets") { request, context in
        await publish.userSockets(request, user: context.parameters.get("user") ?? "")
    }
    router.delete("/v1/users/:user/sockets") { request, context in
        await publish.disconnectUser(request, user: context.parameters.get("user") ?? "")
    }

    var serverLogger = logger
    serverLogger.logLevel = .warning
    let application = Application(
        router: router,
        server: HTTPServerBuilder { responder in RealtimeChildChannel(responder: responder, engine: engine) },
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: serverLogger)
    let metricsRouter = Router()
    metricsRouter.get("/metrics") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: .init(byteBuffer: ByteBuffer(string: engine.metrics.exposition())))
    }
    let metricsApplication = Application(
        router: metricsRouter,
        configuration: .init(address: .hostname(ServerConfiguration.metricsHost, port: configuration.metricsPort)),
        onServerRunning: { channel in await onMetricsRunning(channel.localAddress?.port ?? configuration.metricsPort) },
        logger: serverLogger)
    // What other instances send: broadcasts to the rooms, questions to the Socket.IO server, forwarded polls to
    // the Engine.IO server; and every heartbeat, TenderFlow's presence sweep.
    let clusterService = zip(cluster, sockets).map { cluster, sockets in
        let heartbeat =
            configuration.profile == .tenderflow
            ? [
                TenderFlow.presenceHeartbeat(presence, sockets.rooms),
                TenderFlow.collaborationHeartbeat(collaboration, sockets.rooms),
            ] : []
        let inbound = sockets.clusterInbound(
            answerPoll: { method, sid, body in await engine.answerForwarded(method, sid: sid, body: body) },
            heartbeat: heartbeat)
        return ClusterService(adapter: cluster, inbound: inbound, logger: logger)
    }
    return (application, metricsApplication, DrainService(engine: engine, logger: logger), clusterService, fallback)
}

private func zip<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}

func limits(_ configuration: ServerConfiguration) -> SocketLimits {
    SocketLimits(
        maxRoomsPerSocket: configuration.maxRoomsPerSocket, eventsPerSecond: Double(configuration.eventsPerSecond),
        eventBurst: Double(2 * configuration.eventsPerSecond),
        excessBeforeDisconnect: 4 * configuration.eventsPerSecond,
        maxConnectionsPerUser: configuration.maxConnectionsPerUser)
}

/// The profile's namespaces and handlers; nil for the bare Engine.IO echo.
func namespaces(for profile: ServerConfiguration.Profile, collaboration: Collaboration) -> [Namespace]? {
    switch profile {
    case .tenderflow:
        return TenderFlow.namespaces(collaboration)
    case .engineEcho:
        return nil
    case .socketIOTestSuite:
        // The server the socket.io-protocol test suite runs against.
        let echoAuth: Namespace.ConnectionHandler = { socket in await socket.emit("auth", [socket.auth]) }
        return [
            Namespace(
                "/", onConnection: echoAuth,
                handlers: [
                    "message": { socket, arguments, _ in await socket.emit("message-back", arguments) },
                    "message-with-ack": { _, arguments, ack in await ack?(arguments) },
                    // Asks the client for an acknowledgement, and sends its answer back without one.
                    "emit-with-ack": { socket, arguments, _ in
                        guard
                            let answer = try? await socket.emitWithAck(
                                "emit-with-ack", arguments, timeout: .seconds(5))
                        else { return }
                        await socket.emit("emit-with-ack", answer)
                    },
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
        ]
    }
}
