import Logging
import RealtimeServer
import Testing

@Suite struct ConfigurationTests {
    @Test("defaults, and every setting read from the environment")
    func environment() throws {
        let defaults = try ServerConfiguration.fromEnvironment([:])
        #expect(defaults.port == 8080)
        #expect(defaults.engine.pingInterval == 25_000)
        let configured = try ServerConfiguration.fromEnvironment([
            "PORT": "9000", "HOST": "127.0.0.1", "REALTIME_PROFILE": "engine-echo", "PING_INTERVAL_MS": "300",
            "PING_TIMEOUT_MS": "200", "MAX_PAYLOAD_BYTES": "4096", "CONNECT_TIMEOUT_MS": "1000",
            "CORS_ORIGINS": "https://a.example.com, https://b.example.com", "OUTBOUND_QUEUE_LIMIT": "64",
        ])
        #expect(configured.port == 9000)
        #expect(configured.host == "127.0.0.1")
        #expect(configured.profile == .engineEcho)
        #expect(configured.engine.pingInterval == 300)
        #expect(configured.engine.pingTimeout == 200)
        #expect(configured.engine.maxPayload == 4096)
        #expect(configured.connectTimeout == 1000)
        #expect(configured.corsOrigins == ["https://a.example.com", "https://b.example.com"])
        #expect(configured.outboundQueueLimit == 64)
        #expect(defaults.logLevel == .info)
        #expect(try ServerConfiguration.fromEnvironment(["LOG_LEVEL": "warning"]).logLevel == .warning)
        #expect(defaults.metricsPort == 9464 && defaults.auditSampleRate == 1)
        let audited = try ServerConfiguration.fromEnvironment(["METRICS_PORT": "0", "AUDIT_SAMPLE_RATE": "0.05"])
        #expect(audited.metricsPort == 0 && audited.auditSampleRate == 0.05)
    }

    @Test(
        "a bad value is refused at start with the setting's name",
        arguments: [
            ["PORT": "http"], ["PORT": "70000"], ["REALTIME_PROFILE": "chat"], ["PING_INTERVAL_MS": "0"],
            ["MAX_PAYLOAD_BYTES": "-1"], ["LOG_LEVEL": "verbose"], ["LOG_LEVEL": "WARNING"], ["LOG_LEVEL": ""],
            ["METRICS_PORT": "-1"], ["METRICS_PORT": "8080"], ["AUDIT_SAMPLE_RATE": "1.5"],
            ["AUDIT_SAMPLE_RATE": "all"],
        ])
    func invalid(_ environment: [String: String]) {
        #expect(throws: ServerConfiguration.InvalidSetting.self) {
            try ServerConfiguration.fromEnvironment(environment)
        }
    }
}

@Suite struct TokenConfigurationTests {
    @Test("token authentication needs an issuer and an audience, and a long enough secret")
    func requirements() throws {
        #expect(try ServerConfiguration.fromEnvironment([:]).tokens == nil)
        let secret = String(repeating: "k", count: 32)
        #expect(throws: ServerConfiguration.InvalidSetting.self) {
            try ServerConfiguration.fromEnvironment(["JWT_HS256_SECRET": secret, "JWT_AUDIENCE": "realtime"])
        }
        #expect(throws: ServerConfiguration.InvalidSetting.self) {
            try ServerConfiguration.fromEnvironment(["JWT_HS256_SECRET": secret, "JWT_ISSUER": "https://auth"])
        }
        #expect(throws: ServerConfiguration.InvalidSetting.self) {
            try ServerConfiguration.fromEnvironment([
                "JWT_HS256_SECRET": "short", "JWT_ISSUER": "i", "JWT_AUDIENCE": "a",
            ])
        }
        #expect(throws: ServerConfiguration.InvalidSetting.self) {
            try ServerConfiguration.fromEnvironment([
                "JWT_HS256_SECRET": secret, "JWT_ISSUER": "i", "JWT_AUDIENCE": "a", "JWT_LEEWAY_SECONDS": "3600",
            ])
        }
        let tokens = try #require(
            try ServerConfiguration.fromEnvironment([
                "JWT_RS256_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\\nABC\\n-----END PUBLIC KEY-----",
                "JWT_ISSUER": "https://auth", "JWT_AUDIENCE": "realtime",
            ]).tokens)
        // `\n` in the variable stands for a line break, so a PEM fits in one line of a secret.
        #expect(tokens.rs256PublicKeyPEM == "-----BEGIN PUBLIC KEY-----\nABC\n-----END PUBLIC KEY-----")
        #expect(tokens.leewaySeconds == 30)
    }

    @Test("Redis: endpoint, Memorystore AUTH string and server CA; readiness may require it")
    func redis() throws {
        #expect(try ServerConfiguration.fromEnvironment([:]).redis == nil)
        let configured = try ServerConfiguration.fromEnvironment([
            "REDIS_URL": "redis://10.1.2.3:6378", "REDIS_AUTH": "auth-string", "REDIS_REQUIRED_FOR_READY": "true",
        ])
        let redis = try #require(configured.redis)
        #expect(redis.host == "10.1.2.3" && redis.port == 6378 && redis.password == "auth-string" && redis.tls == nil)
        #expect(configured.readyRequiresRedis)
        let relayed = try ServerConfiguration.fromEnvironment([
            "REDIS_URL": "redis://10.1.2.3:6378", "RELAY_ENDPOINTS_FILE": "/etc/tfctl/relay/endpoints.json",
            "RELAY_REFRESH_MS": "5000",
        ])
        #expect(relayed.relayEndpointsFile == "/etc/tfctl/relay/endpoints.json" && relayed.relayRefresh == 5000)
        for environment in [
            ["REDIS_URL": "http://10.1.2.3"], ["REDIS_AUTH": "auth-string"],
            ["REDIS_URL": "redis://h", "REDIS_CA_CERT": "-----BEGIN CERTIFICATE-----"],
            ["REDIS_URL": "redis://h", "REDIS_REQUIRED_FOR_READY": "yes"],
            ["RELAY_ENDPOINTS_FILE": "/etc/tfctl/relay/endpoints.json"],
            ["REDIS_URL": "redis://h", "RELAY_REFRESH_MS": "10"],
        ] {
            #expect(throws: ServerConfiguration.InvalidSetting.self) {
                try ServerConfiguration.fromEnvironment(environment)
            }
        }
    }

    @Test("a key that is not an RSA public key stops the server at start")
    func badKey() async {
        let configuration = ServerConfiguration(
            tokensForTest: TokenSettings(hs256Secret: nil, rs256PublicKeyPEM: "not a key", issuer: "i", audience: "a"))
        await #expect(throws: (any Error).self) { _ = try await buildServer(configuration: configuration) }
    }
}

extension ServerConfiguration {
    init(tokensForTest tokens: TokenSettings) {
        self.init()
        self.tokens = tokens
    }
}
