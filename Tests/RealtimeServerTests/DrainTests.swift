import Logging
import Synchronization
import Testing

@testable import RealtimeServer

/// The drain's bound: whatever holds the process up after SIGTERM, it ends inside Cloud Run's ten seconds.
@Suite struct DrainTests {
    final class Flag: Sendable {
        let raised = Atomic<Bool>(false)
        var isRaised: Bool { raised.load(ordering: .relaxed) }
    }

    private func drainService(budget: Duration, overran: Flag) throws -> DrainService {
        let configuration = try ServerConfiguration.fromEnvironment([:])
        let engine = EngineServer(configuration: configuration, sockets: nil, logger: Logger(label: "test"))
        return DrainService(
            engine: engine, logger: Logger(label: "test"), budget: budget,
            overrun: { overran.raised.store(true, ordering: .relaxed) })
    }

    @Test("the budget is stated inside Cloud Run's ten seconds, with room for the close handshakes")
    func budgetFitsCloudRun() {
        #expect(DrainService.budget < .seconds(10))
        #expect(DrainService.budget > EngineServer.closeHandshakeTimeout * 2)
    }

    @Test("a shutdown that outlives the budget is ended by the overrun action")
    func overrunEndsTheShutdown() async throws {
        let overran = Flag()
        let budget = Duration.milliseconds(500)
        let service = try drainService(budget: budget, overran: overran)
        // Outside a ServiceGroup, cancellation stands in for the start of graceful shutdown.
        let started = ContinuousClock.now
        let running = Task { try await service.run() }
        running.cancel()
        try await running.value
        let raisedEarly = overran.isRaised
        if ContinuousClock.now - started < budget {
            #expect(!raisedEarly, "the drain itself is quick: nothing is over budget yet")
        }
        for _ in 0..<500 where !overran.isRaised { try await Task.sleep(for: .milliseconds(10)) }
        #expect(overran.isRaised, "something still runs after the budget (here: the test), so it fires")
    }
}
