import Logging
import Redis
import SocketIO
import TestSupport
import Testing

@testable import RealtimeServer

/// `serverSideEmit` between instances joined through a real redis-server, each instance in this process.
@Suite(Oracle.redisServer.trait) struct ServerSideEventTests {
    private let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    private func instance(_ name: String, _ redis: RedisServer, handlers: [String: ServerSideHandler] = [:])
        -> (server: SocketServer, run: Task<Void, Never>)
    {
        let metrics = ServerMetrics(namespaces: ["/"])
        let cluster = ClusterAdapter(
            redis: RedisConfiguration(host: "127.0.0.1", port: redis.port), instanceID: name, metrics: metrics,
            logger: quiet)
        let server = SocketServer(
            [Namespace("/")], metrics: metrics, cluster: cluster, serverSideHandlers: handlers)
        return (server, Task { await cluster.run(server.clusterInbound()) })
    }

    private func listeners(_ redis: RedisServer) throws -> Int {
        Int(try redis.cli("PUBSUB", "NUMSUB", "tfctl-rt:cluster").split(separator: "\n").last ?? "") ?? 0
    }

    @Test("each other instance acknowledges once; a slow one is reported missing, a dead one is not waited for")
    func acknowledgements() async throws {
        let redis = try await RedisServer()
        let asker = instance("a", redis)
        let helpful = instance(
            "b", redis, handlers: ["greet": { arguments in .string("hello \(arguments[0].stringValue ?? "") from b") }])
        let slow = instance(
            "c", redis,
            handlers: [
                "greet": { _ in
                    try? await Task.sleep(for: .seconds(30))
                    return .string("too late")
                }
            ])
        defer { for task in [asker.run, helpful.run, slow.run] { task.cancel() } }
        try #require(try await eventually { try listeners(redis) == 3 }, "the three instances never all subscribed")

        // 8 s: enough for b under a loaded test run (1.8 s has been seen), well short of c's 30 s.
        let (answers, missing) = await asker.server.serverSideEmit("greet", ["ann"], timeout: .seconds(8))
        #expect(answers == [.string("hello ann from b")])
        #expect(missing == 1)
        // An event nobody handles is acknowledged with null, so the asker does not wait for it.
        #expect(await asker.server.serverSideEmit("unknown", []) == ([.null, .null], 0))

        slow.run.cancel()
        try #require(try await eventually { try listeners(redis) == 2 }, "the slow instance never unsubscribed")
        let started = ContinuousClock.now
        let (after, missingAfter) = await asker.server.serverSideEmit("greet", ["bo"], timeout: .seconds(20))
        #expect(after == [.string("hello bo from b")] && missingAfter == 0)
        // Not waited for: well inside the 20 s it would take to time out on c (a loaded parallel run has taken 1.8 s
        // for b's answer alone, so no tighter bound).
        #expect(ContinuousClock.now - started < .seconds(15))
    }
}
