import Logging
import NIOCore
import Redis
import Synchronization
import TestSupport
import Testing

/// The client against a real redis-server: commands, pipelining, RESP2 and RESP3, AUTH, TLS, pub/sub,
/// reconnects and timeouts.
@Suite(Oracle.redisServer.trait, .serialized) struct RedisClientTests {
    /// Messages pushed to a client, in arrival order.
    final class Pushes: Sendable {
        let values = Mutex<[RESPValue]>([])
        func append(_ value: RESPValue) { values.withLock { $0.append(value) } }
        /// The payloads of `message` pushes.
        var messages: [String] {
            values.withLock { values in
                values.compactMap { value in
                    guard let elements = value.elements, elements.first?.string == "message" else { return nil }
                    return elements.last?.string
                }
            }
        }
    }

    private func configuration(_ server: RedisServer) -> RedisConfiguration {
        var configuration = RedisConfiguration(host: "127.0.0.1", port: server.port)
        configuration.initialBackoff = .milliseconds(20)
        configuration.maxBackoff = .milliseconds(200)
        // The suites run in parallel on two cores: a slow reply here is load, not a dead Redis.
        configuration.commandTimeout = .seconds(30)
        return configuration
    }

    /// Runs `client` for the duration of `body`, once it is connected.
    private func running<T>(_ client: RedisClient, _ body: () async throws -> T) async throws -> T {
        let task = Task { await client.run() }
        defer { task.cancel() }
        try await eventually { client.isConnected }
        return try await body()
    }

    private func eventually(
        within limit: Duration = .seconds(30), _ condition: () async throws -> Bool,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        if try await TestSupport.eventually(within: limit, every: .milliseconds(10), condition) { return }
        Issue.record("condition not met within \(limit)", sourceLocation: sourceLocation)
        throw CancellationError()
    }

    @Test("commands, binary-safe values, error replies and RESP3 maps")
    func commands() async throws {
        let server = try await RedisServer()
        let client = RedisClient(configuration: configuration(server), logger: quiet)
        try await running(client) {
            #expect(client.speaksRESP3)
            let bytes = ByteBuffer(bytes: [0, 1, 13, 10, 255])
            try await client.send(RESPCommand("SET", "binary", RESPArgument(bytes)))
            #expect(try await client.send(RESPCommand("GET", "binary")) == .bulkString(bytes))
            #expect(try await client.send(RESPCommand("GET", "missing")).isNull)
            await #expect(throws: RedisError.self) { try await client.send(RESPCommand("INCR", "binary")) }
            do {
                try await client.send(RESPCommand("NOSUCHCOMMAND"))
            } catch let error as RedisError {
                #expect(error.serverMessage?.hasPrefix("ERR unknown command") == true)
            }
            try await client.send(RESPCommand("HSET", "hash", "field", "value"))
            let reply = try await client.send(RESPCommand("HGETALL", "hash"))
            #expect(
                reply == .map([(.bulkString(ByteBuffer(string: "field")), .bulkString(ByteBuffer(string: "value")))]))
        }
    }

    @Test("pipelined commands get their own replies, in order, from one write or many tasks")
    func pipelining() async throws {
        let server = try await RedisServer()
        let client = RedisClient(configuration: configuration(server), logger: quiet)
        try await running(client) {
            let replies = try await client.pipeline((0..<1000).map { _ in RESPCommand("INCR", "counter") })
            #expect(replies == (1...1000).map { .integer(Int64($0)) })
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<50 {
                    group.addTask {
                        for step in 0..<20 {
                            let value = "\(task)-\(step)"
                            try await client.send(RESPCommand("SET", RESPArgument("key-\(task)"), RESPArgument(value)))
                            #expect(
                                try await client.send(RESPCommand("GET", RESPArgument("key-\(task)"))).string == value)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test("RESP2 when asked, with the same results")
    func resp2() async throws {
        let server = try await RedisServer()
        var configuration = configuration(server)
        configuration.preferRESP3 = false
        configuration.clientName = "tfctl-test"
        let client = RedisClient(configuration: configuration, logger: quiet)
        try await running(client) {
            #expect(!client.speaksRESP3)
            try await client.send(RESPCommand("HSET", "hash", "field", "value"))
            #expect(
                try await client.send(RESPCommand("HGETALL", "hash")).elements?.compactMap(\.string) == [
                    "field", "value",
                ])
            #expect(try await client.send(RESPCommand("CLIENT", "GETNAME")).string == "tfctl-test")
        }
    }

    @Test(
        "AUTH: Memorystore's AUTH string, an ACL user, and a wrong password that never gets in",
        arguments: [true, false])
    func authentication(resp3: Bool) async throws {
        let server = try await RedisServer(["--requirepass", "auth-string-0123"])
        try server.cli(
            "-a", "auth-string-0123", "--no-auth-warning", "ACL", "SETUSER", "app", "on", ">app-pw", "~*", "+@all")
        var right = configuration(server)
        right.preferRESP3 = resp3
        right.password = "auth-string-0123"
        try await running(RedisClient(configuration: right, logger: quiet)) {}
        var user = right
        user.username = "app"
        user.password = "app-pw"
        let acl = RedisClient(configuration: user, logger: quiet)
        try await running(acl) {
            let user = try await acl.send(RESPCommand("ACL", "WHOAMI"))
            #expect(user.string == "app")
        }
        var wrong = right
        wrong.password = "not-the-auth-string"
        let refused = RedisClient(configuration: wrong, logger: quiet)
        let task = Task { await refused.run() }
        try await Task.sleep(for: .milliseconds(300))
        #expect(!refused.isConnected)
        await #expect(throws: RedisError.notConnected) { try await refused.send(RESPCommand("PING")) }
        task.cancel()
    }

    @Test("TLS with the instance's server CA, as Memorystore's in-transit encryption; other roots are refused")
    func tls() async throws {
        let server = try await RedisServer(tls: true)
        var trusted = try RedisConfiguration(
            url: "rediss://127.0.0.1:\(server.tlsPort!)", caPEM: server.certificateAuthorityPEM)
        trusted.initialBackoff = .milliseconds(20)
        let client = RedisClient(configuration: trusted, logger: quiet)
        try await running(client) {
            #expect(try await client.send(RESPCommand("PING")) == .simpleString("PONG"))
            let large = String(repeating: "x", count: 1 << 20)
            try await client.send(RESPCommand("SET", "large", RESPArgument(large)))
            #expect(try await client.send(RESPCommand("GET", "large")).string == large)
        }
        let untrusted = RedisClient(
            configuration: try RedisConfiguration(url: "rediss://127.0.0.1:\(server.tlsPort!)"),
            logger: quiet)
        let task = Task { await untrusted.run() }
        try await Task.sleep(for: .milliseconds(300))
        #expect(!untrusted.isConnected)
        task.cancel()
    }

    @Test("pub/sub: messages arrive in publish order, on RESP3 and RESP2", arguments: [true, false])
    func pubSub(resp3: Bool) async throws {
        let server = try await RedisServer()
        var subscriberConfiguration = configuration(server)
        subscriberConfiguration.preferRESP3 = resp3
        let pushes = Pushes()
        let subscriber = RedisClient(
            configuration: subscriberConfiguration, logger: quiet, onPush: pushes.append)
        let publisher = RedisClient(configuration: configuration(server), logger: quiet)
        try await running(subscriber) {
            try await running(publisher) {
                #expect(subscriber.sendPubSub(RESPCommand("SUBSCRIBE", "room-1")))
                try await eventually {
                    try await publisher.send(RESPCommand("PUBSUB", "NUMSUB", "room-1")).elements?.last == .integer(1)
                }
                for index in 0..<1000 {
                    #expect(publisher.sendAndForget(RESPCommand("PUBLISH", "room-1", RESPArgument("m\(index)"))))
                }
                try await eventually { pushes.messages.count == 1000 }
                #expect(pushes.messages == (0..<1000).map { "m\($0)" })
                // Commands still work beside the subscription on RESP3, where pushes are out of band.
                if resp3 { #expect(try await subscriber.send(RESPCommand("PING")) == .simpleString("PONG")) }
            }
        }
    }

    @Test("a Redis that dies and comes back: commands fail fast meanwhile, then the client is back on its own")
    func reconnect() async throws {
        let server = try await RedisServer()
        let connects = Mutex(0)
        let client = RedisClient(
            configuration: configuration(server), logger: quiet,
            onConnect: { _ in connects.withLock { $0 += 1 } })
        try await running(client) {
            try await client.send(RESPCommand("SET", "k", "v"))
            server.kill()
            try await eventually { !client.isConnected }
            let started = ContinuousClock.now
            await #expect(throws: RedisError.notConnected) { try await client.send(RESPCommand("GET", "k")) }
            #expect(ContinuousClock.now - started < .milliseconds(100))
            try await server.start()
            try await eventually { client.isConnected }
            #expect(try await client.send(RESPCommand("PING")) == .simpleString("PONG"))
            #expect(connects.withLock { $0 } == 2)
        }
    }

    @Test("a command without a reply in time fails with a timeout, and the connection is made again")
    func timeout() async throws {
        let server = try await RedisServer()
        var configuration = configuration(server)
        configuration.commandTimeout = .milliseconds(200)
        let client = RedisClient(configuration: configuration, logger: quiet)
        try await running(client) {
            try server.cli("CLIENT", "PAUSE", "700", "ALL")
            do {
                try await client.send(RESPCommand("GET", "k"))
                Issue.record("the command should have timed out")
            } catch let error as RedisError {
                #expect(error.isTimeout, "\(error)")
            }
            try await eventually { (try? await client.send(RESPCommand("PING"))) == .simpleString("PONG") }
        }
    }
}
