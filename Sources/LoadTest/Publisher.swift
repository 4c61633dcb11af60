import Dispatch
import JSON
import NIOCore
import NIOHTTP1
import NIOPosix

/// Publishes `tender:update` events through `POST /v1/publish` at a fixed rate, as a backend does, over a few
/// keep-alive connections. Each event carries the moment it was due (`sent`, nanoseconds from the test's origin),
/// not the moment it left: a publisher that falls behind shows up in the latency instead of hiding it (coordinated
/// omission). It wakes at each publish's moment (batching only above a thousand a second). Runs on one event loop.
final class Publisher: @unchecked Sendable {
    let loop: EventLoop
    let options: LoadTestOptions
    /// Uptime nanoseconds `sent` counts from: small numbers, which JSON carries exactly.
    let origin: UInt64
    private var connections: [PublishConnection] = []
    private var idle: [PublishConnection] = []
    /// Due publishes waiting for a free connection: (room, due time).
    private var backlog: [(Int, UInt64)] = []
    private var backlogStart = 0
    private var started: UInt64 = 0
    private var issued = 0
    private var timer: Scheduled<Void>?
    private var stopped = true
    private var closing = false
    /// Accepted publishes per room, for the deliveries expected.
    private(set) var accepted: [Int]
    private(set) var failed: [String: Int] = [:]
    /// Due but never sent: over the backlog's bound, or still waiting when publishing stopped.
    private(set) var dropped = 0
    static let connectionCount = 8
    static let backlogLimit = 100_000

    init(loop: EventLoop, options: LoadTestOptions, origin: UInt64) {
        self.loop = loop
        self.options = options
        self.origin = origin
        accepted = Array(repeating: 0, count: options.rooms)
    }

    /// Opens the connections; succeeds once all are up.
    func connect() -> EventLoopFuture<Void> {
        EventLoopFuture.andAllSucceed((0..<Self.connectionCount).map { _ in open() }, on: loop)
    }

    /// One more connection, idle once up.
    private func open() -> EventLoopFuture<Void> {
        let host = options.publishURL.host ?? "127.0.0.1"
        let port = options.publishURL.port ?? 80
        return LoadTestConnection.open(on: loop, host: host, port: port, http: true) {
            PublishConnection(publisher: self, host: "\(host):\(port)")
        }
        .flatMap { $0.pipeline.handler(type: PublishConnection.self) }
        .map { connection in
            self.connections.append(connection)
            self.idle.append(connection)
            self.drain()
        }
    }

    /// Publishes at the rate until `stop()`.
    func start() {
        started = DispatchTime.now().uptimeNanoseconds
        stopped = false
        tick()
    }

    /// No more publishes: what was due and not sent yet counts as dropped.
    func stop() {
        stopped = true
        timer?.cancel()
        timer = nil
        dropped += backlog.count - backlogStart
        backlog.removeAll()
        backlogStart = 0
    }

    /// Publishes sent and not answered yet.
    var inFlight: Int { connections.filter(\.busy).count }

    func close() {
        closing = true
        for connection in connections { connection.context?.close(promise: nil) }
    }

    /// Queues what is due, sends what connections are free for, and sleeps until the next publish is due (at
    /// least a millisecond: faster rates go out in batches).
    private func tick() {
        guard !stopped, options.rate > 0 else { return }
        let interval = 1e9 / Double(options.rate)
        let now = DispatchTime.now().uptimeNanoseconds
        while started + UInt64(Double(issued) * interval) <= now {
            let due = started + UInt64(Double(issued) * interval)
            if backlog.count - backlogStart >= Self.backlogLimit {
                dropped += 1
            } else {
                backlog.append((issued % options.rooms, due))
            }
            issued += 1
        }
        drain()
        let next = Int64(started + UInt64(Double(issued) * interval)) - Int64(DispatchTime.now().uptimeNanoseconds)
        timer = loop.scheduleTask(in: .nanoseconds(max(next, 1_000_000))) { [self] in tick() }
    }

    private func drain() {
        while backlogStart < backlog.count, let connection = idle.popLast() {
            let (room, due) = backlog[backlogStart]
            backlogStart += 1
            connection.send(body(room: room, sent: due - origin), room: room)
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

    /// A connection's answer: 202 is an accepted publish; nil, the connection closed.
    func answered(_ connection: PublishConnection, status: Int?, room: Int, wasBusy: Bool) {
        if closing { return }
        if status == 202 {
            accepted[room] += 1
        } else if status != nil || wasBusy {
            failed[status.map { "publish_\($0)" } ?? "publish_closed", default: 0] += 1
        }
        if status != nil {
            idle.append(connection)
        } else {
            // A connection the server closed (a keep-alive timeout, say) is replaced.
            connections.removeAll { $0 === connection }
            idle.removeAll { $0 === connection }
            open().whenFailure { _ in self.failed["publish_connect_failed", default: 0] += 1 }
        }
        drain()
    }
}

/// One keep-alive connection of the publisher: one request at a time.
final class PublishConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    weak var publisher: Publisher?
    let host: String
    var context: ChannelHandlerContext?
    private var status: Int?
    private var room = 0
    /// A request is waiting for its answer.
    private(set) var busy = false

    init(publisher: Publisher, host: String) {
        self.publisher = publisher
        self.host = host
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func send(_ body: String, room: Int) {
        guard let context, let publisher else { return }
        self.room = room
        busy = true
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
            busy = false
            publisher?.answered(self, status: status, room: room, wasBusy: true)
            status = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        let wasBusy = busy
        busy = false
        publisher?.answered(self, status: nil, room: room, wasBusy: wasBusy)
    }
}
