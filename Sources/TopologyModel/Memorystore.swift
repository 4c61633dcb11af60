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
    /// When Memorystore may run maintenance (on a Standard instance, a failover: connections drop for seconds).
    public var maintenance: MaintenanceWindow

    public init(
        tier: RedisTier = .standardHA,
        memoryGB: Int = 1,
        version: RedisVersion = .v7_2,
        auth: Bool = true,
        transitEncryption: Bool = true,
        readReplicas: Int = 0,
        maintenance: MaintenanceWindow = MaintenanceWindow()
    ) {
        self.tier = tier
        self.memoryGB = memoryGB
        self.version = version
        self.auth = auth
        self.transitEncryption = transitEncryption
        self.readReplicas = readReplicas
        self.maintenance = maintenance
    }
}

/// A weekly one-hour window, in UTC, in which Memorystore may apply updates: without one it chooses any time, and
/// on a Standard instance an update is a failover that drops every server's Redis connections for seconds
/// (Memorystore, "About maintenance"). The default, Sunday 03:00 UTC, is the quietest hour of a European or
/// American business week; teams elsewhere set their own.
public struct MaintenanceWindow: Sendable, Hashable {
    public var day: Weekday
    /// The hour the window starts, 0–23 UTC.
    public var hour: Int

    public init(day: Weekday = .sunday, hour: Int = 3) {
        self.day = day
        self.hour = hour
    }
}

public enum Weekday: String, Sendable, Hashable, CaseIterable {
    case monday, tuesday, wednesday, thursday, friday, saturday, sunday
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
