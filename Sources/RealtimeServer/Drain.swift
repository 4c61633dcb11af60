import Foundation
import Logging
import ServiceLifecycle

/// Graceful shutdown for Cloud Run, which sends SIGTERM and, ten seconds later, SIGKILL ("the container
/// instance receives a SIGTERM signal ... followed by a SIGKILL after 10 seconds", Cloud Run container runtime
/// contract). The server reports not ready, refuses new sessions, and closes every session with an Engine.IO
/// close, which Socket.IO clients answer by reconnecting (and land on another instance). Run it after the
/// application in one `ServiceGroup`, so it is shut down first; the application's own graceful shutdown then
/// closes the idle connections, among them those that never sent a request (`SilentConnectionCloser`).
///
/// The whole shutdown is bounded by `budget`: a process still alive then (a client or a handler that does not
/// let go) logs what it was waiting for and exits with status 1, before the SIGKILL, so the instance always
/// ends with its logs flushed and a stated cause.
public struct DrainService: Service {
    /// SIGTERM to exit: the close handshakes (`EngineServer.closeHandshakeTimeout`, 2 s) and the server's own
    /// shutdown fit well inside it, and it leaves two of Cloud Run's ten seconds to spare.
    public static let budget = Duration.seconds(8)

    let engine: EngineServer
    let logger: Logger
    let budget: Duration
    /// What happens when the budget is spent: `exit(1)` in the server.
    let overrun: @Sendable () -> Void

    init(
        engine: EngineServer, logger: Logger, budget: Duration = DrainService.budget,
        overrun: @escaping @Sendable () -> Void = { exit(1) }
    ) {
        self.engine = engine
        self.logger = logger
        self.budget = budget
        self.overrun = overrun
    }

    public func run() async throws {
        // Returns (or throws CancellationError) once graceful shutdown starts.
        try? await gracefulShutdown()
        let started = ContinuousClock.now
        // On a Dispatch timer, not a task: whatever holds the shutdown up may be holding the concurrency pool's
        // threads too (one, on a one-vCPU instance).
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(budget.milliseconds))) {
            [logger, budget, overrun] in
            logger.error("shutdown budget exceeded, exiting", metadata: ["budget_ms": "\(budget.milliseconds)"])
            overrun()
        }
        let closed = await engine.drain()
        logger.info(
            "drained",
            metadata: ["sessions": "\(closed)", "elapsed_ms": "\((ContinuousClock.now - started).milliseconds)"])
        // Give the writers a moment to put the close frames on the wire before the server stops.
        try? await Task.sleep(for: .milliseconds(200))
    }
}

extension Duration {
    fileprivate var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
