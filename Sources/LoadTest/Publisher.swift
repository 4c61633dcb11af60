import Dispatch
import JSON
import NIOCore
import NIOHTTP1
import NIOPosix

/// Publishes `tender:update` events through `POST /v1/publish` at a fixed rate, as a backend does, over a few
/// keep-alive connections. Each event carries the moment it was meant to be sent (`sent`, uptime nanoseconds), not
/// the moment it was: a publisher that falls behind shows up in the latency, instead of hiding it (coordinated
/// omission). Runs on one event loop.
final class Publisher: @unchecked Sendable {
    let loop: EventLoop
    let options: LoadTestOptions
    private var connections: [PublishConnection] = []
    private var idle: [PublishConnection] = []
    /// Due publishes waiting for a free connection: (room, intended time).
    private var backlog: [(Int, UInt64)] = []
    private var backlogStart = 0
    private var started: UInt64 = 0
    private var issued = 0
    private var timer: RepeatedTask?
    /// Accepted publishes per room, for the deliveries expected.
    private(set) var accepted: [Int]
    private(set) var failed: [String: Int] = [:]
    private(set) var dropped = 0
    static let connectionCount = 8
    static let backlogLimit = 100_000

    init(loop: EventLoop, options: LoadTestOptions) {
        self.loop = loop
        self.options = options
        accepted = Array(repeating: 0, count: options.rooms)
    }

    /// Opens the connections; succeeds once all are up.
    func connect() -> EventLoopFuture<Void> {
        let host = options.publishURL.host ?? "127.0.0.1"
        let port = options.publishURL.port ?? 80
        let futures = (0..<Self.connectionCount).map { _ in
            ClientBootstrap(group: loop)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(
                            PublishConnection(publisher: self, host: "\(host):\(port)"))
                    }
                }
                .connect(host: host, port: port)
                .flatMap { $0.pipeline.handler(type: PublishConnection.self) }
                .map { connection in
                    self.connections.append(connection)
                    self.idle.append(connection)
                }
        }
        return EventLoopFuture.andAllSucceed(futures, on: loop)
    }

    /// Publishes at the rate until `stop()`.
    func start() {
        started = DispatchTime.now().uptimeNanoseconds
        timer = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(2)) { [self] _ in tick() }
    }

    func stop() {
        timer?.cancel()
        timer = nil
    }

    func close() {
        closing = true
        for connection in connections { connection.context?.close(promise: nil) }
    }

    private var closing = false

    var publishes: Int { accepted.reduce(0, +) }

    private func tick() {
        let now = DispatchTime.now().uptimeNanoseconds
        let due = Int(Double(now - started) / 1e9 * Double(options.rate))
        while issued < due {
            let intended = started + UInt64(Double(issued) * 1e9 / Double(options.rate))
            if backlog.count - backlogStart >= Self.backlogLimit {
                dropped += 1
            } else {
                backlog.append((issued % options.rooms, intended))
            }
            issued += 1
        }
        drain()
    }

    private func drain() {
        while backlogStart < backlog.count, let connection = idle.popLast() {
            let (room, intended) = backlog[backlogStart]
            backlogStart += 1
            connection.send(body(room: room, sent: intended), room: room)
        }
        if backlogStart > 4096, backlogStart * 2 > backlog.count {
            backlog.removeFirst(backlogStart)
            backlogStart = 0
        }
    }

    func body(room: Int, sent: UInt64) -> String {
        let tender = LoadTestOptions.room(room, of: options.rooms)
        return JSONValue.object([
            (key: "namespace", value: .string(EngineClient.namespace)),
            (key: "room", value: .string("tender:" + tender)),
            (key: "event", value: .string("tender:update")),
            (
                key: "data",
                value: .object([(key: "tenderId", value: .string(tender)), (key: "sent", value: .number(Double(sent)))])
            ),
        ]).serialized()
    }

    /// A connection's answer: 202 is an accepted publish.
    func answered(_ connection: PublishConnection, status: Int?, room: Int) {
        if closing { return }
        if status == 202 {
            accepted[room] += 1
        } else {
            failed[status.map { "publish_\($0)" } ?? "publish_closed", default: 0] += 1
        }
        if status != nil { idle.append(connection) }
        drain()
    }
}

/// One keep-alive connection of the publisher: one request at a time.
final class PublishConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    unowned let publisher: Publisher
    let host: String
    var context: ChannelHandlerContext?
    private var status: Int?
    private var room = 0

    init(publisher: Publisher, host: String) {
        self.publisher = publisher
        self.host = host
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func send(_ body: String, room: Int) {
        guard let context else { return }
        self.room = room
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: publisher.options.publishURL.path)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        if let token = publisher.options.publishToken {
            head.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body: break
        case .end:
            publisher.answered(self, status: status, room: room)
            status = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        publisher.answered(self, status: nil, room: room)
    }
}
