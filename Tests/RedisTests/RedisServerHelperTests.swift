import TestSupport
import Testing

/// The tests' redis-server helper notices a server that exits instead of waiting out its deadline, says why in
/// redis-server's own words, and starts again on a fresh port.
@Suite(Oracle.redisServer.trait) struct RedisServerHelperTests {
    @Test("a port taken before redis-server binds it is reported with redis's message, then retried on a fresh one")
    func takenPortIsRetried() async throws {
        let holder = try await RedisServer()
        var offered: [Int] = []
        let server = try await RedisServer(ports: {
            offered.append(offered.isEmpty ? holder.port : try RedisServer.freePort())
            return offered.last!
        })
        #expect(offered.count == 2)
        #expect(server.port == offered[1])
        #expect(server.port != holder.port)
        #expect(try server.cli("PING") == "PONG")
    }

    @Test("a port that stays taken fails fast with every attempt's reason")
    func portThatStaysTaken() async throws {
        let holder = try await RedisServer()
        let started = ContinuousClock.now
        let error = await #expect(throws: RedisServerFailure.self) {
            _ = try await RedisServer(ports: { holder.port })
        }
        #expect(ContinuousClock.now - started < .seconds(20), "the exit was noticed, not waited out")
        let message = error?.description ?? ""
        #expect(message.contains("did not start in 3 attempts"), "\(message)")
        #expect(message.contains("Address already in use"), "\(message)")
    }

    @Test("a server killed and started again comes back on the same port")
    func restart() async throws {
        let server = try await RedisServer()
        let port = server.port
        server.kill()
        try await server.start()
        #expect(server.port == port)
        #expect(try server.cli("PING") == "PONG")
    }
}

/// The helpers' polling survives a machine that does not schedule them in time.
@Suite struct EventuallyTests {
    @Test("a condition met while the waiter was not scheduled is seen after the deadline, not reported as unmet")
    func checkedAfterTheDeadline() async throws {
        // The 200 ms pause stands for a waiter that a loaded two-core run resumed only after its deadline.
        var checks = 0
        let met = try await eventually(within: .milliseconds(10), every: .milliseconds(200)) {
            checks += 1
            return checks > 1
        }
        #expect(met && checks == 2)
    }

    @Test("a condition never met is answered false once the time is up")
    func unmet() async throws {
        let started = ContinuousClock.now
        #expect(try await eventually(within: .milliseconds(100), every: .milliseconds(10)) { false } == false)
        #expect(ContinuousClock.now - started >= .milliseconds(100))
    }
}
