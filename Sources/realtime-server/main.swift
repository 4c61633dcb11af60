import Foundation
import Logging
import RealtimeServer
import ServiceLifecycle

let configuration: ServerConfiguration
do {
    configuration = try ServerConfiguration.fromEnvironment(ProcessInfo.processInfo.environment)
} catch {
    FileHandle.standardError.write(Data("realtime-server: \(error)\n".utf8))
    exit(2)
}
// JSON lines on standard output, at LOG_LEVEL (default info).
LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: configuration.logLevel) }
let logger = Logger(label: "realtime-server")
// The lines that tests and operators wait for, written at any LOG_LEVEL: with PORT=0 (or METRICS_PORT=0) they are
// the only way to learn the port the OS chose.
let announcer = {
    var announcer = logger
    announcer.logLevel = .info
    return announcer
}()
let (application, metrics, drain, cluster, fallback) = try await buildServer(
    configuration: configuration, logger: logger
) { port in
    var metadata: Logger.Metadata = [
        "event": "listening", "host": "\(configuration.host)", "port": "\(port)", "region": "\(configuration.region)",
    ]
    if let topology = configuration.topology { metadata["topology"] = "\(topology)" }
    if let fallback = configuration.fallback { metadata["firebase_database_url"] = "\(fallback.databaseURL)" }
    announcer.info("listening", metadata: metadata)
} onMetricsRunning: { port in
    announcer.info(
        "metrics listening",
        metadata: ["event": "metrics_listening", "host": "\(ServerConfiguration.metricsHost)", "port": "\(port)"])
}
// Services shut down in reverse order: on SIGTERM the drain runs first, while the server still serves and the
// cluster connection still delivers.
let services = ServiceGroup(
    configuration: .init(
        services: (cluster.map { [ServiceGroupConfiguration.ServiceConfiguration(service: $0)] } ?? [])
            + (fallback.map { [ServiceGroupConfiguration.ServiceConfiguration(service: $0)] } ?? []) + [
                .init(service: application),
                // A metrics port another process holds is no reason to stop serving: the failure is logged, the rest
                // runs on without /metrics.
                .init(service: metrics, failureTerminationBehavior: .ignore),
                .init(service: drain),
            ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
try await services.run()
