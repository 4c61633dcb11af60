import EngineIO
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import SocketIO
import Synchronization

/// Engine.IO over HTTP and WebSocket: turns requests into session operations and session output into responses.
final class EngineServer: Sendable {
    let configuration: ServerConfiguration
    let registry = SessionRegistry()
    let sockets: SocketServer?
    let logger: Logger
    /// Set by graceful shutdown: `/readyz` answers 503 and new sessions are refused.
    let draining = Atomic<Bool>(false)

    let metrics: ServerMetrics

    init(configuration: ServerConfiguration, sockets: SocketServer?, logger: Logger) {
        self.configuration = configuration
        self.sockets = sockets
        self.metrics = sockets?.metrics ?? ServerMetrics(namespaces: [])
        self.logger = logger
    }

    // MARK: Sessions

    var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Stops taking sessions and closes the open ones; returns how many were closed. Meanwhile the polls this
    /// instance forwarded to the instances that own their sessions are released (answered by their owners at
    /// once, or with a noop after a second): their clients poll again, on another instance, so a session that
    /// merely passed through here is not lost with it. A GET for another instance's session that comes in from
    /// now on gets a noop at once instead of being forwarded (`elsewhere`).
    func drain() async -> Int {
        draining.store(true, ordering: .relaxed)
        async let released: Void? = sockets?.cluster?.releaseForwardedPolls(
            fallback: Self.noop, within: .seconds(1))
        let sessions = await registry.all
        await withTaskGroup(of: Void.self) { group in
            for session in sessions { group.addTask { await session.close(reason: .serverShuttingDown) } }
        }
        _ = await released
        return sessions.count
    }

    /// A polling answer of one noop packet: the client simply polls again.
    private static let noop = reply(text: EngineCodec.encodePayload([EnginePacket(.noop)]))

    /// Creates a session and connects the layer above: Socket.IO, or the Engine.IO echo of the `engine-echo` profile.
    func open(webSocket: FrameSink?, clientAddress: String?) async -> EngineSession {
        let registry = self.registry
        let logger = self.logger
        metrics.handshake(webSocket: webSocket != nil, accepted: true)
        let session = EngineSession(
            id: (sockets?.cluster?.sessionIDPrefix ?? "") + SessionRegistry.newID(),
            configuration: configuration.engine,
            queueLimit: configuration.outboundQueueLimit,
            webSocket: webSocket, metrics: metrics, clientAddress: clientAddress,
            removeFromRegistry: { await registry.remove($0) })
        await registry.add(session)
        if let sockets {
            let connection = SocketConnection(session: session, server: sockets)
            await session.start(
                onMessage: { await connection.received($0) },
                onClose: { [id = session.id] reason in
                    logger.debug("session closed", metadata: ["sid": "\(id)", "reason": "\(reason)"])
                    await connection.closed(reason: reason)
                })
            await connection.start(connectTimeout: configuration.connectTimeout)
        } else {
            await session.start(
                onMessage: { [weak session] payload in await session?.send([EnginePacket(.message, payload)]) },
                onClose: { _ in })
        }
        return session
    }

    /// Where Engine.IO is served.
    static let path = "/socket.io/"

    private func query(_ request: Request) -> [String: String] { query(request.uri) }

    private func query(_ uri: URI) -> [String: String] {
        var parameters: [String: String] = [:]
        for (key, value) in uri.queryParameters { parameters[String(key)] = String(value) }
        return parameters
    }

    // MARK: Long-polling

    func pollingGet(_ request: Request) async -> Response {
        do {
            let query = try EngineQuery(query(request))
            guard query.transport == .polling else { throw EngineError(.badRequest) }
            guard let sid = query.sid else {
                guard !isDraining else {
                    metrics.handshake(webSocket: false, accepted: false)
                    return Response(status: .serviceUnavailable, headers: corsHeaders(request))
                }
                let session = await open(webSocket: nil, clientAddress: Self.clientAddress(request.headers))
                let open = configuration.engine.openPacket(sid: session.id, upgrades: ["websocket"])
                return response(Self.reply(text: EngineCodec.encodePayload([open])), request)
            }
            return response(await poll(sid: sid, forwarding: true), request)
        } catch let error as EngineError {
            return response(Self.reply(error), request)
        } catch {
            return response(Self.reply(EngineError(.badRequest)), request)
        }
    }

    func pollingPost(_ request: Request) async -> Response {
        var request = request
        do {
            let query = try EngineQuery(query(request))
            guard query.transport == .polling, let sid = query.sid else {
                throw EngineError(query.sid == nil ? .badHandshakeMethod : .badRequest)
            }
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: configuration.engine.maxPayload)
            } catch {
                await registry.session(sid)?.close(reason: .payloadTooLarge)
                return Response(status: .contentTooLarge, headers: corsHeaders(request))
            }
            return response(await post(sid: sid, body: body, forwarding: true), request)
        } catch let error as EngineError {
            return response(Self.reply(error), request)
        } catch {
            return response(Self.reply(EngineError(.badRequest)), request)
        }
    }

    /// How long a forwarded poll may take: a held GET is answered within the ping interval.
    private var forwardTimeout: Duration {
        .milliseconds(configuration.engine.pingInterval + configuration.engine.pingTimeout) + .seconds(5)
    }

    /// A poll another instance got for a session of this one, answered here (never forwarded again).
    func answerForwarded(_ method: ForwardedPolling.Method, sid: String, body: ByteBuffer) async -> PollingReply {
        switch method {
        case .get: return await poll(sid: sid, forwarding: false)
        case .post: return await post(sid: sid, body: body, forwarding: false)
        case .release:
            await registry.session(sid)?.releaseForwardedPoll()
            return PollingReply(status: 200, contentType: "text/plain", body: ByteBuffer())
        }
    }

    /// A polling GET for `sid`: answered here when the session is here, else (`forwarding`) by the instance
    /// that owns it, through the cluster.
    func poll(sid: String, forwarding: Bool) async -> PollingReply {
        guard let session = await registry.session(sid) else {
            return await elsewhere(.get, sid: sid, body: ByteBuffer(), forwarding: forwarding)
        }
        do {
            // A GET from the client itself is held on its connection, watched; a forwarded one, on the cluster's.
            let packets = try await session.poll(
                connection: forwarding ? ConnectionWatch.current : nil, forwarded: !forwarding)
            return Self.reply(text: EngineCodec.encodePayload(packets))
        } catch let error as EngineError {
            return Self.reply(error)
        } catch {
            return Self.reply(EngineError(.badRequest))
        }
    }

    /// A polling POST for `sid`, here or (`forwarding`) at the instance that owns the session.
    func post(sid: String, body: ByteBuffer, forwarding: Bool) async -> PollingReply {
        guard let session = await registry.session(sid) else {
            return await elsewhere(.post, sid: sid, body: body, forwarding: forwarding)
        }
        do {
            let packets: [EnginePacket]
            do {
                packets = try EngineCodec.decodePayload(String(buffer: body))
            } catch {
                // A malformed payload ends the session, as in the reference server.
                await session.close(reason: .invalidPacket("malformed polling payload"))
                throw error
            }
            try await session.post(packets)
            return PollingReply(status: 200, contentType: "text/html", body: ByteBuffer(string: "ok"))
        } catch let error as EngineError {
            return Self.reply(error)
        } catch {
            return Self.reply(EngineError(.badRequest))
        }
    }

    /// A request for a session this instance does not hold: the owner's answer when `forwarding` and the
    /// cluster can reach it, else "Session ID unknown".
    private func elsewhere(_ method: ForwardedPolling.Method, sid: String, body: ByteBuffer, forwarding: Bool) async
        -> PollingReply
    {
        // A draining instance holds no new GETs: it would not be there to answer them.
        if forwarding, method == .get, isDraining, sockets?.cluster != nil { return Self.noop }
        if forwarding, let cluster = sockets?.cluster,
            let reply = await cluster.forward(method, sid: sid, body: body, timeout: forwardTimeout)
        {
            return reply
        }
        return Self.reply(EngineError(.sessionIDUnknown))
    }

    private static func reply(text: String) -> PollingReply {
        PollingReply(status: 200, contentType: "text/plain; charset=UTF-8", body: ByteBuffer(string: text))
    }

    private static func reply(_ error: EngineError) -> PollingReply {
        PollingReply(
            status: error.code == .forbidden ? 403 : 400, contentType: "application/json",
            body: ByteBuffer(string: error.json))
    }

    private func response(_ reply: PollingReply, _ request: Request) -> Response {
        var headers = corsHeaders(request)
        headers[.contentType] = reply.contentType
        if reply.status == 200 { headers[.cacheControl] = "no-store" }
        return Response(status: .init(code: reply.status), headers: headers, body: .init(byteBuffer: reply.body))
    }

    /// A request with a method Engine.IO does not use.
    func badMethod(_ request: Request) -> Response {
        response(Self.reply(EngineError(.badHandshakeMethod)), request)
    }

    func preflight(_ request: Request) -> Response {
        var headers = corsHeaders(request)
        headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
        headers[.accessControlAllowHeaders] = "Content-Type"
        return Response(status: .noContent, headers: headers)
    }

    /// Cross-origin polling is allowed for the configured origins (`*`: any), with credentials for cookies.
    func corsHeaders(_ request: Request) -> HTTPFields {
        var headers = HTTPFields()
        guard let origin = request.headers[.origin] else { return headers }
        if configuration.corsOrigins.contains("*") || configuration.corsOrigins.contains(origin) {
            headers[.accessControlAllowOrigin] = origin
            headers[.accessControlAllowCredentials] = "true"
            headers[.vary] = "Origin"
        }
        return headers
    }

    // MARK: WebSocket

    /// Whether a WebSocket upgrade request for `uri` is taken: the Engine.IO path with `transport=websocket`,
    /// and for the upgrade of a polling session, one that is here and still polling.
    func shouldUpgrade(uri: String) async -> Bool {
        let uri = URI(uri)
        guard uri.path == Self.path, let query = try? EngineQuery(query(uri)), query.transport == .websocket else {
            return false
        }
        guard !isDraining else {
            if query.sid == nil { metrics.handshake(webSocket: true, accepted: false) }
            return false
        }
        if let sid = query.sid {
            guard let session = await registry.session(sid), await session.state == .polling else { return false }
        }
        return true
    }

    /// How long a client gets to answer the WebSocket close handshake: a drain must fit in Cloud Run's ten
    /// seconds, whatever the clients do.
    static let closeHandshakeTimeout = Duration.seconds(2)

    /// The client's address from a request's headers (`ConnectionAudit.clientAddress`).
    static func clientAddress(_ headers: HTTPFields) -> String? {
        ConnectionAudit.clientAddress(
            forwardedFor: headers.filter { $0.name.canonicalName == "x-forwarded-for" }.map(\.value))
    }

    /// The handlers that carry a WebSocket accepted by `shouldUpgrade`: a new session, or the upgrade of the
    /// polling session the request names.
    func webSocketHandlers(
        channel: any Channel, uri: String, clientAddress: String?
    ) -> (sink: FrameSink, reader: WebSocketReader) {
        let sink = FrameSink(
            channel: channel, limit: configuration.outboundQueueLimit, closeTimeout: Self.closeHandshakeTimeout,
            metrics: metrics)
        let transport = WebSocketTransport(
            engine: self, sink: sink, channel: channel, upgradingSID: query(URI(uri))["sid"],
            clientAddress: clientAddress)
        return (sink, WebSocketReader(sink: sink, transport: transport, maxPayload: configuration.engine.maxPayload))
    }
}
