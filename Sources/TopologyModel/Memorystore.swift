/// Memorystore for Redis: the pub/sub adapter between server instances. One instance per region.
public struct Memorystore: Sendable, Hashable {
    public var tier: RedisTier
    public var memoryGB: Int
    public var version: RedisVersion
    /// Require the Memorystore AUTH string.
    public var auth: Bool
    /// In-transit encryption (server authentication TLS).
    public var transitEncryption: Bool
    /// Read replicas (Standard tier, 5 GB and more only).
    public var readReplicas: Int

    public init(
        tier: RedisTier = .standardHA,
        memoryGB: Int = 1,
        version: RedisVersion = .v7_2,
        auth: Bool = true,
        transitEncryption: Bool = true,
        readReplicas: Int = 0
    ) {
        self.tier = tier
        self.memoryGB = memoryGB
        self.version = version
        self.auth = auth
        self.transitEncryption = transitEncryption
        self.readReplicas = readReplicas
    }
}

public enum RedisTier: String, Sendable, Hashable, CaseIterable {
    case basic
    case standardHA = "standard_ha"
}

/// Redis versions Memorystore offers (`gcloud redis instances upgrade --redis-version`).
public enum RedisVersion: String, Sendable, Hashable, CaseIterable {
    case v4_0 = "4.0"
    case v5_0 = "5.0"
    case v6_x = "6.x"
    case v7_0 = "7.0"
    case v7_2 = "7.2"
}
