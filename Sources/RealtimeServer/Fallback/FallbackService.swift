import AsyncHTTPClient
import Logging
import NIOPosix
import ServiceLifecycle
import _CryptoExtras

/// Runs the mirror to the Realtime Database for as long as the server runs. Before the server in the
/// `ServiceGroup`, so it stops after it: what is broadcast while the instance drains is still sent.
public struct FallbackService: Service {
    let mirror: FallbackMirror
    /// Signs fallback clients' custom tokens.
    let tokens: FallbackTokens
    let http: HTTPClient
    let logger: Logger

    /// The mirror of `configuration`, with its own HTTP client (shut down when the service ends).
    /// Throws when the token key cannot be read (checked at start by `ServerConfiguration`).
    init(configuration: FallbackConfiguration, instance: String, metrics: ServerMetrics, logger: Logger) throws {
        let http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        self.http = http
        if let pem = configuration.tokenKeyPEM, let account = configuration.tokenAccount {
            tokens = FallbackTokens(
                signer: .key(try _RSA.Signing.PrivateKey(pemRepresentation: pem), account: account))
        } else {
            let iam = IAMSigner(
                http: http, metadataHost: configuration.metadataHost,
                tokens: AccessTokens(
                    .metadata(host: configuration.metadataHost), scopes: IAMSigner.scopes, http: http))
            tokens = FallbackTokens(signer: .serviceAccount(iam))
        }
        let source: AccessTokens.Source =
            configuration.emulatorHost == nil ? .metadata(host: configuration.metadataHost) : .owner
        let client = RTDBClient(configuration: configuration, http: http, tokens: AccessTokens(source, http: http))
        mirror = FallbackMirror(
            configuration: configuration, client: client, instance: instance, metrics: metrics.fallback,
            logger: logger)
        self.logger = logger
    }

    public func run() async throws {
        logger.info(
            "mirroring to the Realtime Database",
            metadata: [
                "database": "\(mirror.configuration.databaseURL)",
                "emulator": "\(mirror.configuration.emulatorHost ?? "none")",
            ])
        // Not cancelled on shutdown but stopped: its last flush sends what the draining instance queued (users
        // leaving, the last events), after the server itself has stopped (this service starts before it).
        await withGracefulShutdownHandler {
            await mirror.run()
        } onGracefulShutdown: {
            mirror.stop()
        }
        try await http.shutdown()
    }
}
