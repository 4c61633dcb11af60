import Dispatch
import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// `tfctl loadtest`: opens the connections over the ramp, waits until they are subscribed, publishes at the rate
/// for the duration, and reports what the clients measured.
public final class LoadTest: @unchecked Sendable {
    let options: LoadTestOptions
    let progress: ((String) -> Void)?
    let phase: ((String) -> Void)?

    /// `progress`: called about once a second with a one-line summary (a live line at a terminal). `phase`: called
    /// with `publishing` when the publisher starts and `published` when it stops, for a benchmark that measures
    /// the servers' CPU over exactly that span.
    public init(options: LoadTestOptions, progress: ((String) -> Void)? = nil, phase: ((String) -> Void)? = nil) {
        self.options = options
        self.progress = progress
        self.phase = phase
    }

    /// The clients of one event loop; touched only on that loop.
    final class LoopClients: @unchecked Sendable {
        let loop: EventLoop
        let stats = LoadTestStats()
        var clients: [EngineClient] = []
        var channels: [Int: Channel] = [:]
        var stopping = false

        init(loop: EventLoop) { self.loop = loop }
    }

    public func run() throws -> LoadTestReport {
        try options.validate()
        Self.raiseDescriptorLimit()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
        defer { try? group.syncShutdownGracefully() }
        let loops = (0..<options.threads).map { _ in LoopClients(loop: group.next()) }
        let publisherLoop = loops[0].loop
        // The clock `sent` counts from: uptime nanoseconds would outgrow what JSON numbers hold exactly (2^53 ns
        // is 104 days of uptime).
        let origin = DispatchTime.now().uptimeNanoseconds
        let publisher = try publisherLoop.submit {
            Publisher(loop: publisherLoop, options: self.options, origin: origin)
        }.wait()

        // Ramp: connection i starts at a random moment of its slot, so N clients do not arrive in lockstep.
        let slot = options.ramp / Double(options.connections)
        for index in 0..<options.connections {
            let owner = loops[index % loops.count]
            let delay = slot * (Double(index) + Double.random(in: 0..<1))
            owner.loop.execute {
                let client = EngineClient(
                    index: index, room: index % self.options.rooms,
                    tender: LoadTestOptions.room(index, of: self.options.rooms), auth: self.options.auth(index),
                    stats: owner.stats, origin: origin)
                owner.clients.append(client)
                owner.loop.scheduleTask(in: .nanoseconds(Int64(delay * 1e9))) { self.connect(client, owner) }
            }
        }
        let setupStarted = Date()
        let setupLimit = options.ramp + 30
        var counts = try totals(loops)
        while counts.subscribed + counts.refused < options.connections,
            Date().timeIntervalSince(setupStarted) < setupLimit
        {
            progress?(
                "connecting: \(counts.subscribed)/\(options.connections) subscribed, \(counts.errors) errors")
            Thread.sleep(forTimeInterval: 0.25)
            counts = try totals(loops)
        }
        let setupSeconds = Date().timeIntervalSince(setupStarted)
        let deliveriesBefore = counts.deliveries
        // What each publish should reach: the clients subscribed to its room when publishing starts.
        let subscribers = try subscribedByRoom(loops)
        // Connected only now: a server closes keep-alive connections left idle through a long ramp.
        try publisherLoop.flatSubmit { publisher.connect() }.wait()
        phase?("publishing")
        let cpuAtStart = Self.cpuSeconds()
        try publisherLoop.submit { publisher.start() }.wait()
        let started = Date()
        var last = (time: started, deliveries: deliveriesBefore)
        while Date().timeIntervalSince(started) < options.duration {
            Thread.sleep(forTimeInterval: min(1, max(0.01, options.duration - Date().timeIntervalSince(started))))
            counts = try totals(loops)
            let now = Date()
            let rate = Double(counts.deliveries - last.deliveries) / max(0.001, now.timeIntervalSince(last.time))
            last = (now, counts.deliveries)
            progress?(
                String(
                    format: "%.0fs: %.0f deliveries/s, %d subscribed, %d errors", now.timeIntervalSince(started), rate,
                    counts.subscribedNow, counts.errors))
        }
        try publisherLoop.submit { publisher.stop() }.wait()
        let publishSeconds = Date().timeIntervalSince(started)
        // Publishes in flight are answered, then their events still arrive: a short wait for both (they count,
        // with their true latency).
        let answered = Date()
        while try publisherLoop.submit({ publisher.inFlight }).wait() > 0, Date().timeIntervalSince(answered) < 5 {
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 1)
        let cpuAtEnd = Self.cpuSeconds()
        phase?("published")
        let (accepted, failed, dropped) = try publisherLoop.submit {
            (publisher.accepted, publisher.failed, publisher.dropped)
        }.wait()
        let stats = LoadTestStats()
        for clients in loops {
            // Copied on the loop that writes them; the loop then closes its connections and stops reconnecting.
            let copy = try clients.loop.submit { () -> LoadTestStats in
                clients.stopping = true
                for channel in clients.channels.values { channel.close(promise: nil) }
                return clients.stats.copy()
            }.wait()
            stats.merge(copy)
        }
        try publisherLoop.submit { publisher.close() }.wait()
        let expected = accepted.enumerated().reduce(0) { $0 + $1.element * (subscribers[$1.offset] ?? 0) }
        var errors = stats.errors
        for (kind, count) in failed { errors[kind, default: 0] += count }
        if dropped > 0 { errors["publish_backlog_dropped"] = dropped }
        return LoadTestReport(
            options: options, setupSeconds: setupSeconds, publishSeconds: publishSeconds, stats: stats,
            deliveries: stats.deliveries - deliveriesBefore, expected: expected, publishes: accepted.reduce(0, +),
            errors: errors, cpuSeconds: cpuAtEnd - cpuAtStart)
    }

    private struct Totals {
        var subscribed = 0, subscribedNow = 0, refused = 0, deliveries = 0, errors = 0
    }

    private func subscribedByRoom(_ loops: [LoopClients]) throws -> [Int: Int] {
        var rooms: [Int: Int] = [:]
        for clients in loops {
            for (room, count) in try clients.loop.submit({ clients.stats.subscribedByRoom }).wait() {
                rooms[room, default: 0] += count
            }
        }
        return rooms
    }

    private func totals(_ loops: [LoopClients]) throws -> Totals {
        var totals = Totals()
        for clients in loops {
            let part = try clients.loop.submit { () -> Totals in
                Totals(
                    subscribed: clients.stats.subscribed, subscribedNow: clients.stats.subscribedNow,
                    refused: clients.stats.errors["connect_refused"] ?? 0,
                    deliveries: clients.stats.deliveries, errors: clients.stats.errors.values.reduce(0, +))
            }.wait()
            totals.subscribed += part.subscribed
            totals.subscribedNow += part.subscribedNow
            totals.refused += part.refused
            totals.deliveries += part.deliveries
            totals.errors += part.errors
        }
        return totals
    }

    /// Opens a connection for `client` on its loop; when it closes while the test runs, opens another after a
    /// second or so (socket.io-client's default delay, randomised by half), presenting the session to recover.
    func connect(_ client: EngineClient, _ owner: LoopClients) {
        guard !owner.stopping else { return }
        let url = options.urls[client.index % options.urls.count]
        let host = url.host ?? "127.0.0.1"
        let port = url.port ?? 80
        client.attemptStarted = DispatchTime.now().uptimeNanoseconds
        client.phase = .opening
        let connection: EventLoopFuture<Channel>
        switch options.transport {
        case .websocket:
            let path =
                (url.path.isEmpty ? "" : url.path.hasSuffix("/") ? String(url.path.dropLast()) : url.path)
                + "/socket.io/?EIO=4&transport=websocket"
            let headers = options.headers
            connection = LoadTestConnection.open(on: owner.loop, host: host, port: port, http: false) {
                WebSocketHandshake(host: "\(host):\(port)", path: path, headers: headers, client: client)
            }
        case .polling:
            connection = PollingSession.open(
                client: client, loop: owner.loop, host: host, port: port, basePath: url.path,
                headers: options.headers)
        }
        connection.whenComplete { result in
            switch result {
            case .success(let channel):
                guard !owner.stopping else {
                    channel.close(promise: nil)
                    return
                }
                owner.channels[client.index] = channel
                channel.closeFuture.whenComplete { _ in
                    owner.channels[client.index] = nil
                    client.connectionClosed()
                    if !owner.stopping { client.stats.error("disconnected") }
                    self.reconnectLater(client, owner)
                }
            case .failure:
                if !owner.stopping { client.stats.error("tcp_connect_failed") }
                self.reconnectLater(client, owner)
            }
        }
    }

    /// socket.io-client's reconnection: 1 s, doubling per failed attempt up to 5 s, randomised by half.
    private func reconnectLater(_ client: EngineClient, _ owner: LoopClients) {
        guard !owner.stopping, client.phase != .closed else { return }
        if client.sid != nil { client.reconnecting = true }
        let base = min(5.0, Double(1 << min(client.failedAttempts, 3)))
        client.failedAttempts += 1
        let delay = Int64(base * Double.random(in: 0.5...1.5) * 1e9)
        owner.loop.scheduleTask(in: .nanoseconds(delay)) { self.connect(client, owner) }
    }

    /// CPU seconds this process has used (user and system): the load generator's own cost.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// One descriptor per connection: the soft limit raised to the hard one.
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }
}
