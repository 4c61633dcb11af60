import Logging
import ServiceLifecycle

/// Graceful shutdown for Cloud Run, which sends SIGTERM and allows about ten seconds: the server reports not
/// ready, refuses new sessions, and closes every session with an Engine.IO close, which Socket.IO clients
/// answer by reconnecting (and land on another instance). Run it after the application in one `ServiceGroup`,
/// so it is shut down first.
public struct DrainService: Service {
    let engine: EngineServer
    let logger: Logger

    public func run() async throws {
        // Returns (or throws CancellationError) once graceful shutdown starts.
        try? await gracefulShutdown()
        let closed = await engine.drain()
        logger.info("drained", metadata: ["sessions": "\(closed)"])
        // Give the writers a moment to put the close frames on the wire before the server stops.
        try? await Task.sleep(for: .milliseconds(200))
    }
}
