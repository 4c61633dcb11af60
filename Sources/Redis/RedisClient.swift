import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One Redis connection that keeps itself up: `run()` connects, says HELLO (or AUTH), and reconnects with
/// backoff and jitter whenever the connection drops, until the task running it is cancelled. Commands are
/// pipelined; while disconnected they fail at once with `RedisError.notConnected` rather than queue, so a
/// caller that cannot wait (a broadcast) can count the loss and carry on.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let channel = Mutex<(any Channel)?>(nil)
    private let onPush: @Sendable (RESPValue) -> Void
    private let onConnect: @Sendable (RedisClient) async -> Void
    private let onDisconnect: @Sendable () -> Void
    private let resp3 = Mutex(false)

    /// - Parameters:
    ///   - onPush: pub/sub messages and other pushes, on the connection's event loop.
    ///   - onConnect: runs after every (re)connect and handshake, e.g. to subscribe again; the client is
    ///     already connected then.
    ///   - onDisconnect: the connection was lost.
    public init(
        configuration: RedisConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger, onPush: @escaping @Sendable (RESPValue) -> Void = { _ in },
        onConnect: @escaping @Sendable (RedisClient) async -> Void = { _ in },
        onDisconnect: @escaping @Sendable () -> Void = {}
    ) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.onPush = onPush
        self.onConnect = onConnect
        self.onDisconnect = onDisconnect
    }

    public var isConnected: Bool { channel.withLock { $0 != nil } }

    /// Whether the server speaks RESP3 on the current connection.
    public var speaksRESP3: Bool { resp3.withLock { $0 } }

    // MARK: Commands

    /// Sends one command and waits for its reply; an error reply throws `RedisError` with the server's message.
    @discardableResult
    public func send(_ command: RESPCommand) async throws -> RESPValue {
        try await send([command])[0]
    }

    /// Sends commands in one write; their replies in the same order. Error replies are returned as `.error`
    /// values here, so one failed command does not hide the others' replies.
    public func pipeline(_ commands: [RESPCommand]) async throws -> [RESPValue] {
        guard let channel = channel.withLock({ $0 }) else { throw RedisError.notConnected }
        return try await Self.write(commands, to: channel, timeout: configuration.commandTimeout)
    }

    @discardableResult
    public func send(_ commands: [RESPCommand]) async throws -> [RESPValue] {
        let replies = try await pipeline(commands)
        for reply in replies {
            if case .error(let message) = reply { throw RedisError(.server(message)) }
        }
        return replies
    }

    /// Writes a command without waiting for its reply: calls from one task reach Redis in the order they were
    /// made. Returns false when there is no connection (nothing was sent).
    @discardableResult
    public func sendAndForget(_ command: RESPCommand) -> Bool {
        guard let channel = channel.withLock({ $0 }) else { return false }
        Self.write(RESPRequest(commands: [command], promises: [channel.eventLoop.makePromise()]), to: channel)
        return true
    }

    /// Writes commands now, before returning, and answers their replies' future: an actor that calls this keeps
    /// its calls' order on the wire, which an `async` send (that may run after a later call) does not promise.
    /// nil when there is no connection (nothing was sent). A closed connection fails the future, and so does one
    /// closed because the replies took longer than the command timeout.
    public func submit(_ commands: [RESPCommand]) -> EventLoopFuture<[RESPValue]>? {
        guard let channel = channel.withLock({ $0 }) else { return nil }
        let replies = commands.map { _ in channel.eventLoop.makePromise(of: RESPValue.self) }
        Self.write(RESPRequest(commands: commands, promises: replies), to: channel)
        let all = EventLoopFuture.whenAllSucceed(replies.map(\.futureResult), on: channel.eventLoop)
        // As for `send`: a reply that does not come in time means every later one is late too; start over.
        let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.commandTimeout)) {
            channel.close(promise: nil)
        }
        all.whenComplete { _ in deadline.cancel() }
        return all
    }

    /// Pub/sub commands (SUBSCRIBE, UNSUBSCRIBE, SSUBSCRIBE ...): their confirmations arrive through `onPush`.
    /// Returns false when there is no connection (a subscriber makes its subscriptions again in `onConnect`).
    @discardableResult
    public func sendPubSub(_ command: RESPCommand) -> Bool {
        guard let channel = channel.withLock({ $0 }) else { return false }
        Self.write(RESPRequest(commands: [command], promises: [nil]), to: channel)
        return true
    }

    /// A write that never reaches the handler (the channel closed meanwhile) fails its replies, which would
    /// otherwise wait forever.
    private static func write(_ request: RESPRequest, to channel: any Channel) {
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { _ in
            for reply in request.promises { reply?.fail(RedisError.connectionClosed) }
        }
        channel.writeAndFlush(request, promise: written)
    }

    private static func write(_ commands: [RESPCommand], to channel: any Channel, timeout: Duration) async throws
        -> [RESPValue]
    {
        let eventLoop = channel.eventLoop
        let replies = commands.map { _ in eventLoop.makePromise(of: RESPValue.self) }
        write(RESPRequest(commands: commands, promises: replies), to: channel)
        let all = EventLoopFuture.whenAllSucceed(replies.map(\.futureResult), on: eventLoop)
        let timedOut = NIOLockedValueBox(false)
        let deadline = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            // Redis answers in order, so one late reply means every later one is late too: start over.
            timedOut.withLockedValue { $0 = true }
            channel.close(promise: nil)
        }
        all.whenComplete { _ in deadline.cancel() }
        do {
            return try await all.get()
        } catch {
            guard timedOut.withLockedValue({ $0 }) else { throw error }
            throw RedisError(.timeout(commands.map(\.name).joined(separator: ", ")))
        }
    }

    // MARK: Connection

    /// Keeps a connection up until the calling task is cancelled.
    public func run() async {
        var attempt = 0
        while !Task.isCancelled {
            var connected: (any Channel)?
            do {
                let channel = try await connect()
                connected = channel
                attempt = 0
                try await handshake(channel)
                self.channel.withLock { $0 = channel }
                await onConnect(self)
                logger.info(
                    "connected to Redis",
                    metadata: [
                        "redis": "\(configuration.host):\(configuration.port)", "resp": "\(speaksRESP3 ? 3 : 2)",
                    ])
                // Cancelling the task closes the connection, which ends the wait.
                try await withTaskCancellationHandler {
                    try await channel.closeFuture.get()
                } onCancel: {
                    channel.close(promise: nil)
                }
            } catch {
                if !Task.isCancelled {
                    logger.warning(
                        "Redis connection failed",
                        metadata: ["redis": "\(configuration.host):\(configuration.port)", "error": "\(error)"])
                }
            }
            let wasUp = self.channel.withLock { current in
                defer { current = nil }
                return current != nil
            }
            try? await connected?.close()
            if wasUp {
                logger.warning(
                    "lost the Redis connection", metadata: ["redis": "\(configuration.host):\(configuration.port)"])
                onDisconnect()
            }
            guard !Task.isCancelled else { return }
            try? await Task.sleep(for: backoff(attempt: attempt))
            attempt += 1
        }
    }

    /// Exponential backoff with "equal jitter": half the step is fixed, half random.
    func backoff(attempt: Int) -> Duration {
        let initial = configuration.initialBackoff / .milliseconds(1)
        let limit = configuration.maxBackoff / .milliseconds(1)
        let step = min(limit, initial * Double(1 << min(attempt, 30)))
        return .milliseconds(Int(step / 2 + Double.random(in: 0...(step / 2))))
    }

    private func connect() async throws -> any Channel {
        let configuration = self.configuration
        let onPush = self.onPush
        var bootstrap = ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
        let sslContext = try configuration.tls.map { try NIOSSLContext(configuration: $0) }
        bootstrap = bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                if let sslContext {
                    let serverName = configuration.host.first?.isNumber == true ? nil : configuration.host
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                }
                try channel.pipeline.syncOperations.addHandler(
                    RESPHandler(
                        parser: RESPParser(limits: configuration.parserLimits),
                        maxPending: configuration.maxPendingCommands, onPush: onPush))
            }
        }
        return try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
    }

    /// HELLO 3 with the credentials; a server that does not know HELLO (or RESP3) gets AUTH and RESP2.
    private func handshake(_ channel: any Channel) async throws {
        let timeout = configuration.connectTimeout
        var credentials: [RESPArgument] = []
        if let password = configuration.password {
            credentials = ["AUTH", RESPArgument(configuration.username ?? "default"), RESPArgument(password)]
        }
        let name: [RESPArgument] = configuration.clientName.map { ["SETNAME", RESPArgument($0)] } ?? []
        if configuration.preferRESP3 {
            let reply = try await Self.write(
                [RESPCommand(["HELLO", "3"] + credentials + name)], to: channel, timeout: timeout)[0]
            switch reply {
            case .error(let message)
            where message.hasPrefix("NOPROTO") || message.lowercased().contains("unknown command"):
                break  // an older server: RESP2 below
            case .error(let message):
                throw RedisError(.server(message))
            default:
                resp3.withLock { $0 = true }
                return
            }
        }
        resp3.withLock { $0 = false }
        var commands: [RESPCommand] = []
        if let password = configuration.password {
            commands.append(
                RESPCommand(
                    ["AUTH"] + (configuration.username.map { [RESPArgument($0)] } ?? []) + [RESPArgument(password)]))
        }
        if let clientName = configuration.clientName {
            commands.append(RESPCommand("CLIENT", "SETNAME", RESPArgument(clientName)))
        }
        guard !commands.isEmpty else { return }
        for reply in try await Self.write(commands, to: channel, timeout: timeout) {
            if case .error(let message) = reply { throw RedisError(.server(message)) }
        }
    }
}
