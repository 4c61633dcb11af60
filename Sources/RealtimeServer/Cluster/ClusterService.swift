import Logging
import ServiceLifecycle

/// Connects the instance to the others through Redis for as long as the server runs. First in the
/// `ServiceGroup`, so it shuts down last: broadcasts from other instances keep coming while this one drains.
public struct ClusterService: Service {
    let adapter: ClusterAdapter
    /// Where what the other instances send goes.
    let inbound: ClusterInbound
    let logger: Logger

    public func run() async throws {
        logger.info("joining the cluster through Redis", metadata: ["instance": "\(adapter.instanceID)"])
        await cancelWhenGracefulShutdown { await adapter.run(inbound) }
    }
}
